import Foundation
import IbexAudit
import Testing

/// Mangled inputs must give findings or a parse diagnostic, never a crash or a hang.
@Suite("Robustness")
struct RobustnessTests {
  /// A small deterministic generator (so a failure reproduces).
  struct Generator {
    var state: UInt64
    mutating func next(_ bound: Int) -> Int {
      state = state &* 6364136223846793005 &+ 1442695040888963407
      return Int((state >> 33) % UInt64(max(bound, 1)))
    }
  }

  static let fragments = ["\\", "`", "\"", "'", "<<", "<<-", "EOF", "$", "${", "}", "{", "[", "]", "\n", "\t", "#", "--", "&&", "|", "(", ")", ":", "- ", "*a", "&a ", "<<: *a", "\r\n", "$(", "="]

  @Test("300 mutated fixtures are audited without crashing")
  func mutatedFixtures() throws {
    var generator = Generator(state: 20261129)
    let files = fixtureFiles()
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("ibex-fuzz-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: directory) }
    for _ in 0..<300 {
      let path = files[generator.next(files.count)]
      var chars = Array(try String(contentsOf: fixturesURL.appendingPathComponent(path), encoding: .utf8))
      for _ in 0..<(1 + generator.next(5)) {
        let position = generator.next(chars.count + 1)
        if generator.next(2) == 0 {
          chars.insert(contentsOf: Self.fragments[generator.next(Self.fragments.count)], at: position)
        } else {
          chars.removeSubrange(position..<min(chars.count, position + 1 + generator.next(20)))
        }
      }
      let name = URL(fileURLWithPath: path).lastPathComponent
      try String(chars).write(to: directory.appendingPathComponent(name), atomically: true, encoding: .utf8)
      var options = AuditOptions(paths: [name], workingDirectory: directory)
      options.profile = .strict
      let report = Auditor.run(options)
      #expect([0, 1, 3].contains(report.exitCode))
      _ = SARIFReporter().render(report)
    }
  }
}
