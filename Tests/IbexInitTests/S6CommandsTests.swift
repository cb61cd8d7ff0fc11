import IbexConfig
import IbexCore
import IbexLog
import IbexRuntime
import Testing

@testable import IbexInit

@Suite("s6 commands: option parsing")
struct S6OptionTests {
  private func letters(_ words: [String], flags: String, values: String = "") throws -> ([String], [String]) {
    var options = ShortOptions(words, flags: flags, values: values)
    var seen: [String] = []
    while let (letter, value) = try options.next() { seen.append(String(letter) + (value.map { "=" + $0 } ?? "")) }
    return (seen, options.operands)
  }

  @Test("letters group, a value follows in the same word or is the next word, options end at the first operand")
  func grouping() throws {
    #expect(try letters(["-uwU", "dir"], flags: "ud", values: "w") == (["u", "w=U"], ["dir"]))
    #expect(try letters(["-T500", "-wd", "a", "b"], flags: "d", values: "wT") == (["T=500", "w=d"], ["a", "b"]))
    #expect(try letters(["-n", "3", "-t", "0", "prog", "-n"], flags: "", values: "nt") == (["n=3", "t=0"], ["prog", "-n"]))
    #expect(try letters(["--", "-u"], flags: "u") == ([], ["-u"]))
    #expect(try letters(["-", "x"], flags: "u") == ([], ["-", "x"]))
  }

  @Test("an unknown letter or a missing value is a usage error")
  func errors() {
    #expect(throws: S6UsageError("unknown option -x")) { try letters(["-x"], flags: "u") }
    #expect(throws: S6UsageError("option -t needs a value")) { try letters(["-t"], flags: "", values: "t") }
  }

  @Test("with-retries: defaults 3 attempts of 500 ms; -n 0 still runs once")
  func withRetries() throws {
    #expect(try WithRetries.parse(["prog"]) == WithRetries.Options(attempts: 3, milliseconds: 500, programIndex: 0))
    #expect(try WithRetries.parse(["-n", "5", "-t0", "prog", "-x"]) == WithRetries.Options(attempts: 5, milliseconds: 0, programIndex: 3))
    #expect(try WithRetries.parse(["-n0", "p"]).attempts == 1)
    #expect(throws: S6UsageError("no program given")) { try WithRetries.parse(["-n", "2"]) }
    #expect(throws: S6UsageError("option -t needs a number, not 'x'")) { try WithRetries.parse(["-t", "x", "p"]) }
  }

  @Test("s6-notifyoncheck: s6's defaults and every option")
  func notifyOnCheck() throws {
    #expect(try NotifyOnCheck.parse(["prog"]) == NotifyOnCheck.Options(programIndex: 0))
    let all = try NotifyOnCheck.parse(["-d", "-3", "5", "-s", "1", "-T", "2", "-t", "3", "-w", "4", "-n", "0", "-c", "true", "p"])
    #expect(all == NotifyOnCheck.Options(
      doubleFork: true, fd: 5, initialSleep: 1, globalTimeout: 2, localTimeout: 3, waitingTime: 4, attempts: 0, command: "true",
      programIndex: 15))
    #expect(throws: S6UsageError("the notification fd must be 3 or more")) { try NotifyOnCheck.parse(["-3", "1", "p"]) }
    #expect(NotifyOnCheck.parseNotificationFD(" 3\n") == 3)
    #expect(NotifyOnCheck.parseNotificationFD("2") == nil)
    #expect(NotifyOnCheck.parseNotificationFD("x") == nil)
  }

  @Test("s6-rc: change with -u/-d, start/stop synonyms, list, help; -p is refused")
  func rc() throws {
    var up = SupervisionCommands.RCRequest()
    up.command = .change
    up.names = ["web"]
    #expect(try SupervisionCommands.parseRC(["-u", "change", "web"]) == up)
    #expect(try SupervisionCommands.parseRC(["start", "web"]) == up)
    var down = up
    down.down = true
    down.timeout = 5000
    #expect(try SupervisionCommands.parseRC(["-v2", "-t", "5000", "-d", "change", "web"]) == down)
    #expect(try SupervisionCommands.parseRC(["-t", "5000", "stop", "web"]) == down)
    var list = SupervisionCommands.RCRequest()
    list.command = .list
    list.all = true
    list.down = true
    #expect(try SupervisionCommands.parseRC(["-da", "list"]) == list)
    #expect(try SupervisionCommands.parseRC(["help"]).command == .help)
    #expect(throws: S6UsageError("-p (prune) is not supported by ibex")) { try SupervisionCommands.parseRC(["-pu", "change", "x"]) }
    #expect(throws: S6UsageError("unknown command 'frob'")) { try SupervisionCommands.parseRC(["frob"]) }
  }
}

@Suite("s6 commands: container environment, accounts, exit codes")
struct S6LogicTests {
  @Test("with-contenv: PATH kept, the rest dropped; whole file minus one newline; empty file unsets; dotfiles and '=' skipped; snapshot PATH wins")
  func contenv() {
    let current = ["PATH=/bin", "HOME=/root", "SECRET=x"]
    func bytes(_ s: String) -> [UInt8] { Array(s.utf8) }
    let environment = ContainerEnvironment.environment(current: current, files: [
      ("FOO", bytes("bar\n")), ("MULTI", bytes("a\nb\n\n")), ("EMPTY", []), ("NEWLINE", bytes("\n")),
      (".hidden", bytes("x")), ("A=B", bytes("y")), ("DIR", nil), ("NOEOL", bytes("v")),
    ])
    #expect(environment == ["PATH=/bin", "FOO=bar", "MULTI=a\nb\n", "NEWLINE=", "NOEOL=v"])
    #expect(ContainerEnvironment.environment(current: current, files: [("PATH", bytes("/command:/bin\n"))]) == ["PATH=/command:/bin"])
    #expect(ContainerEnvironment.environment(current: ["PATH=/bin"], files: [("PATH", [])]) == [])
    #expect(ContainerEnvironment.environment(current: [], files: []) == [])
  }

  @Test("S6_KEEP_ENV counts when set to anything but empty or 0")
  func keepEnvironment() {
    #expect(!ContainerEnvironment.keepsEnvironment([]))
    #expect(!ContainerEnvironment.keepsEnvironment(["S6_KEEP_ENV=0"]))
    #expect(!ContainerEnvironment.keepsEnvironment(["S6_KEEP_ENV="]))
    #expect(ContainerEnvironment.keepsEnvironment(["S6_KEEP_ENV=1"]))
  }

  private let database = UserDatabase(
    passwd: "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/sbin/nologin\napp:x:1000:1000::/home/app:/bin/sh\n",
    group: "root:x:0:\nwheel:x:10:root,app\nnogroup:x:65534:\napp:x:1000:\naudio:x:29:app\n")

  @Test("s6-setuidgid: a name brings its primary and supplementary groups; uid:gid none; unknown is nil")
  func setuidgid() {
    #expect(AccountCredentials.resolve("app", in: database) == AccountCredentials(uid: 1000, gid: 1000, groups: [1000, 10, 29]))
    #expect(AccountCredentials.resolve("12:34", in: database) == AccountCredentials(uid: 12, gid: 34, groups: []))
    #expect(AccountCredentials.resolve("ghost", in: database) == nil)
    #expect(AccountCredentials.resolve("1:x", in: database) == nil)
  }

  @Test("s6-envuidgid: UID/GID/GIDLIST by mode; -n numeric fallback; -D defaults; unknown without -D is nil")
  func envuidgid() throws {
    let plain = try EnvUidGidRequest.parse(["app", "env"])
    #expect(plain.programIndex == 1)
    #expect(plain.assignments(database) == ["UID=1000", "GID=1000", "GIDLIST=10,29"])
    #expect(try EnvUidGidRequest.parse(["-u", "app", "env"]).assignments(database) == ["UID=1000"])
    #expect(try EnvUidGidRequest.parse(["-g", "wheel", "env"]).assignments(database) == ["GID=10"])
    #expect(try EnvUidGidRequest.parse(["-B", "app:audio", "env"]).assignments(database) == ["UID=1000", "GID=29"])
    #expect(try EnvUidGidRequest.parse(["-B", "app:nope", "env"]).assignments(database) == ["UID=1000", "GID=0"])
    #expect(try EnvUidGidRequest.parse(["-nB", "root:42", "env"]).assignments(database) == ["UID=0", "GID=42"])
    #expect(try EnvUidGidRequest.parse(["ghost", "env"]).assignments(database) == nil)
    let withDefaults = try EnvUidGidRequest.parse(["-D", "5:6:7,8", "ghost", "env", "x"])
    #expect(withDefaults.programIndex == 3)
    #expect(withDefaults.assignments(database) == ["UID=5", "GID=6", "GIDLIST=7,8"])
    #expect(throws: S6UsageError("no program given")) { try EnvUidGidRequest.parse(["app"]) }
  }

  @Test("service directories name services by their last component")
  func names() {
    #expect(serviceName(fromDirectory: "/run/service/web") == "web")
    #expect(serviceName(fromDirectory: "/run/s6-rc/servicedirs/web/") == "web")
    #expect(serviceName(fromDirectory: "web") == "web")
    #expect(S6Commands.basename("/command/with-contenv") == "with-contenv")
  }

  @Test("halt's exit code is the first line of the exitcode file, 0 when missing or invalid")
  func haltCode() {
    #expect(ShutdownCommands.parseExitCode("42\nh\n") == 42)
    #expect(ShutdownCommands.parseExitCode(" 7 ") == 7)
    #expect(ShutdownCommands.parseExitCode("") == 0)
    #expect(ShutdownCommands.parseExitCode("300") == 0)
    #expect(ShutdownCommands.parseExitCode("x") == 0)
  }

  @Test("control failures map to s6's exit codes")
  func exitCodes() {
    #expect(S6ExitCodes.supervision(.unknownService) == 102)
    #expect(S6ExitCodes.supervision(.notRunning) == 111)
    #expect(S6ExitCodes.supervision(.notPermitted) == 100)
    #expect(S6ExitCodes.rc(.unknownService) == 3)
    #expect(S6ExitCodes.rc(.failed) == 1)
    #expect(S6ExitCodes.rc(.timeout) == 2)
    #expect(S6ExitCodes.rc(.notRunning) == 111)
  }

  @Test("logutil-service runs s6-log -b with the script's words, default n20 s1000000 T")
  func logger() {
    #expect(LogUtilities.loggerArguments(script: nil, logDirectory: "/var/log/x") == ["s6-log", "-b", "n20", "s1000000", "T", "/var/log/x"])
    #expect(LogUtilities.loggerArguments(script: " n2  s4096\tt ", logDirectory: "d") == ["s6-log", "-b", "n2", "s4096", "t", "d"])
  }
}

@Suite("s6-svstat formatting")
struct S6SvstatTests {
  let now = WallTime(seconds: 1_700_000_000, nanoseconds: 5)

  @Test("up: pid, seconds, readiness")
  func up() {
    let web = ServiceSnapshot(name: "web", state: "running", pid: 123, uptimeMilliseconds: 45_900, ready: true)
    #expect(web.summary() == "up (pid 123) 45 seconds, ready 45 seconds")
    let starting = ServiceSnapshot(name: "web", state: "starting", pid: 9, uptimeMilliseconds: 1000, ready: false)
    #expect(starting.summary() == "up (pid 9) 1 seconds")
    let stopping = ServiceSnapshot(name: "web", state: "stopping", pid: 9, uptimeMilliseconds: 2000, ready: true)
    #expect(stopping.summary() == "up (pid 9) 2 seconds, want down, ready 2 seconds")
  }

  @Test("down: exit code or signal (name, or number with -n), normally up, want up while restarting")
  func down() {
    let stopped = ServiceSnapshot(name: "web", state: "stopped", lastExit: "exited 0")
    #expect(stopped.summary() == "down (exitcode 0) 0 seconds, normally up, ready 0 seconds")
    let killed = ServiceSnapshot(name: "web", state: "stopped", lastExit: "killed by SIGTERM")
    #expect(killed.summary() == "down (signal SIGTERM) 0 seconds, normally up, ready 0 seconds")
    #expect(killed.summary(numericSignal: true) == "down (signal 15) 0 seconds, normally up, ready 0 seconds")
    let restarting = ServiceSnapshot(name: "web", state: "restarting", lastExit: "exited 3")
    #expect(restarting.summary() == "down (exitcode 3) 0 seconds, normally up, want up, ready 0 seconds")
  }

  @Test("-o fields: s6's values for up and down services")
  func fields() {
    let up = ServiceSnapshot(name: "web", state: "running", pid: 42, uptimeMilliseconds: 3000, ready: true)
    let values = ["up", "wantedup", "normallyup", "ready", "paused", "pid", "pgid", "exitcode", "signal", "signum", "updownfor"]
      .map { up.field($0, now: now) ?? "?" }
    #expect(values == ["true", "true", "true", "true", "false", "42", "42", "-1", "NA", "-1", "3"])
    let down = ServiceSnapshot(name: "web", state: "stopped", lastExit: "killed by SIGKILL")
    #expect(["up", "wantedup", "pid", "exitcode", "signal", "signum"].map { down.field($0, now: now) ?? "?" }
      == ["false", "false", "-1", "-1", "SIGKILL", "9"])
    let exited = ServiceSnapshot(name: "web", state: "failed", lastExit: "exited 2")
    #expect(["exitcode", "signal"].map { exited.field($0, now: now) ?? "?" } == ["2", "NA"])
    #expect(up.field("bogus", now: now) == nil)
  }

  @Test("updownsince is the TAI64N label of the last change")
  func updownsince() {
    #expect(ServiceSnapshot(name: "x", state: "running", pid: 1, uptimeMilliseconds: 3000).field("updownsince", now: now)
      == Timestamp.tai64n(WallTime(seconds: now.seconds - 3, nanoseconds: now.nanoseconds)))
  }

  @Test("wait conditions: up, ready, down, restarted (a new pid)")
  func waits() {
    let before = ServiceSnapshot(name: "web", state: "running", pid: 10, ready: true)
    let again = ServiceSnapshot(name: "web", state: "running", pid: 11, ready: false)
    #expect(S6WaitCondition.up.holds(before, before: nil))
    #expect(!S6WaitCondition.upAndReady.holds(again, before: nil))
    #expect(S6WaitCondition.restarted.holds(again, before: before))
    #expect(!S6WaitCondition.restarted.holds(before, before: before))
    #expect(!S6WaitCondition.restartedAndReady.holds(again, before: before))
    #expect(S6WaitCondition.down.holds(ServiceSnapshot(name: "web", state: "stopped"), before: nil))
    #expect(!S6WaitCondition.down.holds(ServiceSnapshot(name: "web", state: "restarting"), before: nil))
    #expect(S6WaitCondition.up.holds(ServiceSnapshot(name: "init", state: "done"), before: nil))
  }
}
