import Foundation
import IbexAudit
import Testing

@Suite("Output formats and exit codes")
struct ReporterTests {
  var report: AuditReport { audit(["dockerfile/df-001-root-user.pos.Dockerfile", "dockerfile/p-parse-error.Dockerfile"], profile: .core) }

  @Test("text: one line per finding as file:line:col: severity RULE message, then a summary")
  func textFormat() {
    let text = TextReporter().render(report)
    let lines = text.split(separator: "\n").map(String.init)
    #expect(lines.contains("dockerfile/df-001-root-user.pos.Dockerfile:4:1: high IBX-DF-001 final stage #0 runs as root (USER root); switch to a numeric non-root user such as USER 10001:10001"))
    #expect(lines.contains("dockerfile/p-parse-error.Dockerfile:2:5: high IBX-META-001 not audited: heredoc <<EOF is not terminated; add a line containing only 'EOF'"))
    #expect(lines.last == "ibex-audit: 2 findings (1 high, 1 low) in 1 file scanned; 1 failed; 0 suppressed")
    #expect(!text.contains("\u{1B}["))
  }

  @Test("text: colour only when asked")
  func colour() {
    #expect(TextReporter(color: true).render(report).contains("\u{1B}[1;31mhigh\u{1B}[0m"))
  }

  @Test("an unparsable input gives exit code 3, which wins over findings (1)")
  func exitCodes() {
    #expect(report.exitCode == 3)
    #expect(audit(["dockerfile/df-001-root-user.pos.Dockerfile"], profile: .core).exitCode == 1)
    #expect(audit(["dockerfile/df-001-nonroot.neg.Dockerfile"], profile: .core).exitCode == 0)
    #expect(audit(["dockerfile/df-001-root-user.pos.Dockerfile"], profile: .core) { $0.failOn = .never }.exitCode == 0)
    #expect(audit(["dockerfile/df-024-no-healthcheck.pos.Dockerfile"], profile: .core) { $0.failOn = .atLeast(.low) }.exitCode == 1)
  }

  @Test("JSON: the ibex.audit/v1 envelope, deterministic")
  func json() throws {
    let text = JSONReporter().render(report)
    #expect(text == JSONReporter().render(report))
    let object = try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
    #expect(object["schema"] as? String == "ibex.audit/v1")
    let findings = try #require(object["findings"] as? [[String: Any]])
    let first = try #require(findings.first)
    for key in ["rule_id", "severity", "kind", "file", "line", "column", "end_line", "end_column", "object", "message", "help_uri", "fingerprint", "suppressed"] {
      #expect(first[key] != nil, "missing \(key)")
    }
    #expect(first["object"] as? String == "stage/0")
    #expect((first["fingerprint"] as? String)?.hasPrefix("sha256:") == true)
    let errors = try #require(object["errors"] as? [[String: Any]])
    #expect(errors.first?["rule_id"] as? String == "IBX-META-001")
    let summary = try #require(object["summary"] as? [String: Any])
    #expect(summary["files"] as? Int == 1)
    #expect(summary["files_failed"] as? Int == 1)
  }

  @Test("fingerprints ignore line numbers")
  func fingerprintStable() {
    let a = audit(text: "FROM alpine:3.20\nUSER root\n", name: "Dockerfile", profile: .core)
    let b = audit(text: "FROM alpine:3.20\nRUN true\n\nUSER root\n", name: "Dockerfile", profile: .core)
    let fa = a.findings.first { $0.ruleID == "IBX-DF-001" }
    let fb = b.findings.first { $0.ruleID == "IBX-DF-001" }
    #expect(fa?.line != fb?.line)
    #expect(fa?.fingerprint == fb?.fingerprint)
  }

  @Test("SARIF 2.1.0: tool rules, levels, security-severity, locations, fingerprints, notifications")
  func sarif() throws {
    let text = SARIFReporter().render(report)
    let object = try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
    #expect(object["version"] as? String == "2.1.0")
    #expect((object["$schema"] as? String)?.contains("sarif-2.1.0") == true)
    let run = try #require((object["runs"] as? [[String: Any]])?.first)
    let driver = try #require((run["tool"] as? [String: Any])?["driver"] as? [String: Any])
    let rules = try #require(driver["rules"] as? [[String: Any]])
    #expect(rules.count == RuleCatalog.enabled(profile: .core).count)
    let root = try #require(rules.first { $0["id"] as? String == "IBX-DF-001" })
    #expect(root["name"] as? String == "FinalImageRunsAsRoot")
    #expect((root["properties"] as? [String: Any])?["security-severity"] as? String == "8.0")
    #expect((root["defaultConfiguration"] as? [String: Any])?["level"] as? String == "error")
    let results = try #require(run["results"] as? [[String: Any]])
    for result in results {
      let index = try #require(result["ruleIndex"] as? Int)
      #expect(rules[index]["id"] as? String == result["ruleId"] as? String)
      let location = try #require((result["locations"] as? [[String: Any]])?.first?["physicalLocation"] as? [String: Any])
      #expect((location["artifactLocation"] as? [String: Any])?["uriBaseId"] as? String == "%SRCROOT%")
      let region = try #require(location["region"] as? [String: Any])
      for key in ["startLine", "startColumn", "endLine", "endColumn"] { #expect((region[key] as? Int ?? 0) >= 1) }
      #expect((result["partialFingerprints"] as? [String: Any])?["ibexFingerprint/v1"] != nil)
      #expect(["error", "warning", "note"].contains(result["level"] as? String ?? ""))
    }
    #expect((run["automationDetails"] as? [String: Any])?["id"] as? String == "ibex-audit/")
    let invocation = try #require((run["invocations"] as? [[String: Any]])?.first)
    #expect(invocation["executionSuccessful"] as? Bool == true)
    #expect((invocation["toolExecutionNotifications"] as? [Any])?.count == 1)
  }

  @Test("SARIF carries suppressions only with --include-suppressed")
  func sarifSuppressions() throws {
    let report = audit(text: "FROM alpine:3.20\n# ibex-ignore IBX-DF-001 -- sandboxed\nUSER root\n", name: "Dockerfile", profile: .core)
    #expect(!SARIFReporter().render(report).contains("\"suppressions\""))
    let included = SARIFReporter(includeSuppressed: true).render(report)
    #expect(included.contains("\"kind\": \"inSource\""))
    #expect(included.contains("\"justification\": \"sandboxed\""))
  }

  @Test("--list-rules shows id, severity, profile, title and equivalents")
  func listRules() {
    let text = RuleListing.text()
    #expect(text.split(separator: "\n").count == RuleCatalog.all.count)
    #expect(text.contains("IBX-DF-001   high     core   final image runs as root  [hl:DL3002, ck:CKV_DOCKER_3, ck:CKV_DOCKER_8, dk:CIS-DI-0001, tv:DS-0002, CIS 4.1]"))
  }

  @Test("the catalogue has the spec's counts per profile")
  func catalogueCounts() {
    let core = RuleCatalog.enabled(profile: .core)
    #expect(core.filter { $0.kind == .dockerfile }.count == 32)
    #expect(core.filter { $0.kind == .compose }.count == 26)
    #expect(core.filter { $0.kind == .kubernetes }.count == 24)
    let strict = RuleCatalog.enabled(profile: .strict)
    #expect(strict.filter { $0.kind != .meta }.count == 94)
    #expect(Set(RuleCatalog.all.map(\.id)).count == RuleCatalog.all.count)
  }

  @Test("the policy rule IBX-DF-006 runs once trusted registries are configured")
  func policyRule() {
    let text = "FROM docker.io/library/alpine:3.20\nFROM ghcr.io/acme/base:1.0\nUSER 10001\n"
    #expect(!audit(text: text, name: "Dockerfile").findings.contains { $0.ruleID == "IBX-DF-006" })
    let report = audit(text: text, name: "Dockerfile") { $0.configuration.settings.trustedRegistries = ["ghcr.io/acme"] }
    #expect(report.findings.filter { $0.ruleID == "IBX-DF-006" }.map(\.line) == [1])
  }
}
