import Foundation
import Glibc
import Testing

/// A directory of links to the shipped ibex made by `ibex install-links`, and a scratch root.
struct S6Links {
  let directory = makeScratchDirectory()
  var bin: String { directory + "/bin" }
  var root: String { directory + "/root" }

  init() throws {
    let result = try runCommand([ibexBinary, "install-links", directory + "/bin"])
    #expect(result.status == 0, "\(result.stderr)")
    try FileManager.default.createDirectory(atPath: root + "/run/s6/container_environment", withIntermediateDirectories: true)
  }

  func path(_ name: String) -> String { bin + "/" + name }

  func contenv(_ name: String, _ value: String) throws {
    try value.write(toFile: root + "/run/s6/container_environment/" + name, atomically: true, encoding: .utf8)
  }

  /// Runs link `name` with IBEX_ROOT set (and PATH).
  func run(_ name: String, _ arguments: [String], environment: [String: String] = [:], root: String? = nil) throws -> CommandResult {
    let base = ["IBEX_ROOT": root ?? self.root, "PATH": "/usr/bin:/bin"]
    return try runCommand([path(name)] + arguments, environment: base.merging(environment) { $1 })
  }
}

@Suite("s6-overlay commands as links to ibex")
struct S6CommandTests {
  @Test("install-links creates every name, is idempotent, and refuses to replace a file without --force")
  func installLinks() throws {
    let links = try S6Links()
    for name in ["with-contenv", "printcontenv", "s6-svc", "s6-rc", "halt", "s6-log", "logutil-service"] {
      #expect((try? FileManager.default.destinationOfSymbolicLink(atPath: links.path(name))) != nil, "\(name)")
    }
    let again = try runCommand([ibexBinary, "install-links", links.bin])
    #expect(again.status == 0)
    #expect(again.stdout.contains("unchanged \(links.bin)/s6-svc\n"))
    try FileManager.default.removeItem(atPath: links.path("s6-svc"))
    try "x".write(toFile: links.path("s6-svc"), atomically: true, encoding: .utf8)
    let refused = try runCommand([ibexBinary, "install-links", links.bin])
    #expect(refused.status == 1)
    #expect(refused.stderr.contains("exists and is not a link"))
    let forced = try runCommand([ibexBinary, "install-links", links.bin, "--force", "--target", "/usr/bin/ibex"])
    #expect(forced.status == 0)
    #expect(try FileManager.default.destinationOfSymbolicLink(atPath: links.path("s6-svc")) == "/usr/bin/ibex")
  }

  @Test("with-contenv keeps PATH, drops the rest and loads the snapshot; S6_KEEP_ENV passes everything")
  func withContenv() throws {
    let links = try S6Links()
    try links.contenv("FOO", "bar\n")
    try links.contenv("TWO", "a\nb\n\n")
    try links.contenv("EMPTY", "")
    try links.contenv(".hidden", "x\n")
    let result = try links.run("with-contenv", ["/usr/bin/env"], environment: ["SECRET": "s"])
    #expect(result.status == 0)
    #expect(result.stdout == "PATH=/usr/bin:/bin\nFOO=bar\nTWO=a\nb\n\n")
    let kept = try links.run("with-contenv", ["/usr/bin/env"], environment: ["S6_KEEP_ENV": "1", "SECRET": "s"])
    #expect(kept.stdout.contains("SECRET=s\n"))
    #expect(!kept.stdout.contains("FOO="))
    let missing = try links.run("with-contenv", ["/usr/bin/env"], root: links.directory + "/nowhere")
    #expect(missing.status == 111)
    #expect(missing.stderr.hasPrefix("with-contenv: fatal: unable to read the container environment"))
    let notFound = try links.run("with-contenv", ["/no/such/program"])
    #expect(notFound.status == 127)
  }

  @Test("with-contenv as a shebang interpreter: #!/command/with-contenv sh, with busybox sh")
  func shebang() throws {
    let links = try S6Links()
    try links.contenv("FOO", "from-snapshot\n")
    let shells = links.directory + "/shells"
    try FileManager.default.createDirectory(atPath: shells, withIntermediateDirectories: true)
    try FileManager.default.createSymbolicLink(atPath: shells + "/sh", withDestinationPath: "/bin/busybox")
    let script = links.directory + "/script"
    try "#!\(links.path("with-contenv")) sh\necho \"FOO=$FOO HOME=${HOME-unset} args=$*\"\n".write(
      toFile: script, atomically: true, encoding: .utf8)
    chmod(script, 0o755)
    let result = try runCommand([script, "a", "b"], environment: ["IBEX_ROOT": links.root, "PATH": shells + ":/usr/bin:/bin", "HOME": "/root"])
    #expect(result.status == 0, "\(result.stderr)")
    #expect(result.stdout == "FOO=from-snapshot HOME=unset args=a b\n")
  }

  @Test("printcontenv (T-10): the value and one newline / unknown: silent 1 / no argument: 100")
  func printcontenv() throws {
    let links = try S6Links()
    try links.contenv("FOO", "bar\n")
    let found = try links.run("printcontenv", ["FOO"])
    #expect(found.status == 0)
    #expect(found.stdout == "bar\n")
    let unknown = try links.run("printcontenv", ["NOPE"])
    #expect(unknown.status == 1)
    #expect(unknown.stdout.isEmpty && unknown.stderr.isEmpty)
    #expect(try links.run("printcontenv", []).status == 100)
    let live = try links.run("printcontenv", ["LIVE"], environment: ["S6_KEEP_ENV": "1", "LIVE": "yes"])
    #expect(live.stdout == "yes\n")
    #expect(try links.run("printcontenv", ["LIVE"], environment: ["S6_KEEP_ENV": "1", "LIVE": ""]).status == 1)
    // The subcommand form works too.
    let subcommand = try runCommand([ibexBinary, "printcontenv", "FOO"], environment: ["IBEX_ROOT": links.root])
    #expect(subcommand.stdout == "bar\n")
  }

  @Test("s6-setuidgid sets uid, gid and groups; unknown account exits 1", .enabled(if: isRoot, "needs root"))
  func setuidgid() throws {
    let links = try S6Links()
    let numeric = try links.run("s6-setuidgid", ["1234:5678", "/bin/sh", "-c", "id -u; id -g; id -G"])
    #expect(numeric.status == 0, "\(numeric.stderr)")
    #expect(numeric.stdout == "1234\n5678\n5678\n")
    let nobody = try links.run("s6-setuidgid", ["nobody", "/bin/sh", "-c", "id -u"])
    #expect(nobody.stdout == "65534\n")
    let unknown = try links.run("s6-setuidgid", ["no-such-user-here", "/bin/true"])
    #expect(unknown.status == 1)
    #expect(unknown.stderr == "s6-setuidgid: fatal: unknown account: no-such-user-here\n")
    let env = try links.run("s6-envuidgid", ["-D", "7:8:9", "no-such-user-here", "/bin/sh", "-c", "echo $UID $GID $GIDLIST"])
    #expect(env.stdout == "7 8 9\n")
    let applied = try links.run("s6-applyuidgid", ["-u", "4321", "-g", "8765", "-G", "", "/bin/sh", "-c", "id -u; id -g"])
    #expect(applied.stdout == "4321\n8765\n")
  }

  @Test("s6-setuidgid refuses to change the user of a non-root caller with 111", .enabled(if: isRoot, "needs root"))
  func setuidgidNotRoot() throws {
    let links = try S6Links()
    let result = try runCommand(
      ["/usr/bin/setpriv", "--reuid=1000", "--regid=1000", "--clear-groups", links.path("s6-setuidgid"), "0:0", "/bin/true"],
      environment: ["PATH": "/usr/bin:/bin"])
    #expect(result.status == 111)
    #expect(result.stderr.contains("only root can change its user"))
  }

  @Test("with-retries runs up to n attempts, stops at the first success, exits with the last code")
  func withRetries() throws {
    let links = try S6Links()
    let counter = links.directory + "/count"
    let failing = try links.run("with-retries", ["-n", "4", "-t", "0", "/bin/sh", "-c", "echo x >> \(counter); exit 3"])
    #expect(failing.status == 3)
    #expect(fileContents(counter) == "x\nx\nx\nx\n")
    try FileManager.default.removeItem(atPath: counter)
    let second = try links.run("with-retries", ["/bin/sh", "-c", "echo x >> \(counter); [ $(wc -l < \(counter)) -ge 2 ]"])
    #expect(second.status == 0)
    #expect(fileContents(counter) == "x\nx\n")
    let slow = try links.run("with-retries", ["-n", "2", "-t", "100", "/bin/sleep", "10"])
    #expect(slow.status == 137)
  }

  @Test("s6-notifyoncheck: PROG keeps the pid; a newline reaches the notification fd once ./data/check succeeds")
  func notifyOnCheck() throws {
    let links = try S6Links()
    let service = links.directory + "/svc"
    try FileManager.default.createDirectory(atPath: service + "/data", withIntermediateDirectories: true)
    try "#!/bin/sh\n[ -e \(service)/go ]\n".write(toFile: service + "/data/check", atomically: true, encoding: .utf8)
    chmod(service + "/data/check", 0o755)
    try "3\n".write(toFile: service + "/notification-fd", atomically: true, encoding: .utf8)
    let ready = service + "/ready"
    let command = try RunningCommand(
      ["/bin/sh", "-c", "cd \(service) && exec 3>\(ready) && exec \(links.path("s6-notifyoncheck")) -s 0 -w 20 -n 0 /bin/sleep 30"],
      environment: ["PATH": "/usr/bin:/bin"])
    #expect(waitUntil(timeout: 10) { fileContents("/proc/\(command.pid)/comm") == "sleep\n" })
    usleep(200_000)
    #expect(fileContents(ready).isEmpty)
    _ = FileManager.default.createFile(atPath: service + "/go", contents: nil)
    #expect(waitUntil(timeout: 10) { fileContents(ready) == "\n" })
    command.signal(SIGTERM)
    _ = command.finish()
    let missing = try links.run("s6-notifyoncheck", ["/bin/true"])
    #expect(missing.status == 111)
  }
}

@Suite("s6 supervision commands against ibex init", .enabled(if: canUnshare, "needs unshare --pid"))
struct S6SupervisionTests {
  private func start() throws -> (ServiceRoot, S6Links, RunningCommand, Int32) {
    let services = try ServiceRoot([
      "web.service": "[Service]\nExecStart=/bin/sleep 100000\n",
      "slow.service": "[Service]\nType=notify\nExecStart=/bin/sleep 100000\nTimeoutStartSec=infinity\n",
    ])
    let links = try S6Links()
    let ibex = try services.start()
    let pid = try #require(services.ibexPID(ibex))
    #expect(waitUntil(timeout: 20) { (try? links.run("s6-svstat", ["-o", "up", "/run/service/web"], root: services.root).stdout) == "true\n" })
    return (services, links, ibex, pid)
  }

  @Test("s6-svc -d / -u / -r, with waits; s6-svstat shows s6's format")
  func svcAndSvstat() throws {
    let (services, links, ibex, pid) = try start()
    func run(_ name: String, _ arguments: [String]) throws -> CommandResult { try links.run(name, arguments, root: services.root) }
    let status = try run("s6-svstat", ["/run/service/web"])
    #expect(status.status == 0)
    #expect(status.stdout.hasPrefix("up (pid "), "\(status.stdout)")
    #expect(status.stdout.hasSuffix(", ready 0 seconds\n") || status.stdout.contains(" seconds, ready "))
    let firstPID = try run("s6-svstat", ["-p", "web"]).stdout

    #expect(try run("s6-svc", ["-d", "-wd", "-T", "10000", "/run/service/web"]).status == 0)
    let down = try run("s6-svstat", ["/run/service/web"])
    #expect(down.stdout == "down (signal SIGTERM) 0 seconds, normally up, ready 0 seconds\n")
    #expect(try run("s6-svstat", ["-o", "up,pid,exitcode,signal"]+["web"]).stdout == "false -1 -1 SIGTERM\n")

    #expect(try run("s6-svc", ["-u", "-wu", "-T", "10000", "web"]).status == 0)
    let upPID = try run("s6-svstat", ["-p", "web"]).stdout
    #expect(upPID != firstPID && upPID != "-1\n")
    #expect(try run("s6-svc", ["-r", "-wR", "-T", "10000", "/run/s6-rc/servicedirs/web"]).status == 0)
    #expect(try run("s6-svstat", ["-p", "web"]).stdout != upPID)

    let unknown = try run("s6-svc", ["-u", "/run/service/nope"])
    #expect(unknown.status == 102)
    #expect(try run("s6-svstat", ["nope"]).status == 1)
    #expect(try run("s6-svc", ["-Z", "web"]).status == 100)
    kill(pid, SIGTERM)
    #expect(ibex.finish().status == 0)
  }

  @Test("s6-svwait -U exits 0 when ready, 99 on timeout")
  func svwait() throws {
    let (services, links, ibex, pid) = try start()
    #expect(try links.run("s6-svwait", ["-U", "-t", "10000", "/run/service/web"], root: services.root).status == 0)
    let timeout = try links.run("s6-svwait", ["-U", "-t", "200", "/run/service/slow"], root: services.root)
    #expect(timeout.status == 99)
    #expect(timeout.stderr == "s6-svwait: fatal: timed out\n")
    #expect(try links.run("s6-svwait", ["-o", "-U", "-t", "10000", "web", "slow"], root: services.root).status == 0)
    kill(pid, SIGTERM)
    #expect(ibex.finish().status == 0)
  }

  @Test("s6-rc -d/-u change, list, unknown name 3, timeout 2")
  func rc() throws {
    let (services, links, ibex, pid) = try start()
    func run(_ arguments: [String]) throws -> CommandResult { try links.run("s6-rc", arguments, root: services.root) }
    #expect(try run(["-d", "change", "web"]).status == 0)
    #expect(try run(["-da", "list"]).stdout.contains("web\n"))
    #expect(try run(["-u", "change", "web"]).status == 0)
    #expect(try run(["-a", "list"]).stdout.contains("web\n"))
    let unknown = try run(["-u", "change", "nope"])
    #expect(unknown.status == 3)
    #expect(try run(["-t", "200", "start", "slow"]).status == 2)
    #expect(try run(["help"]).status == 0)
    kill(pid, SIGTERM)
    #expect(ibex.finish().status == 0)
  }

  @Test("halt: ibex exits with the code in the exitcode file; reboot 129")
  func halt() throws {
    let (services, links, ibex, _) = try start()
    let results = services.root + "/run/s6-linux-init-container-results"
    try FileManager.default.createDirectory(atPath: results, withIntermediateDirectories: true)
    try "42\n".write(toFile: results + "/exitcode", atomically: true, encoding: .utf8)
    #expect(try links.run("halt", [], root: services.root).status == 0)
    #expect(ibex.finish().status == 42)

    let (services2, links2, ibex2, _) = try start()
    #expect(try links2.run("reboot", [], root: services2.root).status == 0)
    #expect(ibex2.finish().status == 129)
  }

  @Test("halt from a user ibex does not let in exits 100", .enabled(if: isRoot, "needs root"))
  func haltNotPermitted() throws {
    let (services, links, ibex, pid) = try start()
    let result = try runCommand(
      ["/usr/bin/setpriv", "--reuid=1000", "--regid=1000", "--clear-groups", links.path("halt")],
      environment: ["IBEX_ROOT": services.root])
    #expect(result.status == 100)
    #expect(result.stderr.hasPrefix("halt: fatal: "))
    kill(pid, SIGTERM)
    #expect(ibex.finish().status == 0)
  }
}
