import Foundation
import Glibc
import Testing

@Suite("ibex init: starting", .enabled(if: canUnshare, "needs unshare --pid"))
struct InitStartTests {
  @Test("services start in dependency order, each after what it requires is ready (sd_notify, notification fd)")
  func dependencyOrder() throws {
    let services = try ServiceRoot([
      "db.service": """
        [Service]
        Type=notify
        ExecStart=/bin/sh -c 'echo db-start >> $OUT/order; exec /usr/bin/python3 $OUT/notify.py $OUT/order'
        """,
      "app.service": """
        [Unit]
        Requires=db
        [Service]
        NotificationFD=3
        ExecStart=/bin/sh -c 'echo app-start >> $OUT/order; echo >&3; exec sleep 100000'
        """,
      "web.service": recordingService("web", unit: "Requires=app.service"),
    ])
    let ibex = try services.start()
    let pid = try #require(services.ibexPID(ibex))
    #expect(waitUntil(timeout: 20) { services.lines("order").count == 4 })
    #expect(services.lines("order") == ["db-start", "ready", "app-start", "web-start"])
    kill(pid, SIGTERM)
    let result = ibex.finish()
    #expect(result.status == 0)
    #expect(result.stderr.contains("ibex: db: running (pid "))
  }

  @Test("a notification fd (s6 style) gates dependents until the service writes a newline")
  func notificationFD() throws {
    let services = try ServiceRoot([
      "db.service": """
        [Service]
        NotificationFD=3
        ExecStart=/bin/sh -c 'sleep 0.3; echo db-ready >> $OUT/order; echo >&3; exec sleep 100000'
        """,
      "app.service": recordingService("app", unit: "Requires=db"),
    ])
    let ibex = try services.start()
    let pid = try #require(services.ibexPID(ibex))
    #expect(waitUntil(timeout: 20) { services.lines("order").count == 2 })
    #expect(services.lines("order") == ["db-ready", "app-start"])
    kill(pid, SIGTERM)
    #expect(ibex.finish().status == 0)
  }

  @Test("a health check withholds readiness until it passes, and restarts the service when it then fails")
  func health() throws {
    let services = try ServiceRoot([
      "db.service": """
        [Service]
        ExecStart=/bin/sh -c 'echo db-start >> $OUT/order; exec sleep 100000'
        [Health]
        Exec=/bin/test -e $OUT/healthy
        IntervalSec=100ms
        Retries=2
        StartPeriodSec=1h
        """,
      "app.service": recordingService("app", unit: "Requires=db"),
    ])
    let ibex = try services.start()
    let pid = try #require(services.ibexPID(ibex))
    #expect(waitUntil(timeout: 20) { services.lines("order") == ["db-start"] })
    usleep(500_000)  // several failing checks: app must still wait
    #expect(services.lines("order") == ["db-start"])
    #expect(FileManager.default.createFile(atPath: services.dir + "/healthy", contents: nil))
    #expect(waitUntil(timeout: 20) { services.lines("order") == ["db-start", "app-start"] })
    try FileManager.default.removeItem(atPath: services.dir + "/healthy")
    #expect(waitUntil(timeout: 20) { services.lines("order").filter { $0 == "db-start" }.count == 2 })
    kill(pid, SIGTERM)
    let result = ibex.finish()
    #expect(result.stderr.contains("db: unhealthy after 2 failed checks: restarting"))
  }

  @Test("a oneshot runs to completion before its dependents; Environment=, EnvironmentFile= and ${} reach it")
  func oneshotAndEnvironment() throws {
    let services = try ServiceRoot([
      "setup.service": """
        [Service]
        Type=oneshot
        Environment=GREETING=hello
        EnvironmentFile=$OUT/env
        EnvironmentFile=-$OUT/missing
        ExecStart=/bin/sh -c 'echo "$GREETING $TARGET" >> $OUT/order'
        ExecStart=/bin/echo ${GREETING}-second
        """,
      "app.service": recordingService("app", unit: "After=setup"),
    ])
    try "# env file\nTARGET=\"world\"\n".write(toFile: services.dir + "/env", atomically: true, encoding: .utf8)
    let ibex = try services.start()
    let pid = try #require(services.ibexPID(ibex))
    #expect(waitUntil(timeout: 20) { services.lines("order").count == 2 })
    #expect(services.lines("order") == ["hello world", "app-start"])
    kill(pid, SIGTERM)
    let result = ibex.finish()
    #expect(result.stdout.contains("hello-second\n"))
    #expect(result.stderr.contains("setup: done"))
  }
}

@Suite("ibex init: restarts", .enabled(if: canUnshare, "needs unshare --pid"))
struct InitRestartTests {
  @Test("a crashing service is restarted with exponential backoff up to RestartMaxDelaySec")
  func backoff() throws {
    let services = try ServiceRoot([
      "crash.service": """
        [Service]
        ExecStart=/bin/sh -c 'echo start >> $OUT/starts; exit 1'
        Restart=on-failure
        RestartSec=50ms
        RestartMaxDelaySec=200ms
        StartLimitBurst=0
        """
    ])
    let ibex = try services.start()
    let pid = try #require(services.ibexPID(ibex))
    #expect(waitUntil(timeout: 20) { services.lines("starts").count >= 5 })
    kill(pid, SIGTERM)
    let result = ibex.finish()
    #expect(result.status == 0)
    let delays = result.stderr.split(separator: "\n").filter { $0.contains("crash: restarting in") }.map {
      String($0.split(separator: " ").last!)
    }
    #expect(Array(delays.prefix(4)) == ["50ms", "100ms", "200ms", "200ms"])
  }

  @Test("a crash loop hits StartLimitBurst and the service is marked failed")
  func crashLoop() throws {
    let services = try ServiceRoot([
      "crash.service": """
        [Service]
        ExecStart=/bin/sh -c 'echo start >> $OUT/starts; exit 2'
        Restart=always
        RestartSec=0
        StartLimitBurst=3
        StartLimitIntervalSec=1min
        """
    ])
    let ibex = try services.start()
    let pid = try #require(services.ibexPID(ibex))
    #expect(waitUntil(timeout: 20) { ibex.stderrSoFar.contains("crash: failed: restarted too often (start limit hit)") })
    #expect(services.lines("starts").count == 3)
    kill(pid, SIGTERM)
    #expect(ibex.finish().status == 0)
  }

  @Test("an essential service that fails for good stops the container with its exit code")
  func essential() throws {
    let services = try ServiceRoot([
      "db.service": """
        [Service]
        ExecStart=/bin/sh -c 'sleep 0.2; exit 1'
        Essential=yes
        EssentialExitCode=42
        """,
      "app.service": """
        [Service]
        ExecStart=/bin/sh -c 'trap "echo app-stopped >> $OUT/order; exit 0" TERM; while :; do sleep 0.05; done'
        """,
    ])
    let ibex = try services.start()
    let result = ibex.finish()
    #expect(result.status == 42)
    #expect(result.stderr.contains("db is essential: stopping the container with exit code 42"))
    #expect(services.lines("order") == ["app-stopped"])
  }

  @Test("an essential service that hits its start limit stops the others with their KillSignal at once, not at the bound (issue 12.7)")
  func essentialStartLimit() throws {
    let services = try ServiceRoot([
      "db.service": """
        [Service]
        ExecStart=/bin/sh -c 'exit 3'
        Restart=always
        RestartSec=50ms
        StartLimitBurst=2
        Essential=yes
        """,
      "app.service": """
        [Service]
        ExecStart=/bin/sh -c 'trap "echo app-stopped >> $OUT/order; exit 0" TERM; while :; do sleep 0.05; done'
        """,
    ])
    // A bound far longer than the test waits: only a graceful stop can end ibex in time.
    let ibex = try services.start(environment: ["IBEX_SHUTDOWN_TIMEOUT": "1h"])
    let result = ibex.finish()
    #expect(result.status == 3)
    #expect(result.stderr.contains("db: failed: restarted too often (start limit hit)"))
    #expect(services.lines("order") == ["app-stopped"])
  }
}

@Suite("ibex init: the main command and shutdown", .enabled(if: canUnshare, "needs unshare --pid"))
struct InitShutdownTests {
  @Test("CMD runs once services are up; its exit code is ibex's, after the services are stopped")
  func commandExitCode() throws {
    let services = try ServiceRoot([
      "db.service": """
        [Service]
        NotificationFD=3
        ExecStart=/bin/sh -c 'trap "echo db-stop >> $OUT/order; exit 0" TERM; echo db-start >> $OUT/order; echo >&3; while :; do sleep 0.05; done'
        """
    ])
    let result = try services.start(["/bin/sh", "-c", "echo cmd >> \(services.dir)/order; exit 7"]).finish()
    #expect(result.status == 7)
    #expect(services.lines("order") == ["db-start", "cmd", "db-stop"])
  }

  @Test(
    "docker stop: TERM goes to CMD, and CMD's code (128+N when killed) is the container's",
    arguments: [("trap 'exit 3' TERM;", Int32(3)), ("", Int32(143))] as [(String, Int32)])
  func dockerStop(trap: String, code: Int32) throws {
    let services = try ServiceRoot(["db.service": "[Service]\nExecStart=/bin/sleep 100000\n"])
    // The trap is set before the CMD says it is up, so TERM cannot come first.
    let ibex = try services.start(["/bin/sh", "-c", "\(trap) echo up > \(services.dir)/cmd; while :; do sleep 0.05; done"])
    let pid = try #require(services.ibexPID(ibex))
    #expect(waitUntil(timeout: 20) { FileManager.default.fileExists(atPath: services.dir + "/cmd") })
    kill(pid, SIGTERM)
    #expect(ibex.finish().status == code)
  }

  @Test("services stop in reverse dependency order; one that ignores TERM is killed after TimeoutStopSec")
  func stopOrder() throws {
    let services = try ServiceRoot([
      "db.service": """
        [Service]
        ExecStart=/bin/sh -c 'trap "echo db-stop >> $OUT/order; exit 0" TERM; echo up >> $OUT/up; while :; do sleep 0.05; done'
        """,
      "app.service": """
        [Unit]
        Requires=db
        [Service]
        ExecStart=/bin/sh -c 'trap "echo app-stop >> $OUT/order; exit 0" TERM; echo up >> $OUT/up; while :; do sleep 0.05; done'
        """,
      "stubborn.service": """
        [Unit]
        Requires=app
        [Service]
        TimeoutStopSec=300ms
        ExecStart=/bin/sh -c 'trap "echo stubborn-ignores >> $OUT/order" TERM; echo up >> $OUT/up; while :; do sleep 0.05; done'
        """,
    ])
    let ibex = try services.start()
    let pid = try #require(services.ibexPID(ibex))
    #expect(waitUntil(timeout: 20) { services.lines("up").count == 3 })
    kill(pid, SIGTERM)
    let result = ibex.finish()
    #expect(result.status == 0)
    #expect(services.lines("order") == ["stubborn-ignores", "app-stop", "db-stop"])
    #expect(result.stderr.contains("stubborn: still running 300ms after SIGTERM: sending SIGKILL"))
  }

  @Test("IBEX_SHUTDOWN_TIMEOUT bounds the whole shutdown: what is left is killed")
  func shutdownBound() throws {
    let services = try ServiceRoot([
      "stubborn.service": """
        [Service]
        TimeoutStopSec=1h
        ExecStart=/bin/sh -c 'trap "" TERM; echo up > $OUT/up; while :; do sleep 0.05; done'
        """
    ])
    let ibex = try services.start(environment: ["IBEX_SHUTDOWN_TIMEOUT": "300ms"])
    let pid = try #require(services.ibexPID(ibex))
    #expect(waitUntil(timeout: 20) { FileManager.default.fileExists(atPath: services.dir + "/up") })
    kill(pid, SIGTERM)
    let result = ibex.finish(timeout: 20)
    #expect(result.status == 137)  // not 0: something had to be killed (issue 12.7)
    #expect(result.stderr.contains("shutdown took longer than 300ms: killing what is left"))
  }

  @Test("without CMD, TERM stops everything and ibex exits 0; as /init (argv[0]) it is the same program")
  func asInit() throws {
    let services = try ServiceRoot(["db.service": "[Service]\nExecStart=/bin/sh -c 'echo up > $OUT/up; exec sleep 100000'\n"])
    let link = services.root + "/init"
    try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: ibexBinary)
    let ibex = try RunningCommand(asPID1 + [link, "--root", services.root])
    let pid = try #require(ibex.childPID())
    #expect(waitUntil(timeout: 20) { FileManager.default.fileExists(atPath: services.dir + "/up") })
    kill(pid, SIGTERM)
    let result = ibex.finish()
    #expect(result.status == 0)
    #expect(result.stderr.contains("received SIGTERM: stopping all services"))
  }
}

@Suite("ibex init: privileges", .enabled(if: canUnshare && isRoot, "needs root and unshare --pid"))
struct InitPrivilegeTests {
  @Test("User=, capabilities, NoNewPrivileges=, Limit*= and UMask= are visible in the service's /proc")
  func privileges() throws {
    let services = try ServiceRoot([
      "web.service": """
        [Service]
        User=nobody
        CapabilityBoundingSet=CAP_NET_BIND_SERVICE
        AmbientCapabilities=CAP_NET_BIND_SERVICE
        NoNewPrivileges=yes
        LimitNOFILE=1000:2000
        UMask=0077
        WorkingDirectory=/tmp
        ExecStart=/bin/sh -c 'cat /proc/self/status > $OUT/status; cat /proc/self/limits > $OUT/limits; umask > $OUT/umask; pwd > $OUT/cwd; exec sleep 100000'
        """
    ])
    let ibex = try services.start()
    let pid = try #require(services.ibexPID(ibex))
    #expect(waitUntil(timeout: 20) { FileManager.default.fileExists(atPath: services.dir + "/cwd") && !fileContents(services.dir + "/cwd").isEmpty })
    let status = statusFields(fileContents(services.dir + "/status"))
    #expect(status["Uid"] == "65534\t65534\t65534\t65534")
    #expect(status["CapBnd"] == "0000000000000400")
    #expect(status["CapAmb"] == "0000000000000400")
    #expect(status["CapEff"] == "0000000000000400")
    #expect(status["NoNewPrivs"] == "1")
    #expect(status["SigBlk"] == "0000000000000000")
    #expect(fileContents(services.dir + "/limits").contains(#/Max open files\s+1000\s+2000/#))
    #expect(fileContents(services.dir + "/umask") == "0077\n")
    #expect(fileContents(services.dir + "/cwd") == "/tmp\n")
    kill(pid, SIGTERM)
    #expect(ibex.finish().status == 0)
  }
}

@Suite("ibex init: what a service gets", .enabled(if: canUnshare, "needs unshare --pid"))
struct InitServiceStateTests {
  @Test("only fds 0-2 (stdin /dev/null) plus its notification fd, a clean signal state, its own session")
  func cleanState() throws {
    let services = try ServiceRoot([
      "web.service": """
        [Service]
        NotificationFD=5
        # $$$$ is a literal $$ for the shell: in command lines ibex expands $$ to $ (as systemd).
        ExecStart=/bin/sh -c 'ls -l /proc/self/fd > $OUT/fds; cat /proc/self/status > $OUT/status; cat /proc/$$$$/stat > $OUT/stat; echo >&5; exec sleep 100000'
        """
    ])
    let ibex = try services.start()
    let pid = try #require(services.ibexPID(ibex))
    #expect(waitUntil(timeout: 20) { (try? runCommand([ibexBinary, "check", "--root", services.root]).status) == 0 })
    // ls -l: "lrwx... N -> target"; fd 3 is ls's own directory.
    let fds = fileContents(services.dir + "/fds").split(separator: "\n").compactMap { line -> String? in
      let words = line.split(separator: " ")
      guard let arrow = words.firstIndex(of: "->"), arrow > 0 else { return nil }
      return "\(words[arrow - 1])=\(words[arrow + 1])"
    }
    #expect(fds.first == "0=/dev/null")
    #expect(fds.map { $0.split(separator: "=")[0] } == ["0", "1", "2", "3", "5"])
    let status = statusFields(fileContents(services.dir + "/status"))
    #expect(status["SigBlk"] == "0000000000000000")
    #expect(status["SigIgn"] == "0000000000000000")
    let stat = fileContents(services.dir + "/stat").split(separator: " ")
    #expect(stat.count > 5 && stat[0] == stat[5], "the service leads its own session")
    kill(pid, SIGTERM)
    #expect(ibex.finish().status == 0)
  }
}

@Suite("ibex init: bad configuration starts nothing")
struct InitConfigErrorTests {
  @Test(
    "the error names the file and line; exit 100; no service ran",
    arguments: [
      ("bad.service", "[Service]\nExecStart=/bin/true\nRestrat=always\n", "bad.service:3: unknown directive 'Restrat' in [Service] (did you mean 'Restart'?)"),
      ("bad.service", "[Unit]\nRequires=ghost\n[Service]\nExecStart=/bin/true\n", "bad.service:2: Requires=ghost: no service named 'ghost'"),
      ("bad.service", "[Service]\nExecStart=/nonexistent/daemon --flag\n", "bad.service:2: /nonexistent/daemon: no such executable"),
      ("bad.service", "[Service]\nExecStart=/bin/true\nUser=ghost-user\n", "bad.service:3: User=ghost-user: no such user in /etc/passwd"),
      ("bad.service", "[Service]\nExecStart=/bin/true\nGroup=ghost-group\n", "bad.service:3: Group=ghost-group: no such group in /etc/group"),
      ("bad.service", "[Service]\nSupplementaryGroups=ghost-group\nExecStart=/bin/true\n", "bad.service:2: SupplementaryGroups=ghost-group: no such group in /etc/group"),
      // The cycle is reported at the After= that closes it (bad's line 3 or good's line 2).
      ("bad.service", "[Unit]\nDescription=x\nAfter=good\n[Service]\nExecStart=/bin/true\n", "dependency cycle: "),
      ("bad.service", "[Unit]\nRequires=godo\n[Service]\nExecStart=/bin/true\n", "bad.service:2: Requires=godo: no service named 'godo' (did you mean 'good'?)"),
      ("bad.service", "[Service]\nExecStart=/etc/passwd\n", "bad.service:2: /etc/passwd is not executable (mode 0644): chmod +x it"),
      ("bad.txt", "", "bad.txt: not a service file (service files end in .service, timers in .timer; drop-ins go in NAME.service.d/)"),
    ] as [(String, String, String)])
  func refused(file: String, text: String, message: String) throws {
    let services = try ServiceRoot([
      "good.service": "[Unit]\nAfter=bad\n[Service]\nExecStart=/bin/sh -c 'touch $OUT/started; exec sleep 100000'\n",
      file: text,
    ])
    let isCycle = message.hasPrefix("dependency cycle")
    if !isCycle {
      try services.write("good.service", "[Service]\nExecStart=/bin/sh -c 'touch $OUT/started; exec sleep 100000'\n")
    }
    let result = try services.start(pid1: false).finish()
    #expect(result.status == 100)
    #expect(result.stderr.contains(message), "stderr: \(result.stderr)")
    if isCycle {
      #expect(result.stderr.contains("bad.service:3: dependency cycle") || result.stderr.contains("good.service:2: dependency cycle"))
    }
    #expect(result.stderr.contains("ibex: nothing was started: fix the service files and start again"))
    #expect(!FileManager.default.fileExists(atPath: services.dir + "/started"))
  }

  @Test("every error of the load is reported, in file and line order")
  func everyError() throws {
    let services = try ServiceRoot([
      "a.service": "[Service]\nExecStart=/bin/true\nRestrat=always\nUser=ghost-user\nTimeoutStopSec=soon\n",
      "b.service": "[Unit]\nRequires=ghost\n[Service]\nExecStart=/nonexistent/one\nExecStartPre=/nonexistent/two\n",
    ])
    let result = try services.start(pid1: false).finish()
    #expect(result.status == 100)
    let prefix = "ibex: fatal: \(services.root)/etc/ibex/services/"
    let errors = result.stderr.split(separator: "\n").filter { $0.hasPrefix(prefix) }.map { $0.dropFirst(prefix.count) }
    // a.service's bad lines stop its checks (no user check yet); b.service is checked in full.
    #expect(
      errors.map { $0.split(separator: ":").prefix(2).joined(separator: ":") } == [
        "a.service:3", "a.service:5", "b.service:4", "b.service:5",
      ], "stderr: \(result.stderr)")
    #expect(result.stderr.contains("ibex: nothing was started: fix the service files and start again"))
  }

  @Test("an editor's backup and swap files are ignored with a warning", arguments: ["web.service~", ".web.service.swp", "#web.service#", "web.service.orig"])
  func editorLeftovers(name: String) throws {
    let services = try ServiceRoot([
      "web.service": "[Service]\nType=oneshot\nExecStart=/bin/sh -c 'echo ran > $OUT/ran'\n",
      name: "[Service]\nExecStart=/nonexistent\n",
    ])
    let result = try services.start(["/bin/true"], pid1: false).finish()
    #expect(result.status == 0, "stderr: \(result.stderr)")
    #expect(result.stderr.contains("warning: \(services.root)/etc/ibex/services/\(name): ignored (an editor's backup or swap file)"))
    #expect(fileContents(services.dir + "/ran") == "ran\n")
  }

  @Test("nothing to run and no command: exit 100 saying what was looked for", arguments: ["missing-root", "no-directory", "empty"])
  func nothingToRun(setup: String) throws {
    let services = try ServiceRoot([:])
    var root = services.root
    switch setup {
    case "missing-root": root += "/does/not/exist"
    case "no-directory": try FileManager.default.removeItem(atPath: root + "/etc/ibex/services")
    default: break
    }
    let result = try runCommand([ibexBinary, "init", "--root", root])
    #expect(result.status == 100, "stderr: \(result.stderr)")
    let found = [
      "missing-root": "\(root): no such directory",
      "no-directory": "\(root)/etc/ibex/services does not exist",
      "empty": "\(root)/etc/ibex/services has no NAME.service or NAME.timer files",
    ][setup]!
    if setup == "missing-root" {
      #expect(result.stderr.contains("ibex: fatal: \(found)"), "stderr: \(result.stderr)")
      #expect(!FileManager.default.fileExists(atPath: root), "nothing was created")
    } else {
      #expect(result.stderr.contains("ibex: fatal: nothing to run: \(found)"), "stderr: \(result.stderr)")
      #expect(result.stderr.contains("give a command (ibex init -- CMD ARGS)"))
    }
  }

  @Test("a second ibex init on the same root is refused with exit 111; the first keeps running")
  func secondSupervisor() throws {
    let services = try ServiceRoot([
      "web.service": "[Service]\nExecStart=/bin/sh -c 'echo start >> $OUT/starts; exec sleep 100000'\n"
    ])
    let first = try services.start()
    #expect(waitUntil(timeout: 20) { services.lines("starts").count == 1 })
    let second = try services.start().finish()
    #expect(second.status == 111, "stderr: \(second.stderr)")
    #expect(second.stderr.contains("another ibex init is already running with this root (it holds \(services.root)/run/ibex/lock)"))
    #expect(services.lines("starts").count == 1, "the second started no service")
    let status = try client(services, ["status"])
    #expect(status.status == 0 && status.stdout.contains("web"), "the first still answers: \(status.stderr)")
    kill(services.ibexPID(first)!, SIGTERM)
    #expect(first.finish().status == 0)
  }

  @Test("drop-ins in NAME.service.d/*.conf override the main file")
  func dropIns() throws {
    let services = try ServiceRoot([
      "web.service": "[Service]\nExecStart=/bin/false\n",
      "web.service.d/10-command.conf": "[Service]\nExecStart=\nExecStart=/bin/sh -c 'echo from-drop-in > $OUT/ran'\nType=oneshot\n",
    ])
    let result = try services.start(["/bin/true"], pid1: false).finish()
    #expect(result.status == 0)
    #expect(fileContents(services.dir + "/ran") == "from-drop-in\n")
  }
}
