import IbexAudit
import Testing

@Suite("Inline suppressions")
struct SuppressionTests {
  @Test("a comment above an instruction suppresses its rules for the whole continued instruction")
  func dockerfileAboveInstruction() {
    let text = "FROM alpine:3.20\n# ibex-ignore IBX-DF-015 IBX-DF-014 -- pinned by the base image\nRUN apk add \\\n    curl\nUSER 10001\nHEALTHCHECK NONE\n"
    let report = audit(text: text, name: "Dockerfile", profile: .core)
    let suppressed = report.findings.filter(\.isSuppressed).map(\.ruleID).sorted()
    #expect(suppressed == ["IBX-DF-014", "IBX-DF-015"])
    #expect(report.findings.first { $0.ruleID == "IBX-DF-015" }?.suppression == Suppression(kind: .inSource, justification: "pinned by the base image"))
  }

  @Test("ibex-ignore-file before the first FROM covers the file; after it, it is ignored")
  func dockerfileFileWide() {
    let before = audit(text: "# ibex-ignore-file IBX-DF-024 -- Kubernetes probes\nFROM alpine:3.20\nUSER 10001\n", name: "Dockerfile", profile: .core)
    #expect(before.findings.first { $0.ruleID == "IBX-DF-024" }?.isSuppressed == true)
    let after = audit(text: "FROM alpine:3.20\n# ibex-ignore-file IBX-DF-024\nUSER 10001\n", name: "Dockerfile", profile: .core)
    #expect(after.findings.first { $0.ruleID == "IBX-DF-024" }?.isSuppressed == false)
  }

  @Test("a suppression above a compose service key covers everything under it")
  func composeServiceKey() {
    let text = "services:\n  # ibex-ignore IBX-CO-006 IBX-CO-008 -- dev only\n  web:\n    image: nginx:1.27\n"
    let report = audit(text: text, name: "compose.yaml", profile: .core)
    #expect(report.findings.filter(\.isSuppressed).map(\.ruleID).sorted() == ["IBX-CO-006", "IBX-CO-008"])
  }

  @Test("ibex-ignore-file in a document's leading comments covers only that document")
  func kubernetesPerDocument() {
    let text = "# ibex-ignore-file IBX-K8-019\napiVersion: v1\nkind: Pod\nmetadata: {name: a, namespace: x}\nspec:\n  containers: [{name: c, image: \"busybox:1.36\"}]\n---\napiVersion: v1\nkind: Pod\nmetadata: {name: b, namespace: x}\nspec:\n  containers: [{name: c, image: \"busybox:1.36\"}]\n"
    let report = audit(text: text, name: "pods.yaml", profile: .core)
    let automount = report.findings.filter { $0.ruleID == "IBX-K8-019" }
    #expect(automount.map(\.isSuppressed) == [true, false])
  }

  @Test("an unknown rule id in a suppression is IBX-META-002, with a suggestion")
  func unknownRule() {
    let report = audit(text: "FROM alpine:3.20\n# ibex-ignore IBX-DF-0015\nUSER 10001\n", name: "Dockerfile", profile: .core)
    let meta = report.findings.first { $0.ruleID == "IBX-META-002" }
    #expect(meta?.message == "unknown rule id IBX-DF-0015 in ibex-ignore (did you mean 'IBX-DF-015'?)")
    #expect(meta?.line == 2)
  }

  @Test("--require-suppression-reason rejects a suppression without reason")
  func requireReason() {
    let text = "FROM alpine:3.20\nUSER 10001\n# ibex-ignore IBX-DF-031\nMAINTAINER x\n"
    let report = audit(text: text, name: "Dockerfile", profile: .core) { $0.requireSuppressionReason = true }
    #expect(report.findings.first { $0.ruleID == "IBX-DF-031" }?.isSuppressed == false)
    #expect(report.findings.contains { $0.ruleID == "IBX-META-002" && $0.message.hasPrefix("ibex-ignore without a reason") })
  }

  @Test("--report-unused-suppressions reports a suppression that matched nothing")
  func unused() {
    let report = audit(text: "FROM alpine:3.20\n# ibex-ignore IBX-DF-031 -- old\nUSER 10001\n", name: "Dockerfile", profile: .core) { $0.reportUnusedSuppressions = true }
    #expect(report.findings.contains { $0.ruleID == "IBX-META-003" && $0.line == 2 })
  }

  @Test("hadolint and checkov pragmas are ignored unless --honor-foreign-suppressions maps them")
  func foreign() {
    let text = "FROM alpine:3.20\nUSER 10001\n# hadolint ignore=DL4000\nMAINTAINER x\n"
    let plain = audit(text: text, name: "Dockerfile", profile: .core)
    #expect(plain.findings.first { $0.ruleID == "IBX-DF-031" }?.isSuppressed == false)
    let honored = audit(text: text, name: "Dockerfile", profile: .core) { $0.honorForeignSuppressions = true }
    #expect(honored.findings.first { $0.ruleID == "IBX-DF-031" }?.suppression?.justification == "hadolint ignore=DL4000")
  }

  @Test("suppressed findings do not fail the run")
  func suppressedDoNotFail() {
    let text = "FROM alpine:3.20\n# ibex-ignore IBX-DF-001 -- runs as root by design, isolated by gVisor\nUSER root\nHEALTHCHECK NONE\n"
    #expect(audit(text: text, name: "Dockerfile", profile: .core).exitCode == 0)
  }
}
