import Foundation
import IbexAudit
import Testing

/// The project audits its own Dockerfiles, compose files and Kubernetes manifests: nothing above
/// `low` may be left unsuppressed (justify a suppression with `# ibex-ignore RULE -- reason`).
@Suite("Dogfooding")
struct DogfoodTests {
  @Test("the repository's own container files have no finding above low")
  func repositoryIsClean() throws {
    var configuration = Configuration()
    configuration.exclude = ["Tests/IbexAuditTests/Fixtures/**", ".build*/**", "**/node_modules/**"]
    var options = AuditOptions(paths: ["."], configuration: configuration, workingDirectory: repositoryRoot)
    options.profile = .core
    let report = Auditor.run(options)
    let serious = report.unsuppressed.filter { $0.severity > .low && !$0.ruleID.hasPrefix("IBX-META-004") }
    #expect(serious.isEmpty, "\(serious.map { "\($0.file):\($0.line): \($0.ruleID) \($0.message)" })")
    #expect(report.errors.isEmpty, "\(report.errors.map(\.message))")
    print("DogfoodTests: \(report.filesScanned) container files audited in the repository")
  }
}
