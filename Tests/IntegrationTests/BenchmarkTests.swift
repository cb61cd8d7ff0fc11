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

  @Test("bench/log_throughput.py --quick writes through ibex, ibex s6-log, s6-log, svlogd and supervisord and checks every line (a smoke test: no timing is asserted)")
  func loggingQuickRun() throws {
    let json = "\(makeScratchDirectory())/logging.json"
    let result = try runCommand(
      ["/usr/bin/python3", "\(repositoryRoot)/bench/log_throughput.py", "--quick", "--chunk", "4096", "--no-install", "--ibex", ibexBinary, "--json", json],
      timeout: 300)
    #expect(result.status == 0, "bench failed: \(result.stderr)")
    let report = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: json))) as? [String: Any]
    let loggers = try #require(report?["loggers"] as? [String: Any])
    #expect(Set(loggers.keys).isSuperset(of: ["ibex", "ibex-s6-log", "s6-log", "svlogd", "supervisord"]), "keys: \(loggers.keys)")
    for (name, value) in loggers {
      let samples = (value as? [String: Any])?["samples"] as? [[String: Any]] ?? []
      #expect(!samples.isEmpty, "\(name) has no samples")
      for sample in samples {
        let verify = sample["verify"] as? [String: Any]
        #expect(verify?["complete"] as? Bool == true, "\(name) lost or changed lines: \(verify ?? [:])")
        if name.hasPrefix("ibex") { #expect(verify?["split_files"] as? Int == 0, "\(name) split a line across files") }
      }
    }
  }

  @Test("bench/s6boot.py --quick boots an s6-rc tree under ibex and s6-svscan (a smoke test: no timing is asserted)")
  func s6BootQuickRun() throws {
    let json = "\(makeScratchDirectory())/s6boot.json"
    let result = try runCommand(
      ["/usr/bin/python3", "\(repositoryRoot)/bench/s6boot.py", "--quick", "--no-install", "--ibex", ibexBinary, "--json", json],
      timeout: 300)
    #expect(result.status == 0, "bench failed: \(result.stderr)")
    let report = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: json))) as? [String: Any]
    let measured = try #require(report?["supervisors"] as? [String: Any])
    #expect(Set(measured.keys) == ["ibex", "ibex-flat", "s6"], "keys: \(measured.keys)")
    let services = (report?["meta"] as? [String: Any])?["services"] as? Int
    for (name, value) in measured {
      let samples = (value as? [String: Any])?["samples"] as? [[String: Any]] ?? []
      #expect(!samples.isEmpty, "\(name) has no samples")
      for sample in samples { #expect(sample["services"] as? Int == services, "\(name) did not start every service") }
    }
  }

  @Test("bench/envstage.py --quick boots with and without 20 variables for the environment stage (a smoke test: no timing is asserted)")
  func environmentStageQuickRun() throws {
    let json = "\(makeScratchDirectory())/envstage.json"
    let result = try runCommand(
      ["/usr/bin/python3", "\(repositoryRoot)/bench/envstage.py", "--quick", "--ibex", ibexBinary, "--json", json], timeout: 300)
    #expect(result.status == 0, "bench failed: \(result.stderr)")
    let report = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: json))) as? [String: Any]
    let runs = try #require(report?["runs"] as? [String: Any])
    #expect(Set(runs.keys) == ["true", "plain", "stage20", "again"])
    #expect((report?["meta"] as? [String: Any])?["variables"] as? Int == 20)
  }
}
