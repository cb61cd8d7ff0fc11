import Foundation
import IbexAudit
import Testing

/// Runs the built `ibex-audit` binary: exit codes, usage errors and output selection.
@Suite("ibex-audit command line", .enabled(if: ibexAuditBinary != nil, "ibex-audit is not built next to the tests (swift build --product ibex-audit)"))
struct CommandLineTests {
  func runAudit(_ arguments: [String], environment: [String: String] = [:]) throws -> ProcessResult? {
    guard let binary = ibexAuditBinary else {
      print("CommandLineTests: skipped: ibex-audit is not built (swift build --product ibex-audit)")
      return nil
    }
    var env = ProcessInfo.processInfo.environment
    env.merge(environment) { $1 }
    return try run(binary, arguments, in: fixturesURL, environment: env)
  }

  @Test("exit 0 when clean, 1 with a finding at or above --fail-on, 3 when an input does not parse")
  func exitCodes() throws {
    guard let clean = try runAudit(["dockerfile/df-001-nonroot.neg.Dockerfile"]) else { return }
    #expect(clean.status == 0)
    #expect(try runAudit(["dockerfile/df-001-root-user.pos.Dockerfile"])?.status == 1)
    #expect(try runAudit(["--fail-on", "never", "dockerfile/df-001-root-user.pos.Dockerfile"])?.status == 0)
    let broken = try runAudit(["dockerfile/p-parse-error.Dockerfile", "dockerfile/df-001-nonroot.neg.Dockerfile"])
    #expect(broken?.status == 3)
    #expect(broken?.stdout.contains("dockerfile/p-parse-error.Dockerfile:2:5: high IBX-META-001") == true)
    #expect(try runAudit(["no/such/file"])?.stdout.contains("no/such/file:1:1: high IBX-META-001 not audited: unable to open no/such/file: No such file or directory") == true)
  }

  @Test("usage errors exit 2 with guidance")
  func usageErrors() throws {
    guard let bad = try runAudit(["--fail-on", "sometimes"]) else { return }
    #expect(bad.status == 2)
    #expect(bad.stderr.hasPrefix("Error: invalid --fail-on 'sometimes'; use critical, high, medium, low, info or never\n"))
    #expect(try runAudit(["--frobnicate"])?.status == 2)
    #expect(try runAudit(["--profile", "paranoid"])?.stderr.hasPrefix("Error: invalid --profile 'paranoid'; use core or strict") == true)
  }

  @Test("a configuration error exits 2 and names the file, line and key")
  func configurationError() throws {
    let config = FileManager.default.temporaryDirectory.appendingPathComponent("ibex-\(UUID().uuidString).yaml")
    try "profile: core\nfial_on: high\n".write(to: config, atomically: true, encoding: .utf8)
    defer { try? FileManager.default.removeItem(at: config) }
    guard let result = try runAudit(["--config", config.path, "dockerfile"]) else { return }
    #expect(result.status == 2)
    #expect(result.stderr == "ibex-audit: \(config.path):2:1: unknown key 'fial_on' (did you mean 'fail_on'?)\n")
    let missing = try #require(try runAudit(["--config", "/nonexistent/.ibex.yaml", "dockerfile"]))
    #expect(missing.status == 2)
    #expect(missing.stderr == "ibex-audit: /nonexistent/.ibex.yaml: unable to read the configuration: No such file or directory\n")
  }

  @Test("no colour when stdout is not a terminal; json and sarif formats parse")
  func formats() throws {
    guard let text = try runAudit(["dockerfile/df-001-root-user.pos.Dockerfile"]) else { return }
    #expect(!text.stdout.contains("\u{1B}["))
    let json = try #require(try runAudit(["--format", "json", "dockerfile/df-001-root-user.pos.Dockerfile"]))
    #expect((try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])?["schema"] as? String == "ibex.audit/v1")
    let sarif = try #require(try runAudit(["--format", "sarif", "--profile", "strict", "."]))
    #expect((try JSONSerialization.jsonObject(with: Data(sarif.stdout.utf8)) as? [String: Any])?["version"] as? String == "2.1.0")
    #expect(sarif.status == 3)
  }

  @Test("--list-rules prints every rule; --print-config the effective configuration")
  func listingAndConfig() throws {
    guard let rules = try runAudit(["--list-rules"]) else { return }
    #expect(rules.status == 0)
    #expect(rules.stdout.split(separator: "\n").count == RuleCatalog.all.count)
    let config = try #require(try runAudit(["--print-config", "--profile", "strict", "--fail-on", "medium"]))
    #expect(config.stdout.hasPrefix("version: 1\nprofile: strict\nfail_on: medium\n"))
  }

  @Test("colour on a terminal, unless NO_COLOR or --no-color", .enabled(if: which("script") != nil, "needs script(1) from util-linux for a terminal"))
  func colourOnTerminal() throws {
    let binary = try #require(ibexAuditBinary)
    let script = try #require(which("script"))
    let command = "\(binary.path) dockerfile/df-001-root-user.pos.Dockerfile"
    var environment = ProcessInfo.processInfo.environment
    environment["NO_COLOR"] = nil
    let coloured = try run(script, ["-qec", command, "/dev/null"], in: fixturesURL, environment: environment)
    #expect(coloured.stdout.contains("\u{1B}[1;31mhigh\u{1B}[0m IBX-DF-001"))
    environment["NO_COLOR"] = "1"
    let plain = try run(script, ["-qec", command, "/dev/null"], in: fixturesURL, environment: environment)
    #expect(!plain.stdout.contains("\u{1B}["))
    environment["NO_COLOR"] = nil
    let flag = try run(script, ["-qec", command + " --no-color", "/dev/null"], in: fixturesURL, environment: environment)
    #expect(!flag.stdout.contains("\u{1B}["))
  }
}
