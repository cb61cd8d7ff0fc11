import Foundation
import Glibc
import Testing

/// Runs an `ibex` client command against the ibex init using `services`' root (also FaultTests).
func client(_ services: ServiceRoot, _ arguments: [String], user: (uid: Int, gid: Int)? = nil) throws -> CommandResult {
  var command = [ibexBinary] + arguments + ["--root", services.root]
  if let user {
    command = ["/usr/bin/setpriv", "--reuid=\(user.uid)", "--regid=\(user.gid)", "--clear-groups"] + command
  }
  return try runCommand(command)
}

func statusJSON(_ services: ServiceRoot) throws -> [String: [String: Any]] {
  let result = try client(services, ["status", "--json"])
  let object = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any]
  var byName: [String: [String: Any]] = [:]
  for service in object?["services"] as? [[String: Any]] ?? [] { byName[service["name"] as! String] = service }
  return byName
}

/// A running tree: db (essential), web requiring db, with a health check.
private func startTree(environment: [String: String] = [:]) throws -> (ServiceRoot, RunningCommand, Int32) {
  let services = try ServiceRoot([
    "db.service": "[Service]\nExecStart=/bin/sleep 100000\nEssential=yes\n",
    "web.service": "[Unit]\nRequires=db\n[Service]\nExecStart=/bin/sleep 100000\n[Health]\nExec=/bin/true\nIntervalSec=1h\n",
  ])
  let ibex = try services.start(environment: environment)
  let pid = try #require(services.ibexPID(ibex))
  // Both ready: web's first health check comes 1s (InitialDelaySec=) after it is up.
  #expect(waitUntil(timeout: 20) { (try? client(services, ["check", "db", "web"]).status) == 0 })
  return (services, ibex, pid)
}

@Suite("ibex status, start, stop, restart, signal, check, wait, shutdown", .enabled(if: canUnshare, "needs unshare --pid"))
struct ControlTests {
  @Test("status shows every service; --json has state, pid, uptime, restarts, last exit, readiness and health")
  func status() throws {
    let (services, ibex, pid) = try startTree()
    let status = try statusJSON(services)
    #expect(status["db"]?["state"] as? String == "running")
    #expect((status["db"]?["pid"] as? Int ?? 0) > 1)
    #expect(status["db"]?["uptime_ms"] as? Int != nil)
    #expect(status["web"]?["health"] as? String == "healthy")
    #expect(status["web"]?["ready"] as? Bool == true)
    #expect(status["db"]?["essential"] as? Bool == true)
    let table = try client(services, ["status"])
    #expect(table.status == 0)
    #expect(table.stdout.hasPrefix("NAME  STATE    PID"))
    #expect(table.stdout.contains("web   running"))
    kill(pid, SIGTERM)
    #expect(ibex.finish().status == 0)
  }

  @Test("status keeps the last exit across a restart, shows Description=, no health once stopped, and why a service failed")
  func statusKeepsInformation() throws {
    let services = try ServiceRoot([
      "web.service": """
        [Unit]
        Description=Web front end
        [Service]
        ExecStart=/bin/sh -c 'if [ -e $OUT/crashed ]; then exec sleep 100000; fi; touch $OUT/crashed; exit 1'
        Restart=on-failure
        RestartSec=100ms
        [Health]
        Exec=/bin/true
        IntervalSec=1h
        """,
      "loop.service": "[Unit]\nStartLimitBurst=2\n[Service]\nExecStart=/bin/sh -c 'exit 4'\nRestart=always\nRestartSec=0\n",
    ])
    let ibex = try services.start()
    let pid = try #require(services.ibexPID(ibex))
    #expect(waitUntil(timeout: 20) { (try? statusJSON(services)["web"]?["health"] as? String) == "healthy" })
    #expect(ibex.stderrSoFar.contains("web: running (pid "), "stderr: \(ibex.stderrSoFar)")
    #expect(ibex.stderrSoFar.contains(") - Web front end\n"))
    var status = try statusJSON(services)
    #expect(status["web"]?["last_exit"] as? String == "exited 1", "kept after the restart")
    #expect(status["web"]?["restarts"] as? Int == 1)
    #expect(status["web"]?["description"] as? String == "Web front end")
    #expect(status["loop"]?["description"] is NSNull)
    #expect(waitUntil(timeout: 20) { (try? statusJSON(services)["loop"]?["state"] as? String) == "failed" })
    var table = try client(services, ["status"]).stdout
    let header = table.split(separator: "\n")[0].split(separator: " ")
    #expect(Array(header.suffix(2)) == ["HEALTH", "DESCRIPTION"], "table: \(table)")
    #expect(table.contains("failed: restarted too often (start limit hit)"), "table: \(table)")
    #expect(table.contains("exited 4"))
    #expect(table.contains("Web front end"))

    #expect(try client(services, ["stop", "web"]).status == 0)
    #expect(try client(services, ["wait", "--down", "--timeout", "10s", "web"]).status == 0)
    status = try statusJSON(services)
    #expect(status["web"]?["health"] is NSNull, "a stopped service is not healthy")
    #expect(status["web"]?["last_exit"] as? String == "killed by SIGTERM")
    table = try client(services, ["status", "web"]).stdout
    #expect(!table.contains("healthy"), "table: \(table)")
    kill(pid, SIGTERM)
    #expect(ibex.finish().status == 0)
  }

  @Test("restart gives a new pid; stopping a dependency stops what requires it; start brings it back")
  func restartStopStart() throws {
    let (services, ibex, pid) = try startTree()
    let before = try statusJSON(services)["web"]?["pid"] as? Int
    #expect(try client(services, ["restart", "web"]).status == 0)
    #expect(try client(services, ["wait", "--timeout", "10s", "web"]).status == 0)
    let after = try statusJSON(services)
    #expect(after["web"]?["pid"] as? Int != before)
    #expect(after["web"]?["restarts"] as? Int == 1)
    #expect(after["db"]?["restarts"] as? Int == 0)

    #expect(try client(services, ["stop", "db"]).status == 0)
    #expect(try client(services, ["wait", "--down", "--timeout", "10s", "db", "web"]).status == 0)
    let check = try client(services, ["check"])
    #expect(check.status == 1)
    #expect(check.stderr == "ibex: not ready: db\n")
    #expect(try client(services, ["start", "db", "web"]).status == 0)
    #expect(try client(services, ["wait", "--timeout", "10s", "db", "web"]).status == 0)
    kill(pid, SIGTERM)
    #expect(ibex.finish().status == 0)
  }

  @Test("stop --all, start --all and restart --all act on every service; --all with names is a usage error")
  func all() throws {
    let (services, ibex, pid) = try startTree()
    #expect(try client(services, ["stop", "--all"]).status == 0)
    #expect(try client(services, ["wait", "--down", "--timeout", "10s", "db", "web"]).status == 0)
    #expect(try client(services, ["start", "--all"]).status == 0)
    #expect(try client(services, ["wait", "--timeout", "20s", "db", "web"]).status == 0)
    let before = try statusJSON(services)
    #expect(try client(services, ["restart", "--all"]).status == 0)
    #expect(try client(services, ["wait", "--timeout", "20s", "db", "web"]).status == 0)
    let after = try statusJSON(services)
    for name in ["db", "web"] { #expect(after[name]?["pid"] as? Int != before[name]?["pid"] as? Int, "\(name) restarted") }
    #expect(try client(services, ["stop", "--all", "web"]).status == 2)
    kill(pid, SIGTERM)
    #expect(ibex.finish().status == 0)
  }

  @Test("wait gives up after --timeout with exit 5; unknown names exit 3; signal reaches the main process")
  func waitUnknownSignal() throws {
    let services = try ServiceRoot([
      "slow.service": "[Service]\nType=notify\nExecStart=/bin/sleep 100000\nTimeoutStartSec=infinity\n",
      "trap.service": "[Service]\nExecStart=/bin/sh -c 'trap \"echo got-hup >> $OUT/hup\" HUP; echo up > $OUT/up; while :; do sleep 0.05; done'\n",
    ])
    let ibex = try services.start()
    let pid = try #require(services.ibexPID(ibex))
    #expect(waitUntil(timeout: 20) { FileManager.default.fileExists(atPath: services.dir + "/up") })
    let wait = try client(services, ["wait", "--timeout", "200ms", "slow"])
    #expect(wait.status == 5)
    #expect(wait.stderr == "ibex: fatal: still not ready after 200ms: slow\n")
    let unknown = try client(services, ["stop", "nope"])
    #expect(unknown.status == 3)
    #expect(unknown.stderr == "ibex: fatal: no service named 'nope'\n")
    #expect(try client(services, ["signal", "trap", "HUP"]).status == 0)
    #expect(waitUntil(timeout: 10) { fileContents(services.dir + "/hup") == "got-hup\n" })
    kill(pid, SIGTERM)
    #expect(ibex.finish().status == 0)
  }

  @Test("shutdown stops everything and ibex exits with the code given")
  func shutdown() throws {
    let (services, ibex, _) = try startTree()
    #expect(try client(services, ["shutdown", "--exit-code", "9"]).status == 0)
    #expect(ibex.finish().status == 9)
  }

  @Test("reload adds, changes and removes services; an invalid configuration changes nothing")
  func reload() throws {
    let services = try ServiceRoot([
      "db.service": "[Service]\nExecStart=/bin/sleep 100000\n",
      "web.service": "[Unit]\nRequires=db\n[Service]\nExecStart=/bin/sleep 100000\n",
      "old.service": "[Service]\nExecStart=/bin/sleep 100000\n",
    ])
    let ibex = try services.start()
    let pid = try #require(services.ibexPID(ibex))
    #expect(waitUntil(timeout: 20) { (try? client(services, ["check"]).status) == 0 })
    let before = try statusJSON(services)

    try services.write("bad.service", "[Unit]\nRequires=ghost\n[Service]\nExecStart=/bin/true\n")
    let refused = try client(services, ["reload"])
    #expect(refused.status == 1)
    #expect(refused.stderr.contains("the new configuration is invalid, nothing changed:"))
    #expect(refused.stderr.contains("bad.service:2: Requires=ghost: no service named 'ghost'"))
    #expect(Set(try statusJSON(services).keys) == ["db", "web", "old"])

    try FileManager.default.removeItem(atPath: services.root + "/etc/ibex/services/bad.service")
    try FileManager.default.removeItem(atPath: services.root + "/etc/ibex/services/old.service")
    try services.write("web.service", "[Unit]\nRequires=db\n[Service]\nExecStart=/bin/sleep 200000\n")
    try services.write("new.service", "[Unit]\nRequires=db\n[Service]\nExecStart=/bin/sleep 100000\n")
    let reload = try client(services, ["reload"])
    #expect(reload.status == 0)
    #expect(reload.stdout == "added: new\nchanged: web\nremoved: old\n")
    #expect(try client(services, ["wait", "--timeout", "10s", "new", "web"]).status == 0)
    #expect(waitUntil(timeout: 10) { (try? statusJSON(services).keys.sorted()) == ["db", "new", "web"] })
    let after = try statusJSON(services)
    #expect(after["db"]?["pid"] as? Int == before["db"]?["pid"] as? Int)
    #expect(after["web"]?["pid"] as? Int != before["web"]?["pid"] as? Int)
    kill(pid, SIGTERM)
    #expect(ibex.finish().status == 0)
  }

  @Test("ibex not running: exit 6 with a hint")
  func notRunning() throws {
    let services = try ServiceRoot([:])
    let result = try client(services, ["status"])
    #expect(result.status == 6)
    #expect(result.stderr.contains("(is ibex init running?)"))
  }
}

@Suite("The control socket's protection", .enabled(if: canUnshare && isRoot, "needs root and unshare --pid"))
struct ControlSecurityTests {
  @Test("the socket is 0600: another uid is refused (exit 4)")
  func otherUserRefused() throws {
    let (services, ibex, pid) = try startTree()
    let info = try FileManager.default.attributesOfItem(atPath: services.root + "/run/ibex/control")
    #expect((info[.posixPermissions] as? Int) == 0o600)
    let refused = try client(services, ["status"], user: (65534, 65534))
    #expect(refused.status == 4)
    #expect(refused.stderr.contains("Permission denied"))
    kill(pid, SIGTERM)
    #expect(ibex.finish().status == 0)
  }

  @Test("with IBEX_CONTROL_GROUP, the group may read status and checks but not control")
  func readOnlyGroup() throws {
    let (services, ibex, pid) = try startTree(environment: ["IBEX_CONTROL_GROUP": "65534"])
    let info = try FileManager.default.attributesOfItem(atPath: services.root + "/run/ibex/control")
    #expect((info[.posixPermissions] as? Int) == 0o660)
    #expect(try client(services, ["status"], user: (65534, 65534)).status == 0)
    #expect(try client(services, ["check"], user: (65534, 65534)).status == 0)
    let stop = try client(services, ["stop", "web"], user: (65534, 65534))
    #expect(stop.status == 4)
    #expect(stop.stderr == "ibex: fatal: this connection may only ask for status and checks\n")
    #expect(try client(services, ["status"], user: (1234, 1234)).status == 4)
    kill(pid, SIGTERM)
    #expect(ibex.finish().status == 0)
  }

  @Test("garbage, a 10 MB line and a silent half-open connection do not disturb a concurrent status")
  func hostileClients() throws {
    let (services, ibex, pid) = try startTree()
    let socket = services.root + "/run/ibex/control"
    let python = """
      import socket, subprocess, sys
      def connect():
          s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); return s
      silent = connect()                      # half-open: says nothing
      g = connect(); g.sendall(b"\\x00\\xff garbage\\n"); print(g.recv(4096).decode().strip())
      big = connect()
      try:
          big.sendall(b"v1 status " + b"x" * (10 << 20))
      except OSError:
          pass
      print(big.recv(4096).decode().strip())
      # The silent connection is still open: status must answer as usual.
      status = subprocess.run(sys.argv[2:], capture_output=True, text=True)
      print(status.returncode, "web" in status.stdout)
      """
    let hostile = try runCommand(
      ["/usr/bin/python3", "-c", python, socket, ibexBinary, "status", "--json", "--root", services.root], timeout: 60)
    let lines = hostile.stdout.split(separator: "\n")
    #expect(lines.count == 3, "output: \(hostile.stdout) \(hostile.stderr)")
    #expect(lines.first?.contains("\"code\":7") == true)
    #expect(lines.dropFirst().first?.contains("request longer than 4096 bytes") == true)
    #expect(lines.last == "0 True")
    kill(pid, SIGTERM)
    #expect(ibex.finish().status == 0)
  }
}
