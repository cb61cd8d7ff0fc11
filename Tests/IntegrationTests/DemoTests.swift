import Foundation
import Glibc
import Testing

/// The repository root (Tests/IntegrationTests/DemoTests.swift is three levels down).
let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
  .deletingLastPathComponent().path

@Suite("The README's main job")
struct DemoTests {
  @Test("scripts/demo.sh runs the demo under ibex, reaps its orphans, and stops cleanly on SIGINT", arguments: [SIGINT, SIGTERM])
  func demo(signal: Int32) throws {
    var environment = ProcessInfo.processInfo.environment
    environment["IBEX_BIN"] = ibexBinary
    let demo = try RunningCommand(["\(repositoryRoot)/scripts/demo.sh"], environment: environment)
    let stdout = "\(demo.directory)/stdout"
    #expect(waitUntil(timeout: 30) { fileContents(stdout).contains("tick 4,") })
    // scripts/demo.sh execs ibex, so the process is ibex itself.
    #expect(fileContents("/proc/\(demo.pid)/cmdline").hasPrefix("\(ibexBinary)\0run\0"))
    demo.signal(signal)
    let result = demo.finish(timeout: 30)
    #expect(result.status == 0)
    let name = signal == SIGINT ? "SIGINT" : "SIGTERM"
    #expect(result.stdout.contains("demo: got \(name), shutting down\n"))
    let ticks = result.stdout.split(separator: "\n").filter { $0.contains("tick") }
    #expect(ticks.count >= 4)
    // Orphans exit a second after they start; by the next tick ibex has reaped them.
    #expect(ticks.allSatisfy { $0.hasSuffix("zombies: 0") })
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

  @Test("is at most 1 MiB")
  func size() throws {
    let size = try FileManager.default.attributesOfItem(atPath: ibexBinary)[.size] as! Int
    #expect(size <= 1 << 20, "ibex is \(size) bytes")
  }
}
