import Foundation
import Testing

@Suite("The benchmark harness", .enabled(if: isRoot && canUnshare, "needs root and unshare --pid"))
struct BenchmarkTests {
  @Test("bench/run.py --quick measures ibex and every anchor (a smoke test: no timing is asserted)")
  func quickRun() throws {
    let json = "\(makeScratchDirectory())/bench.json"
    let result = try runCommand(
      ["/usr/bin/python3", "\(repositoryRoot)/bench/run.py", "--quick", "--no-install", "--ibex", ibexBinary, "--json", json],
      timeout: 300)
    #expect(result.status == 0, "bench failed: \(result.stderr)")
    let report = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: json))) as? [String: Any]
    let inits = try #require(report?["inits"] as? [String: Any])
    #expect(Set(inits.keys) == ["ibex", "tini", "tini-static", "dumb-init", "catatonit"])
    for (name, value) in inits {
      let reap = (value as? [String: Any])?["reap"] as? [String: Any]
      let samples = reap?["samples"] as? [[String: Any]] ?? []
      #expect(!samples.isEmpty, "\(name) has no samples")
      for sample in samples { #expect(sample["orphans"] as? Int == 1000, "\(name) did not reap every orphan") }
    }
  }

  @Test("bench/supervisors.py --quick measures ibex init and s6, runit and supervisord (a smoke test: no timing is asserted)")
  func supervisorsQuickRun() throws {
    let json = "\(makeScratchDirectory())/supervisors.json"
    let result = try runCommand(
      ["/usr/bin/python3", "\(repositoryRoot)/bench/supervisors.py", "--quick", "--no-install", "--ibex", ibexBinary, "--json", json],
      timeout: 300)
    #expect(result.status == 0, "bench failed: \(result.stderr)")
    let report = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: json))) as? [String: Any]
    let measured = report?["supervisors"] as? [String: Any] ?? report?["inits"] as? [String: Any] ?? [:]
    #expect(Set(measured.keys).isSuperset(of: ["ibex", "s6", "runit", "supervisord"]), "keys: \(measured.keys)")
  }
}
