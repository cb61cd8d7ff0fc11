import IbexCore
import Testing

@Suite("Supervisor: faults that are not a service's doing (issue 12)")
struct SupervisorFaultTests {
  @Test("an essential service that hits its start limit stops the others gracefully at once, and ibex exits when they have")
  func essentialStartLimit() throws {
    var h = try Harness([
      service("db") {
        $0.essential = true
        $0.restart = .always
        $0.restartDelay = .seconds(1)
        $0.startLimitBurst = 2
        $0.startLimitInterval = .seconds(60)
      },
      service("web") { $0.killSignal = .interrupt },
    ]) { $0.shutdownTimeout = .seconds(9) }
    h.boot()
    h.exit("db", .exited(code: 1))
    h.advance(.seconds(1))
    h.exit("db", .exited(code: 1))
    _ = h.takeSignals()
    h.advance(.seconds(2))  // the third start hits the limit: db fails for good
    #expect(h.phase("db") == .failed(.startLimitHit))
    // web gets its KillSignal= now, not SIGKILL at the bound.
    #expect(h.takeSignals() == ["-web SIGINT", "-web SIGCONT"])
    h.exit("web", .signaled(.interrupt, coreDumped: false))
    #expect(h.exitCode == 1)
  }

  @Test("a main process that cannot be forked is retried with backoff, logged once per try, outside the start limit, whatever Restart= says")
  func forkFailureRetried() throws {
    var h = try Harness([
      service("web") {
        $0.restartDelay = .seconds(1)
        $0.restartMaxDelay = .seconds(4)
        $0.startLimitBurst = 2
        $0.startLimitInterval = .seconds(600)
      }
    ])
    h.forkFailures["web"] = 5
    h.boot()
    for delay in [1, 2, 4, 4] as [Int64] {
      #expect(h.phase("web") == .restarting)
      h.advance(.seconds(delay))
    }
    #expect(h.phase("web") == .restarting)
    h.advance(.seconds(4))
    #expect(h.phase("web") == .running)
    #expect(h.spawned == ["web"])
    let forkLines = h.log.filter { $0.contains("Resource temporarily unavailable") }
    #expect(forkLines.count == 5)
    #expect(forkLines.first == "web: unable to create a process for web: Resource temporarily unavailable: trying again in 1s")
    #expect(!h.log.contains { $0.contains("exited 126") || $0.contains("failed") })
  }

  @Test("a health check that cannot be forked never restarts a healthy service")
  func healthForkFailure() throws {
    var h = try Harness([
      service("web") {
        $0.health = HealthCheck(
          command: Command(program: "/bin/check", arguments: ["check"]), interval: .seconds(5), timeout: .seconds(1), retries: 1, initialDelay: .zero)
      }
    ])
    h.boot()
    h.exit("web:health")
    #expect(h.supervisor.isHealthy(0) == true)
    h.forkFailures["web:health"] = 3
    h.advance(.seconds(15))
    #expect(h.phase("web") == .running)
    #expect(h.supervisor.isHealthy(0) == true)
    #expect(h.takeSignals().isEmpty)
    h.advance(.seconds(5))  // the next check runs again
    #expect(h.spawned.filter { $0 == "web:health" }.count == 2)
  }
}
