import IbexAudit
import Testing

@Test func findingKeepsPosition() {
  let finding = Finding(ruleID: "IBX-DF-001", file: "Dockerfile", line: 3, column: 1, message: "m")
  #expect(finding.line == 3)
}
