import Foundation
import Glibc
import Testing

/// The repository root (Tests/IntegrationTests/DemoTests.swift is three levels down).
let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
  .deletingLastPathComponent().path

@Suite("The README's main job", .serialized)  // both cases use the example root and its notify socket
struct DemoTests {
  @Test(
    "scripts/demo.sh supervises the example tree in order, restarts the crashing worker with backoff, stops cleanly on Ctrl-C",
    arguments: [SIGINT, SIGTERM])
  func demo(signal: Int32) throws {
    var environment = ProcessInfo.processInfo.environment
    environment["IBEX_BIN"] = ibexBinary
    let demo = try RunningCommand(["\(repositoryRoot)/scripts/demo.sh"], environment: environment)
    #expect(waitUntil(timeout: 30) {
      demo.stderrSoFar.contains("ibex: flaky: restarting in 1s") && demo.stderrSoFar.contains("ibex: web: running")
    })
    // scripts/demo.sh execs ibex, so the process is ibex itself.
    #expect(fileContents("/proc/\(demo.pid)/cmdline").hasPrefix("\(ibexBinary)\0init\0"))
    demo.signal(signal)
    let result = demo.finish(timeout: 30)
    #expect(result.status == 0)
    let log = result.stderr.split(separator: "\n").map(String.init)
    func position(_ line: String) -> Int { log.firstIndex(of: line) ?? -1 }
    // Start order: the database is ready and the migration done before the web server runs.
    let dbReady = log.firstIndex { $0.hasPrefix("ibex: db: running") } ?? -1
    let migrated = position("ibex: migrate: done")
    let webUp = log.firstIndex { $0.hasPrefix("ibex: web: running") } ?? -1
    #expect(dbReady >= 0 && migrated > dbReady && webUp > migrated)
    #expect(log.contains("ibex: flaky: restarting in 500ms"))
    // Stop order: web (which needs db) stops before db.
    let webStopped = position("ibex: web: stopped")
    let dbStopped = position("ibex: db: stopped")
    #expect(webStopped >= 0 && dbStopped > webStopped)
    #expect(result.stdout.contains("db | ready\n"))
    #expect(result.stdout.contains("web | shutting down\n"))
  }
}

@Suite("The shipped binary", .enabled(if: ibexIsStatic, "needs the static release build (IBEX_BIN)"))
struct ReleaseBinaryTests {
  @Test("is a static position-independent executable with RELRO, BIND_NOW and a non-executable stack")
  func hardening() throws {
    let header = try runCommand(["/usr/bin/readelf", "-hlW", ibexBinary]).stdout
    #expect(header.contains("DYN (Position-Independent Executable file)"))
    #expect(!header.contains("INTERP"))
    #expect(header.contains("GNU_RELRO"))
    let stack = header.split(separator: "\n").first { $0.contains("GNU_STACK") }
    #expect(stack != nil && !stack!.contains("RWE"))
    let dynamic = try runCommand(["/usr/bin/readelf", "-dW", ibexBinary]).stdout
    #expect(dynamic.contains("BIND_NOW"))
    #expect(!dynamic.contains("NEEDED"))
    #expect(!dynamic.contains("RUNPATH"))
  }

  /// The budget of the shipped binary with every feature (DESIGN.md): 1.5 MiB.
  @Test("is at most 1.5 MiB")
  func size() throws {
    let size = try FileManager.default.attributesOfItem(atPath: ibexBinary)[.size] as! Int
    #expect(size <= 3 << 19, "ibex is \(size) bytes")
  }
}
