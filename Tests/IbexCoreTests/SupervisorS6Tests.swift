import IbexCore
import Testing

/// The s6 semantics the s6-overlay loader relies on: oneshots made of start or stop commands
/// only, `finish` programs, services that do not start at boot, `flag-essential`, and the
/// boot failure policy (`S6_BEHAVIOUR_IF_STAGE2_FAILS`).
@Suite("Supervisor: s6 semantics")
struct SupervisorS6Tests {
  private func commands(_ names: String...) -> [Command] {
    names.map { Command(program: "/bin/\($0)", arguments: [$0], ignoresFailure: true) }
  }

  @Test("a oneshot without a start command is up at once; its stop commands run at shutdown, last")
  func commandlessOneshot() throws {
    var h = try Harness([
      service("finish-scripts", type: .oneshot) {
        $0.start = []
        $0.remainAfterExit = true
        $0.stop = commands("f1", "f2")
      },
      service("web", after: ["finish-scripts"]),
    ])
    h.boot()
    #expect(h.spawned == ["web"])
    #expect(h.phase("finish-scripts") == .running)
    h.send(.shutdownSignal(.terminate))
    h.exit("web", .signaled(.terminate, coreDumped: false))
    #expect(h.spawned == ["web", "finish-scripts:stop0"])
    h.exit("finish-scripts:stop0", .exited(code: 1))
    #expect(h.spawned.last == "finish-scripts:stop1")
    #expect(h.exitCode == nil)
    h.exit("finish-scripts:stop1")
    #expect(h.exitCode == 0)
  }

  @Test("start commands of a command-only oneshot run in order; ignored failures are logged")
  func contInitLike() throws {
    var h = try Harness([
      service("cont-init", type: .oneshot) {
        $0.start = []
        $0.remainAfterExit = true
        $0.startPre = commands("10-a", "20-b")
      },
      service("web", requires: ["cont-init"]),
    ])
    h.boot()
    #expect(h.spawned == ["cont-init:pre0"])
    h.exit("cont-init:pre0", .exited(code: 1))
    #expect(h.log.contains("cont-init: /bin/10-a exited 1 (failure ignored)"))
    h.exit("cont-init:pre1")
    #expect(h.spawned == ["cont-init:pre0", "cont-init:pre1", "web"])
  }

  @Test("finish runs after every exit with s6's arguments; the restart waits for it")
  func finishRuns() throws {
    var h = try Harness([
      service("web") {
        $0.restart = .always
        $0.restartDelay = .seconds(1)
        $0.finish = Command(program: "/srv/web/finish", arguments: ["/srv/web/finish"])
      }
    ])
    h.boot()
    let pid = h.pids["web"]!
    h.exit("web", .exited(code: 5))
    #expect(h.spawned == ["web", "web:finish"])
    #expect(h.supervisor.lastMainPID(of: 0) == pid)
    #expect(h.supervisor.lastExit(of: 0) == .exited(code: 5))
    #expect(h.phase("web") == .stopping)
    h.exit("web:finish")
    #expect(h.phase("web") == .restarting)
    h.advance(.seconds(1))
    #expect(h.spawned.last == "web")
  }

  @Test("finish exiting 125 means: do not restart")
  func finish125() throws {
    var h = try Harness([
      service("web") {
        $0.restart = .always
        $0.finish = Command(program: "/srv/web/finish", arguments: ["/srv/web/finish"])
      }
    ])
    h.boot()
    h.exit("web", .exited(code: 1))
    h.exit("web:finish", .exited(code: 125))
    #expect(h.phase("web") == .stopped)
    #expect(h.log.contains("web: finish exited 125: not restarting"))
    h.advance(.seconds(5))
    #expect(h.spawned == ["web", "web:finish"])
  }

  @Test("a finish that hangs is killed after its timeout")
  func finishTimeout() throws {
    var h = try Harness([
      service("web") {
        $0.finish = Command(program: "/srv/web/finish", arguments: ["/srv/web/finish"])
        $0.finishTimeout = .seconds(2)
      }
    ])
    h.boot()
    h.send(.shutdownSignal(.terminate))
    h.exit("web", .signaled(.terminate, coreDumped: false))
    #expect(h.spawned.last == "web:finish")
    _ = h.takeSignals()
    h.advance(.seconds(2))
    #expect(h.takeSignals() == ["-web:finish SIGKILL"])
    h.exit("web:finish", .signaled(.kill, coreDumped: false))
    #expect(h.exitCode == 0)
  }

  @Test("a service with autostart off stays down until started, or until a service that requires it starts")
  func autostart() throws {
    var h = try Harness([
      service("idle") { $0.autostart = false },
      service("db") { $0.autostart = false },
      service("web", requires: ["db"]),
    ])
    h.boot()
    #expect(h.spawned == ["db", "web"])
    #expect(h.phase("idle") == .inactive)
    h.send(.commanded(.start(service: 0)))
    #expect(h.spawned.last == "idle")
  }

  @Test("flag-essential services stop after every other, even those started before them")
  func stopsLast() throws {
    var h = try Harness([
      service("cont-finish", type: .oneshot) {
        $0.start = []
        $0.remainAfterExit = true
        $0.stop = commands("finish")
      },
      service("essential", after: ["cont-finish"]) { $0.stopsLast = true },
      service("web", after: ["cont-finish"]),
    ])
    h.boot()
    _ = h.takeSignals()
    h.send(.shutdownSignal(.terminate))
    #expect(h.takeSignals() == ["-web SIGTERM", "-web SIGCONT"])
    h.exit("web", .signaled(.terminate, coreDumped: false))
    #expect(h.spawned.last == "cont-finish:stop0")
    #expect(!h.takeSignals().contains("-essential SIGTERM"))
    h.exit("cont-finish:stop0")
    #expect(h.takeSignals().contains("-essential SIGTERM"))
    h.exit("essential", .signaled(.terminate, coreDumped: false))
    #expect(h.exitCode == 0)
  }

  @Test("dependents of a service whose readiness they need not wait for start once it has started")
  func startedEnough() throws {
    var h = try Harness(
      [
        service("legacy") {
          $0.notificationFD = 3
          $0.dependentsWaitForReady = false
        },
        service("after-legacy", type: .oneshot, requires: ["legacy"]),
      ], command: true)
    h.boot()
    #expect(h.spawned == ["legacy", "after-legacy"])
    h.exit("after-legacy")
    #expect(h.spawned.last == "CMD")
    #expect(h.phase("legacy") == .starting)
  }

  @Test("boot failure policy halt: a oneshot failing during boot stops the container with 1; the CMD never runs")
  func haltOnBootFailure() throws {
    var h = try Harness([service("setup", type: .oneshot)], command: true) { $0.bootFailure = .halt }
    h.boot()
    h.exit("setup", .exited(code: 4))
    #expect(h.exitCode == 1)
    #expect(!h.spawned.contains("CMD"))
  }

  @Test("boot failure policy warn: a warning, then the CMD runs")
  func warnOnBootFailure() throws {
    var h = try Harness([service("setup", type: .oneshot)], command: true) { $0.bootFailure = .warn }
    h.boot()
    h.exit("setup", .exited(code: 4))
    #expect(h.log.contains("setup failed during boot; carrying on"))
    #expect(h.spawned.last == "CMD")
  }

  @Test("boot failure policy halt: services not up in time stop the container with 2, naming them")
  func haltOnBootTimeout() throws {
    var h = try Harness([service("slow") { $0.notificationFD = 3 }], command: true) {
      $0.bootFailure = .halt
      $0.commandWaitTimeout = .seconds(1)
    }
    h.boot()
    h.advance(.seconds(1))
    #expect(h.log.contains("services are not all up after 1s (not up: slow): stopping the container with exit code 2"))
    h.exit("slow", .signaled(.terminate, coreDumped: false))
    #expect(h.exitCode == 2)
  }

  @Test("a service dying after boot is not a boot failure")
  func crashAfterBoot() throws {
    var h = try Harness([service("web")], command: true) { $0.bootFailure = .halt }
    h.boot()
    #expect(h.spawned == ["web", "CMD"])
    h.exit("web", .exited(code: 1))
    #expect(h.exitCode == nil)
  }
}

@Suite("Supervisor: boot that fails")
struct SupervisorBootFailureTests {
  @Test("a restarting service not ready within its start timeout ends the boot: CMD runs, its dependents never start")
  func startTimeoutEndsBoot() throws {
    var h = try Harness(
      [
        service("x") {
          $0.notificationFD = 3
          $0.restart = .always
          $0.startLimitBurst = 0
          $0.startTimeout = .seconds(1)
        },
        service("y", type: .oneshot, requires: ["x"]),
      ], command: true) { $0.bootFailure = .ignore }
    h.boot()
    #expect(h.spawned == ["x"])
    h.advance(.seconds(1))
    #expect(h.spawned.contains("CMD"))
    #expect(!h.spawned.contains("y"))
  }

  @Test("the same with policy halt: exit code 1")
  func startTimeoutHalts() throws {
    var h = try Harness(
      [service("x") {
        $0.notificationFD = 3
        $0.restart = .always
        $0.startTimeout = .seconds(1)
      }], command: true) { $0.bootFailure = .halt }
    h.boot()
    h.advance(.seconds(1))
    h.exit("x", .signaled(.kill, coreDumped: false))
    #expect(h.exitCode == 1)
    #expect(!h.spawned.contains("CMD"))
  }
}

extension SupervisorS6Tests {
  @Test("s6-rc services log s6-rc's own transition lines, in dependency order, starting and stopping; others do not")
  func s6rcLines() throws {
    var h = try Harness([
      service("db") { $0.logsAsS6RC = true },
      service("app", requires: ["db"]) { $0.logsAsS6RC = true },
      service("native"),
    ])
    h.boot()
    h.send(.shutdownSignal(.terminate))
    h.exit("app", .signaled(.terminate, coreDumped: false))
    h.exit("db", .signaled(.terminate, coreDumped: false))
    h.exit("native", .signaled(.terminate, coreDumped: false))
    #expect(
      h.log.filter { $0.hasPrefix("s6-rc: ") } == [
        "s6-rc: info: service db: starting", "s6-rc: info: service db successfully started",
        "s6-rc: info: service app: starting", "s6-rc: info: service app successfully started",
        "s6-rc: info: service app: stopping", "s6-rc: info: service app successfully stopped",
        "s6-rc: info: service db: stopping", "s6-rc: info: service db successfully stopped",
      ])
    #expect(!h.log.contains { $0.contains("service native") })
  }
}
