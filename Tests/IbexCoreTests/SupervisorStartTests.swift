import IbexCore
import Testing

@Suite("Supervisor: starting in dependency order")
struct SupervisorStartTests {
  @Test("a chain starts one after the other, each once its dependency is ready")
  func chain() throws {
    var h = try Harness([service("web", requires: ["app"]), service("app", requires: ["db"]), service("db")])
    h.boot()
    #expect(h.spawned == ["db", "app", "web"])  // simple services are ready when started
    #expect(h.phase("web") == .running)
  }

  @Test("independent services start in the same step once their common dependency is ready")
  func parallel() throws {
    var h = try Harness([service("db", type: .notify), service("a", requires: ["db"]), service("b", wants: ["db"])])
    h.boot()
    #expect(h.spawned == ["db"])
    h.notify("db", "STATUS=warming up\nREADY=1")
    #expect(h.spawned.count == 3)
    #expect(Set(h.spawned.dropFirst()) == ["a", "b"])
  }

  @Test("a notify service gates its dependents until READY=1 from its main pid")
  func readinessGating() throws {
    var h = try Harness([service("db", type: .notify), service("web", requires: ["db"])])
    h.boot()
    h.notify("db", "STATUS=loading")
    #expect(h.spawned == ["db"])
    #expect(h.phase("db") == .starting)
    #expect(h.supervisor.statusText(of: 0) == "loading")
    h.send(.notified(pid: 9999, message: "READY=1"))  // not db's main process
    #expect(h.spawned == ["db"])
    h.notify("db", "READY=1")
    #expect(h.spawned == ["db", "web"])
  }

  @Test("a notification fd (s6 style) makes the service ready")
  func notificationFD() throws {
    var h = try Harness([service("db") { $0.notificationFD = 3 }, service("web", requires: ["db"])])
    h.boot()
    #expect(h.spawned == ["db"])
    h.send(.becameReady(service: 0))
    #expect(h.spawned == ["db", "web"])
  }

  @Test("Before= orders the other way round")
  func before() throws {
    let location = SourceLocation(file: "setup.service", line: 2)
    var h = try Harness([
      service("web"),
      service("setup", type: .oneshot) { $0.dependencies = [Dependency(name: "web", kind: .before, location: location)] },
    ])
    h.boot()
    #expect(h.spawned == ["setup"])
    h.exit("setup")
    #expect(h.spawned == ["setup", "web"])
  }

  @Test("a oneshot runs to completion before its dependents; exit 0 makes it done")
  func oneshot() throws {
    var h = try Harness([service("migrate", type: .oneshot), service("web", requires: ["migrate"])])
    h.boot()
    #expect(h.spawned == ["migrate"])
    #expect(h.phase("migrate") == .starting)
    h.exit("migrate")
    #expect(h.phase("migrate") == .done)
    #expect(h.spawned == ["migrate", "web"])
  }

  @Test("a failed oneshot fails what requires it; what only wants it still starts")
  func oneshotFailure() throws {
    var h = try Harness([
      service("migrate", type: .oneshot), service("web", requires: ["migrate"]), service("worker", wants: ["migrate"]),
    ])
    h.boot()
    h.exit("migrate", .exited(code: 2))
    #expect(h.phase("migrate") == .failed(.exited(.exited(code: 2))))
    #expect(h.phase("web") == .failed(.dependencyFailed("migrate")))
    #expect(h.spawned == ["migrate", "worker"])
    #expect(h.log.contains("migrate: failed: exited 2"))
  }

  @Test("ExecStartPre= runs first, in order; a failing one stops the start unless it has '-'")
  func startPre() throws {
    var h = try Harness([
      service("web") {
        $0.startPre = [
          Command(program: "/bin/check", arguments: ["check"], ignoresFailure: true),
          Command(program: "/bin/prepare", arguments: ["prepare"]),
        ]
      }
    ])
    h.boot()
    #expect(h.spawned == ["web:pre0"])
    h.exit("web:pre0", .exited(code: 1))  // ignored: '-'
    #expect(h.spawned == ["web:pre0", "web:pre1"])
    h.exit("web:pre1", .exited(code: 3))
    #expect(h.phase("web") == .failed(.commandFailed("/bin/prepare", .exited(code: 3))))
    #expect(h.log.contains("web: /bin/check exited 1 (failure ignored)"))
    #expect(!h.spawned.contains("web"))
  }

  @Test("ExecStartPost= runs after the main process is ready; the service is running after it")
  func startPost() throws {
    var h = try Harness([
      service("web") { $0.startPost = [Command(program: "/bin/announce", arguments: ["announce"])] },
      service("lb", requires: ["web"]),
    ])
    h.boot()
    #expect(h.spawned == ["web", "web:post0"])
    #expect(h.phase("web") == .starting)
    h.exit("web:post0")
    #expect(h.phase("web") == .running)
    #expect(h.spawned.last == "lb")
  }

  @Test("a notify service not ready within TimeoutStartSec is killed and counts as failed")
  func startTimeout() throws {
    var h = try Harness([service("db", type: .notify) { $0.startTimeout = .seconds(5) }])
    h.boot()
    h.advance(.seconds(5))
    #expect(h.takeSignals() == ["-db SIGTERM", "-db SIGCONT"])
    h.exit("db", .signaled(.terminate, coreDumped: false))
    #expect(h.phase("db") == .failed(.startTimeout))
  }

  @Test("a program that cannot be started fails its service with the reason")
  func spawnFailure() throws {
    var h = try Harness([service("web")])
    h.send(.boot)
    h.send(.spawnFailed(ProcessRef(.service(0), .main), reason: "unable to exec /bin/web: No such file or directory", exitCode: 127))
    #expect(h.phase("web") == .failed(.couldNotStart("unable to exec /bin/web: No such file or directory")))
  }
}
