import Foundation
import IbexAudit
import Testing

@Suite("Fixtures: each file states the findings it must and must not produce")
struct FixtureTests {
  @Test("fixture findings match its # expect comments", arguments: fixtureFiles())
  func fixtureMatchesExpectations(_ path: String) throws {
    let text = try String(contentsOf: fixturesURL.appendingPathComponent(path), encoding: .utf8)
    let expectations = FixtureExpectations(text)
    let report = audit([path] + expectations.auditWith)
    let all = report.findings.filter { !$0.isSuppressed }
    for item in expectations.expected {
      let hit = all.contains { $0.ruleID == item.rule && (item.line == nil || $0.line == item.line) }
      #expect(hit, "\(path): expected \(item), got \(all.map { "\($0.ruleID)@\($0.line)" })")
    }
    for item in expectations.unexpected {
      let hits = all.filter { $0.ruleID == item.rule && (item.line == nil || $0.line == item.line) }
      #expect(hits.isEmpty, "\(path): unexpected \(hits.map { "\($0.ruleID)@\($0.line): \($0.message)" })")
    }
    let errorPositions = report.errors.map { "\($0.line):\($0.column)" }
    #expect(errorPositions == expectations.errors, "\(path): parse errors \(report.errors.map(\.message))")
  }

  @Test("every core and strict rule has a positive and a negative fixture")
  func everyRuleHasPositiveAndNegativeFixtures() throws {
    var positive = Set<String>()
    var negative = Set<String>()
    for path in fixtureFiles() {
      let expectations = FixtureExpectations(try String(contentsOf: fixturesURL.appendingPathComponent(path), encoding: .utf8))
      positive.formUnion(expectations.expected.map(\.rule))
      negative.formUnion(expectations.unexpected.map(\.rule))
    }
    let rules = (RuleCatalog.dockerfile + RuleCatalog.compose + RuleCatalog.kubernetes).filter { $0.profile != .policy }
    let missingPositive = rules.map(\.id).filter { !positive.contains($0) }
    let missingNegative = rules.map(\.id).filter { !negative.contains($0) }
    #expect(missingPositive.isEmpty, "rules without a positive fixture: \(missingPositive)")
    #expect(missingNegative.isEmpty, "rules without a negative fixture: \(missingNegative)")
  }
}
