import IbexCore
import Testing

@Suite("Supervisor: stopping and shutdown")
struct SupervisorStopTests {
  @Test("on TERM, services stop in reverse dependency order, each after its dependents are gone")
  func reverseOrder() throws {
    var h = try Harness([service("db"), service("app", requires: ["db"]), service("web", requires: ["app"])])
    h.boot()
    h.send(.shutdownSignal(.terminate))
    #expect(h.takeSignals() == ["-web SIGTERM", "-web SIGCONT"])
    h.exit("web", .signaled(.terminate, coreDumped: false))
    #expect(h.takeSignals() == ["-web SIGKILL", "-app SIGTERM", "-app SIGCONT"])
    h.exit("app", .exited(code: 0))
    #expect(h.takeSignals() == ["-app SIGKILL", "-db SIGTERM", "-db SIGCONT"])
    #expect(h.exitCode == nil)
    h.exit("db", .exited(code: 0))
    #expect(h.exitCode == 0)
  }

  @Test("independent services stop in the same step")
  func parallelStop() throws {
    var h = try Harness([service("a"), service("b"), service("c")])
    h.boot()
    h.send(.shutdownSignal(.interrupt))
    #expect(Set(h.takeSignals().filter { $0.hasSuffix("SIGTERM") }) == ["-a SIGTERM", "-b SIGTERM", "-c SIGTERM"])
  }

  @Test("KillSignal= is sent first; SIGKILL to the process group after TimeoutStopSec")
  func stopTimeout() throws {
    var h = try Harness([
      service("web") {
        $0.killSignal = .quit
        $0.stopTimeout = .seconds(3)
      }
    ])
    h.boot()
    h.send(.shutdownSignal(.terminate))
    #expect(h.takeSignals() == ["-web SIGQUIT", "-web SIGCONT"])
    h.advance(.seconds(2))
    #expect(h.takeSignals() == [])
    h.advance(.seconds(1))
    #expect(h.takeSignals() == ["-web SIGKILL"])
    #expect(h.log.contains("web: still running 3s after SIGQUIT: sending SIGKILL"))
    h.exit("web", .signaled(.kill, coreDumped: false))
    #expect(h.exitCode == 0)
  }

  @Test("ExecStop= runs before the signal, ExecStopPost= after the exit")
  func stopCommands() throws {
    var h = try Harness([
      service("web") {
        $0.stop = [Command(program: "/bin/drain", arguments: ["drain"])]
        $0.stopPost = [Command(program: "/bin/cleanup", arguments: ["cleanup"])]
      }
    ])
    h.boot()
    h.send(.shutdownSignal(.terminate))
    #expect(h.spawned == ["web", "web:stop0"])
    h.exit("web:stop0")
    #expect(h.takeSignals() == ["-web SIGTERM", "-web SIGCONT"])
    h.exit("web", .signaled(.terminate, coreDumped: false))
    #expect(h.spawned.last == "web:stoppost0")
    #expect(h.exitCode == nil)
    h.exit("web:stoppost0")
    #expect(h.exitCode == 0)
  }

  @Test("a oneshot with RemainAfterExit= stays up and runs ExecStop= at shutdown")
  func remainAfterExit() throws {
    var h = try Harness([
      service("mount", type: .oneshot) {
        $0.remainAfterExit = true
        $0.stop = [Command(program: "/bin/umount", arguments: ["umount"])]
      }
    ])
    h.boot()
    h.exit("mount")
    #expect(h.phase("mount") == .running)
    h.send(.shutdownSignal(.terminate))
    #expect(h.spawned == ["mount", "mount:stop0"])
    #expect(h.exitCode == nil)
    h.exit("mount:stop0")
    #expect(h.exitCode == 0)
  }

  @Test("shutdown never waits for what has already exited")
  func nothingLeft() throws {
    var h = try Harness([service("job", type: .oneshot), service("gone")])
    h.boot()
    h.exit("job")
    h.exit("gone", .exited(code: 0))
    h.send(.shutdownSignal(.terminate))
    #expect(h.exitCode == 0)
    #expect(h.timer == nil)
  }

  @Test("the total shutdown bound kills everything left and exits")
  func shutdownBound() throws {
    var h = try Harness([service("web") { $0.stopTimeout = .seconds(60) }]) { $0.shutdownTimeout = .seconds(9) }
    h.boot()
    h.send(.shutdownSignal(.terminate))
    _ = h.takeSignals()
    h.advance(.seconds(9))
    #expect(h.takeSignals() == ["-web SIGKILL"])
    #expect(h.exitCode == Supervisor.killedAtBoundExitCode)  // not 0: something had to be killed (issue 12.7)
  }
}

@Suite("Supervisor: the main command (CMD)")
struct SupervisorCommandTests {
  @Test("CMD starts once every service is up; its exit code becomes ibex's after services stop")
  func commandExitCode() throws {
    var h = try Harness([service("db", type: .notify)], command: true)
    h.boot()
    #expect(h.spawned == ["db"])
    h.notify("db", "READY=1")
    #expect(h.spawned == ["db", "CMD"])
    h.exit("CMD", .exited(code: 3))
    #expect(h.takeSignals() == ["-db SIGTERM", "-db SIGCONT"])
    h.exit("db", .signaled(.terminate, coreDumped: false))
    #expect(h.exitCode == 3)
  }

  @Test("docker stop: TERM goes to CMD, and CMD's exit code (128+N if killed) is ibex's", arguments: [
    (ProcessExit.signaled(.terminate, coreDumped: false), Int32(143)), (ProcessExit.exited(code: 0), Int32(0)),
  ])
  func dockerStop(exit: ProcessExit, code: Int32) throws {
    var h = try Harness([service("db")], command: true)
    h.boot()
    h.send(.shutdownSignal(.terminate))
    #expect(h.takeSignals() == ["CMD SIGTERM"])
    #expect(h.phase("db") == .running)  // services outlive CMD
    h.exit("CMD", exit)
    h.exit("db", .signaled(.terminate, coreDumped: false))
    #expect(h.exitCode == code)
  }

  @Test("CMD starts anyway after the wait timeout when a service never gets ready")
  func commandWaitTimeout() throws {
    var h = try Harness([service("db", type: .notify) { $0.startTimeout = nil }], command: true) {
      $0.commandWaitTimeout = .seconds(5)
    }
    h.boot()
    h.advance(.seconds(5))
    #expect(h.spawned == ["db", "CMD"])
  }

  @Test("CMD also starts when a non-essential service has failed")
  func commandAfterFailure() throws {
    var h = try Harness([service("db")], command: true)
    h.send(.boot)
    #expect(h.spawned == ["db", "CMD"])
  }
}

@Suite("Supervisor: health checks")
struct SupervisorHealthTests {
  @Test("dependents wait for the first passing check; repeated failures restart the service")
  func health() throws {
    var h = try Harness([
      service("db") {
        $0.health = HealthCheck(command: Command(program: "/bin/probe", arguments: ["probe"]), interval: .seconds(10), timeout: .seconds(2), retries: 2, initialDelay: .zero)
        $0.restart = .no
      },
      service("web", requires: ["db"]),
    ])
    h.boot()
    #expect(h.spawned == ["db", "db:health"])
    h.exit("db:health", .exited(code: 1))
    #expect(h.spawned == ["db", "db:health"])  // web still waits
    h.advance(.seconds(10))
    h.exit("db:health", .exited(code: 0))
    #expect(h.spawned.last == "web")
    #expect(h.supervisor.isHealthy(0) == true)
    // Two failures in a row: restart (even with Restart=no).
    h.advance(.seconds(10))
    h.exit("db:health", .exited(code: 1))
    h.advance(.seconds(10))
    _ = h.takeSignals()
    h.exit("db:health", .exited(code: 1))
    #expect(h.takeSignals() == ["-db SIGTERM", "-db SIGCONT"])
    h.exit("db", .signaled(.terminate, coreDumped: false))
    #expect(h.phase("db") == .restarting)
  }

  @Test("the first check waits InitialDelaySec=; in StartPeriodSec= failures repeat every StartIntervalSec= and do not count")
  func startDelayAndPeriod() throws {
    var h = try Harness([
      service("db") {
        $0.health = HealthCheck(
          command: Command(program: "/bin/probe", arguments: ["probe"]), interval: .seconds(30), timeout: .seconds(2), retries: 1,
          startPeriod: .seconds(20), startInterval: .seconds(2))
      }
    ])
    h.boot()
    #expect(h.spawned == ["db"], "no check at the instant of the start")
    h.advance(TimeSpan(nanoseconds: 999_000_000))
    #expect(h.spawned == ["db"])
    h.advance(.milliseconds(1))
    #expect(h.spawned == ["db", "db:health"], "the first check 1s (the default InitialDelaySec=) after the start")
    for _ in 0..<3 {
      h.exit("db:health", .exited(code: 1))
      h.advance(.seconds(2))
    }
    #expect(h.spawned.filter { $0 == "db:health" }.count == 4, "every 2s in the start period")
    #expect(h.phase("db") == .running, "failures in the start period do not count (Retries=1)")
    h.exit("db:health", .exited(code: 0))
    #expect(h.supervisor.isHealthy(0) == true)
    h.advance(.seconds(2))
    #expect(h.spawned.filter { $0 == "db:health" }.count == 4, "after a pass: IntervalSec=")
    h.advance(.seconds(28))
    #expect(h.spawned.filter { $0 == "db:health" }.count == 5)
  }

  @Test("a check that outlives its timeout is killed and counts as a failure")
  func healthTimeout() throws {
    var h = try Harness([
      service("db") {
        $0.health = HealthCheck(command: Command(program: "/bin/probe", arguments: ["probe"]), interval: .seconds(10), timeout: .seconds(2), retries: 1, initialDelay: .zero)
      }
    ])
    h.boot()
    h.advance(.seconds(2))
    #expect(h.takeSignals() == ["-db:health SIGKILL"])
  }
}

@Suite("Supervisor: operator commands")
struct SupervisorControlTests {
  @Test("stop holds a service down; start brings it back; restart stops and starts it")
  func control() throws {
    var h = try Harness([service("web") { $0.restart = .always }])
    h.boot()
    h.send(.commanded(.stop(service: 0)))
    h.exit("web", .signaled(.terminate, coreDumped: false))
    #expect(h.phase("web") == .stopped)
    h.advance(.seconds(5))
    #expect(h.spawned == ["web"])
    h.send(.commanded(.start(service: 0)))
    #expect(h.spawned == ["web", "web"])
    _ = h.takeSignals()
    h.send(.commanded(.restart(service: 0)))
    #expect(h.takeSignals() == ["-web SIGTERM", "-web SIGCONT"])
    h.exit("web", .signaled(.terminate, coreDumped: false))
    h.advance(.seconds(1))
    #expect(h.spawned == ["web", "web", "web"])
  }
}

/// The stop signals, without the SIGKILL sweep of a group whose main process has ended.
private func terms(_ signals: [String]) -> [String] { signals.filter { !$0.hasSuffix("SIGKILL") } }

extension SupervisorControlTests {
  @Test("stopping a dependency stops what requires it first, in reverse start order; start brings them all back")
  func stopDependency() throws {
    var h = try Harness([service("db"), service("web", requires: ["db"]), service("worker", requires: ["web"]), service("other")])
    h.boot()
    _ = h.takeSignals()
    h.send(.commanded(.stop(service: 0)))
    #expect(h.takeSignals() == ["-worker SIGTERM", "-worker SIGCONT"], "the furthest dependent first")
    #expect(h.log.contains("worker: stopping, because it requires db"))
    h.exit("worker", .signaled(.terminate, coreDumped: false))
    #expect(terms(h.takeSignals()) == ["-web SIGTERM", "-web SIGCONT"])
    h.exit("web", .signaled(.terminate, coreDumped: false))
    #expect(terms(h.takeSignals()) == ["-db SIGTERM", "-db SIGCONT"], "db only once what requires it is down")
    h.exit("db", .signaled(.terminate, coreDumped: false))
    #expect(["db", "web", "worker"].map { h.phase($0) } == [.stopped, .stopped, .stopped])
    #expect(h.phase("other") == .running)
    h.advance(.seconds(5))
    #expect(h.spawned.count == 4, "nothing restarts on its own")
    h.send(.commanded(.start(service: 0)))
    #expect(Array(h.spawned.suffix(3)) == ["db", "web", "worker"], "what was stopped because of db comes back, in order")
  }

  @Test("restarting a dependency restarts what requires it: dependents stop first, then all start in order")
  func restartDependency() throws {
    var h = try Harness([service("db"), service("web", requires: ["db"]), service("cache", wants: ["db"])])
    h.boot()
    _ = h.takeSignals()
    h.send(.commanded(.restart(service: 0)))
    #expect(h.takeSignals() == ["-web SIGTERM", "-web SIGCONT"], "Wants= is not restarted, Requires= is")
    h.exit("web", .signaled(.terminate, coreDumped: false))
    #expect(terms(h.takeSignals()) == ["-db SIGTERM", "-db SIGCONT"])
    h.exit("db", .signaled(.terminate, coreDumped: false))
    h.advance(.seconds(1))
    #expect(Array(h.spawned.suffix(2)) == ["db", "web"])
    #expect(h.phase("cache") == .running)
    #expect(h.supervisor.restartCount(of: 0) == 1)
  }
}

@Suite("Supervisor: reload")
struct SupervisorReloadTests {
  @Test("reload starts new services, restarts changed ones, stops removed ones, and leaves the rest alone")
  func reload() throws {
    var h = try Harness([service("db"), service("web", requires: ["db"]), service("old")])
    h.boot()
    let changedWeb = service("web", requires: ["db"]) { $0.start = [Command(program: "/bin/web2", arguments: ["web2"])] }
    var actions: [SupervisorAction] = []
    let summary: Supervisor.ReloadSummary
    (summary, actions) = try h.supervisor.reload([service("db"), changedWeb, service("new", requires: ["db"])], now: h.now)
    #expect(summary == Supervisor.ReloadSummary(added: ["new"], changed: ["web"], removed: ["old"]))
    #expect(actions.contains(.spawn(ProcessRef(.service(2), .main))))  // "new": index 2 in the new graph
    #expect(actions.contains(.signal(pid: h.pids["web"]!, .terminate, processGroup: true)))
    #expect(actions.contains(.signal(pid: h.pids["old"]!, .terminate, processGroup: true)))
    #expect(!actions.contains { if case .signal(let pid, _, _) = $0 { return pid == h.pids["db"]! } else { return false } })
    #expect(h.supervisor.graph.services.map(\.name) == ["db", "web", "new", "old"])
  }

  @Test("an invalid new configuration throws and changes nothing")
  func invalid() throws {
    var h = try Harness([service("db"), service("web", requires: ["db"])])
    h.boot()
    #expect(throws: ConfigError.self) {
      _ = try h.supervisor.reload([service("web", requires: ["ghost"])], now: h.now)
    }
    #expect(h.supervisor.graph.services.map(\.name) == ["db", "web"])
    #expect(h.phase("db") == .running)
  }
}
