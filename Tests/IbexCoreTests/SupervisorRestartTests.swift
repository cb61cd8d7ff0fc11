import IbexCore
import Testing

@Suite("Supervisor: restarts, backoff and the start limit")
struct SupervisorRestartTests {
  @Test("Restart=always waits RestartSec, then doubles the delay up to RestartMaxDelaySec")
  func backoff() throws {
    var h = try Harness([
      service("web") {
        $0.restart = .always
        $0.restartDelay = .seconds(1)
        $0.restartMaxDelay = .seconds(4)
        $0.startLimitBurst = 0
      }
    ])
    h.boot()
    var delays: [String] = []
    for delay in [1, 2, 4, 4, 4] as [Int64] {
      h.exit("web", .exited(code: 1))  // dies at once, every time
      #expect(h.phase("web") == .restarting)
      delays.append(h.log.last!)
      h.advance(.seconds(delay))
      #expect(h.phase("web") == .running)
    }
    #expect(delays == ["web: restarting in 1s", "web: restarting in 2s", "web: restarting in 4s", "web: restarting in 4s", "web: restarting in 4s"])
    #expect(h.supervisor.restartCount(of: 0) == 5)
  }

  @Test("the backoff starts again from RestartSec after a long enough run")
  func backoffReset() throws {
    var h = try Harness([
      service("web") {
        $0.restart = .always
        $0.restartDelay = .seconds(1)
        $0.restartMaxDelay = .seconds(8)
      }
    ])
    h.boot()
    h.exit("web", .exited(code: 1))
    h.advance(.seconds(1))
    h.exit("web", .exited(code: 1))
    #expect(h.log.last == "web: restarting in 2s")
    h.advance(.seconds(2))
    h.advance(.seconds(60))  // up for a minute
    h.exit("web", .exited(code: 1))
    #expect(h.log.last == "web: restarting in 1s")
  }

  @Test("Restart=on-failure restarts after a failure but not after exit 0 or the stop signal")
  func onFailure() throws {
    var h = try Harness([service("a") { $0.restart = .onFailure }, service("b") { $0.restart = .onFailure }])
    h.boot()
    h.exit("a", .exited(code: 0))
    #expect(h.phase("a") == .stopped)
    h.exit("b", .signaled(.kill, coreDumped: false))
    #expect(h.phase("b") == .restarting)
  }

  @Test("Restart=no: a crash is a failure, a clean exit is stopped")
  func noRestart() throws {
    var h = try Harness([service("a"), service("b")])
    h.boot()
    h.exit("a", .signaled(.init(rawValue: 11), coreDumped: true))
    #expect(h.phase("a") == .failed(.exited(.signaled(.init(rawValue: 11), coreDumped: true))))
    h.exit("b")
    #expect(h.phase("b") == .stopped)
  }

  @Test("more than StartLimitBurst starts within StartLimitIntervalSec is a crash loop: failed")
  func crashLoop() throws {
    var h = try Harness([
      service("web") {
        $0.restart = .always
        $0.restartDelay = .milliseconds(100)
        $0.restartMaxDelay = nil
        $0.startLimitBurst = 3
        $0.startLimitInterval = .seconds(10)
      }
    ])
    h.boot()
    for _ in 0..<3 {
      h.exit("web", .exited(code: 1))
      h.advance(.milliseconds(100))
    }
    #expect(h.spawned == ["web", "web", "web"])
    #expect(h.phase("web") == .failed(.startLimitHit))
  }

  @Test("by default a crash loop backs off 1s, 2s, 4s ... 1min and is never given up")
  func defaultBackoff() throws {
    var h = try Harness([service("web") { $0.restart = .always }])
    h.boot()
    let expected: [TimeSpan] = [1, 2, 4, 8, 16, 32, 60, 60, 60, 60, 60, 60].map { .seconds($0) }
    for (k, delay) in expected.enumerated() {
      h.exit("web", .exited(code: 1))
      h.advance(TimeSpan(nanoseconds: delay.nanoseconds - 1_000_000))
      #expect(h.spawned.count == k + 1, "restart \(k + 1) waits \(delay.description)")
      h.advance(.milliseconds(1))
      #expect(h.spawned.count == k + 2, "restart \(k + 1) comes after \(delay.description)")
    }
    #expect(h.phase("web") == .running)
  }

  @Test("a RestartMaxDelaySec= below RestartSec= never shortens the delay")
  func maximumBelowDelay() {
    var definition = service("web")
    definition.restartDelay = .seconds(90)
    #expect(Supervisor.restartDelay(for: definition, failuresInARow: 3) == .seconds(90))
    definition.restartMaxDelay = .zero
    definition.restartDelay = .seconds(2)
    #expect(Supervisor.restartDelay(for: definition, failuresInARow: 5) == .seconds(2))
  }

  @Test("a dependency that restarts leaves its dependents running")
  func dependencyRestart() throws {
    var h = try Harness([service("db") { $0.restart = .always }, service("web", requires: ["db"])])
    h.boot()
    h.exit("db", .exited(code: 1))
    #expect(h.phase("web") == .running)
    h.advance(.seconds(1))
    #expect(h.phase("db") == .running)
    #expect(h.spawned == ["db", "web", "db"])
  }

  @Test("a required dependency that fails for good stops its dependents, in order")
  func dependencyFailure() throws {
    var h = try Harness([service("db"), service("web", requires: ["db"]), service("cache", wants: ["db"])])
    h.boot()
    _ = h.takeSignals()
    h.exit("db", .exited(code: 1))
    #expect(h.takeSignals() == ["-db SIGKILL", "-web SIGTERM", "-web SIGCONT"])
    h.exit("web", .signaled(.terminate, coreDumped: false))
    #expect(h.phase("web") == .failed(.dependencyFailed("db")))
    #expect(h.phase("cache") == .running)
  }

  @Test("an essential service that fails for good stops the container with its exit code")
  func essential() throws {
    var h = try Harness([
      service("db") {
        $0.essential = true
        $0.essentialExitCode = 42
      },
      service("web"),
    ], command: true)
    h.boot()
    #expect(h.spawned == ["db", "web", "CMD"])
    h.exit("db", .exited(code: 1))
    #expect(h.takeSignals().contains("-CMD SIGTERM"))
    h.exit("CMD", .signaled(.terminate, coreDumped: false))
    h.exit("web", .signaled(.terminate, coreDumped: false))
    #expect(h.exitCode == 42)
  }
}
