import Foundation
import Glibc
import Testing

// The fault suite (issue 12, "Trust"): resource exhaustion, blocked readers, hostile files and
// hostile clients against the shipped binary as PID 1. One behaviour per test; every wait has
// a bound, and every test failed before its fix.

/// The descriptor numbers `pid` has open.
private func openDescriptors(_ pid: Int32) -> Set<Int> {
  Set(((try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd")) ?? []).compactMap { Int($0) })
}

/// The `count` lowest descriptor numbers free in `pid`.
private func lowestFree(_ pid: Int32, count: Int) -> [Int] {
  let open = openDescriptors(pid)
  var free: [Int] = []
  var n = 0
  while free.count < count {
    if !open.contains(n) { free.append(n) }
    n += 1
  }
  return free
}

/// Sets the soft open-file limit of a running process (the hard one stays: raising it again
/// would need CAP_SYS_RESOURCE, which a container may lack).
private func setFileLimit(_ pid: Int32, _ limit: Int) throws {
  let result = try runCommand(["/usr/bin/prlimit", "--pid", "\(pid)", "--nofile=\(limit):"])
  #expect(result.status == 0, "prlimit: \(result.stderr)")
}

/// The soft open-file limit of a running process.
private func fileLimit(_ pid: Int32) -> Int {
  let line = fileContents("/proc/\(pid)/limits").split(separator: "\n").first { $0.hasPrefix("Max open files") }
  return line.flatMap { Int($0.split(separator: " ", omittingEmptySubsequences: true)[3]) } ?? 1024
}

private func occurrences(_ text: String, _ needle: String) -> Int { text.components(separatedBy: needle).count - 1 }

@Suite("fault injection: PID 1 never dies, hangs, spins or grants privilege", .enabled(if: canUnshare && isRoot, "needs root and unshare --pid"))
struct FaultTests {
  // MARK: 1. Out of descriptors

  @Test("out of descriptors at boot: the start is undone and retried, ibex stays up and says why")
  func descriptorsAtBoot() throws {
    let services = try ServiceRoot([
      "web.service": "[Unit]\nStartLimitBurst=0\n[Service]\nExecStart=/bin/sh -c 'echo up; exec sleep 100000'\nRestart=always\nRestartSec=100ms\n"
    ])
    // 10 descriptors: ibex's own take 8, so the first of the service's two pipes fits and the
    // second does not (the half-done setup used to crash the retry with SIGILL).
    let ibex = try services.start(wrapper: ["/usr/bin/prlimit", "--nofile=10:10", "--"])
    let pid = try #require(services.ibexPID(ibex))
    #expect(
      waitUntil(timeout: 30) { occurrences(ibex.stderrSoFar, "web: unable to create its output pipes") >= 3 },
      "stderr: \(ibex.stderrSoFar)")
    #expect(kill(pid, 0) == 0, "ibex is still running")
    kill(pid, SIGTERM)
    let result = ibex.finish()
    #expect(result.status == 0, "stderr: \(result.stderr)")
  }

  @Test("out of descriptors when a later service starts: it retries, then runs with its own output once fds are free")
  func descriptorsAtRestart() throws {
    let services = try ServiceRoot([
      "gate.service": "[Service]\nType=oneshot\nExecStart=/bin/sh -c 'echo up > $OUT/gate; while [ ! -e $OUT/go ]; do sleep 0.05; done'\n",
      "late.service": """
        [Unit]
        Requires=gate
        After=gate
        StartLimitBurst=0
        [Service]
        ExecStart=/bin/sh -c 'echo late-out; echo late-err >&2; echo up > $OUT/late; exec sleep 100000'
        Restart=always
        RestartSec=100ms
        """,
    ])
    let ibex = try services.start()
    let pid = try #require(services.ibexPID(ibex))
    #expect(waitUntil(timeout: 20) { !services.lines("gate").isEmpty })
    // Room for exactly one more pipe: late's first pipe is made, its second fails.
    let free = lowestFree(pid, count: 2)
    let limit = fileLimit(pid)
    try setFileLimit(pid, free[1] + 1)
    _ = FileManager.default.createFile(atPath: services.dir + "/go", contents: nil)
    #expect(
      waitUntil(timeout: 30) { occurrences(ibex.stderrSoFar, "late: unable to create its output pipes") >= 2 },
      "stderr: \(ibex.stderrSoFar)")
    #expect(services.lines("late").isEmpty)
    try setFileLimit(pid, limit)
    #expect(waitUntil(timeout: 30) { !services.lines("late").isEmpty }, "stderr: \(ibex.stderrSoFar)")
    kill(pid, SIGTERM)
    let result = ibex.finish()
    #expect(result.status == 0)
    #expect(result.stdout.contains("late | late-out\n"))
    #expect(result.stderr.contains("late | late-err\n"))
  }

  // MARK: 2. A stderr nobody reads

  @Test("ibex's own lines never block on a stderr nobody reads; they are never spliced into a service's line")
  func unreadStandardError() throws {
    let services = try ServiceRoot([
      // 3 MB of lines to stderr: fills the pipe and ibex's buffer for the console.
      "noisy.service": "[Service]\nExecStart=/bin/sh -c 'yes noisy-stderr-line | head -c 3000000 >&2; exec sleep 100000'\n",
      // An event line of ibex's for every restart.
      "flap.service": "[Unit]\nStartLimitBurst=0\n[Service]\nExecStart=/bin/sh -c 'exit 3'\nRestart=always\nRestartSec=0\n",
    ])
    let pipe = Pipe()
    let ibex = try services.start(standardError: pipe.fileHandleForWriting)
    try pipe.fileHandleForWriting.close()
    let pid = try #require(services.ibexPID(ibex))
    // Nobody reads: status still answers and the restarts go on, far past what the pipe and
    // ibex's own queue hold.
    var restarts = 0
    #expect(
      waitUntil(timeout: 60) {
        restarts = (try? statusJSON(services))?["flap"]?["restarts"] as? Int ?? restarts
        return restarts >= 1500
      }, "restarts: \(restarts)")
    // Now read: the backlog drains, then the count of dropped lines comes (before SIGTERM,
    // so that ibex's bounded wait at exit does not cut the backlog short).
    let drained = LockedData()
    let thread = Thread {
      while true {
        let chunk = pipe.fileHandleForReading.availableData
        if chunk.isEmpty { break }
        drained.append(chunk)
      }
      drained.finish()
    }
    thread.start()
    #expect(waitUntil(timeout: 60) { drained.contains("of ibex's own lines were dropped (oldest first)") })
    kill(pid, SIGTERM)
    let result = ibex.finish()
    #expect(result.status == 0)
    #expect(waitUntil(timeout: 30) { drained.isFinished })
    let text = drained.text
    #expect(text.contains("noisy | noisy-stderr-line\n"))
    for line in text.split(separator: "\n") {
      let wellFormed =
        line.hasPrefix("ibex: ") && !line.dropFirst(6).contains("noisy |")
        || line.hasPrefix("noisy | ") && "noisy-stderr-line".hasPrefix(line.dropFirst(8))
      #expect(wellFormed, "spliced line: \(line)")
      if !wellFormed { break }
    }
  }

  // MARK: 3. accept() out of descriptors

  @Test("accept() out of descriptors: one line, no busy loop, and the waiting client is served once fds are free")
  func acceptOutOfDescriptors() throws {
    let services = try ServiceRoot(["web.service": "[Service]\nExecStart=/bin/sleep 100000\n"])
    let ibex = try services.start()
    let pid = try #require(services.ibexPID(ibex))
    #expect(waitUntil(timeout: 20) { (try? client(services, ["check"]).status) == 0 })
    let limit = fileLimit(pid)
    try setFileLimit(pid, lowestFree(pid, count: 1)[0])
    let waiting = try RunningCommand([ibexBinary, "status", "--root", services.root])
    #expect(waitUntil(timeout: 20) { ibex.stderrSoFar.contains("control: unable to accept a connection") }, "stderr: \(ibex.stderrSoFar)")
    try setFileLimit(pid, limit)
    let status = waiting.finish()
    #expect(status.status == 0, "\(status.stderr)")
    #expect(status.stdout.contains("web"))
    kill(pid, SIGTERM)
    let result = ibex.finish()
    #expect(occurrences(result.stderr, "unable to accept") == 1, "stderr: \(result.stderr.prefix(2000))")
  }

  // MARK: 4. FIFOs and devices as configuration

  @Test(
    "a FIFO or device as service file, drop-in or EnvironmentFile= is refused at boot with exit 100, naming it",
    arguments: ["service", "drop-in", "environment", "device"])
  func specialConfigurationFile(kind: String) throws {
    var files = ["web.service": "[Service]\nExecStart=/bin/sleep 100000\n"]
    if kind == "environment" { files["web.service"]! += "EnvironmentFile=$OUT/env\n" }
    let services = try ServiceRoot(files)
    let path: String
    switch kind {
    case "service": path = services.root + "/etc/ibex/services/x.service"
    case "drop-in":
      try FileManager.default.createDirectory(atPath: services.root + "/etc/ibex/services/web.service.d", withIntermediateDirectories: true)
      path = services.root + "/etc/ibex/services/web.service.d/override.conf"
    case "environment": path = services.dir + "/env"
    default: path = services.root + "/etc/ibex/services/x.service"
    }
    if kind == "device" {
      try FileManager.default.createSymbolicLink(atPath: path, withDestinationPath: "/dev/zero")
    } else {
      #expect(mkfifo(path, 0o644) == 0)
    }
    let result = try services.start().finish(timeout: 20)
    #expect(result.status == 100, "stderr: \(result.stderr)")
    #expect(result.stderr.contains(path.hasSuffix("env") ? "EnvironmentFile=" + path : path))
    #expect(result.stderr.contains("not a regular file"))
  }

  @Test("reload with a FIFO among the service files is refused and changes nothing")
  func reloadWithFIFO() throws {
    let services = try ServiceRoot(["web.service": "[Service]\nExecStart=/bin/sleep 100000\n"])
    let ibex = try services.start()
    let pid = try #require(services.ibexPID(ibex))
    #expect(waitUntil(timeout: 20) { (try? client(services, ["check"]).status) == 0 })
    #expect(mkfifo(services.root + "/etc/ibex/services/x.service", 0o644) == 0)
    try services.write("new.service", "[Service]\nExecStart=/bin/sleep 100000\n")
    let reload = try client(services, ["reload"])
    #expect(reload.status == 1)
    #expect(reload.stderr.contains("x.service: not a regular file"), "\(reload.stderr)")
    let status = try statusJSON(services)
    #expect(Set(status.keys) == ["web"])
    kill(pid, SIGTERM)
    #expect(ibex.finish().status == 0)
  }

  @Test("a FIFO in an s6-overlay service definition is refused at boot with exit 100")
  func s6DefinitionFIFO() throws {
    let services = try ServiceRoot([:])
    let definition = services.root + "/etc/s6-overlay/s6-rc.d/svc"
    try FileManager.default.createDirectory(atPath: definition, withIntermediateDirectories: true)
    try FileManager.default.createDirectory(
      atPath: services.root + "/etc/s6-overlay/s6-rc.d/user/contents.d", withIntermediateDirectories: true)
    _ = FileManager.default.createFile(atPath: services.root + "/etc/s6-overlay/s6-rc.d/user/contents.d/svc", contents: nil)
    try "longrun\n".write(toFile: definition + "/type", atomically: true, encoding: .utf8)
    #expect(mkfifo(definition + "/run", 0o755) == 0)
    try FileManager.default.createDirectory(atPath: services.root + "/run", withIntermediateDirectories: true)
    let result = try services.start().finish(timeout: 20)
    #expect(result.status == 100, "stderr: \(result.stderr)")
    #expect(result.stderr.contains(definition + "/run"))
  }

  // MARK: 8. uid and gid -1

  @Test(
    "User=, Group= and SupplementaryGroups= 4294967295 ((uid_t)-1) are refused with exit 100",
    arguments: ["User", "Group", "SupplementaryGroups"])
  func unchangedID(directive: String) throws {
    let services = try ServiceRoot([
      "web.service": "[Service]\n\(directive)=4294967295\nExecStart=/bin/sh -c 'id > $OUT/id; exec sleep 100000'\n"
    ])
    let result = try services.start().finish(timeout: 20)
    #expect(result.status == 100, "stderr: \(result.stderr)")
    #expect(result.stderr.contains("\(directive)=4294967295: 4294967295 is (uid_t)-1"))
    #expect(services.lines("id").isEmpty)
  }

  @Test("the s6 account commands refuse uid and gid 4294967295")
  func s6UnchangedID() throws {
    let links = try S6Links()
    let applied = try links.run("s6-applyuidgid", ["-u", "4294967295", "-g", "0", "-G", "", "/bin/sh", "-c", "id -u"])
    #expect(applied.status == 100, "\(applied.stdout) \(applied.stderr)")
    let gid = try links.run("s6-applyuidgid", ["-u", "1000", "-g", "4294967295", "-G", "", "/bin/sh", "-c", "id -g"])
    #expect(gid.status == 100, "\(gid.stdout) \(gid.stderr)")
    let set = try links.run("s6-setuidgid", ["4294967295:4294967295", "/bin/sh", "-c", "id -u"])
    #expect(set.status != 0)
    #expect(set.stdout.isEmpty)
    let env = try links.run("s6-applyuidgid", ["-U", "/bin/sh", "-c", "id -u"], environment: ["UID": "4294967295", "GID": "0"])
    #expect(env.status == 100, "\(env.stdout) \(env.stderr)")
  }

  // MARK: 9. Capabilities, every set, from /proc

  /// (directives, CapInh, CapPrm, CapEff, CapBnd, CapAmb); nil CapBnd: the host's full set.
  static let capabilityCases: [(String, String, String, String, String?, String)] = [
    ("", "0", "full", "full", nil, "0"),
    ("User=nobody", "0", "0", "0", nil, "0"),
    ("NoNewPrivileges=yes\nUser=nobody", "0", "0", "0", nil, "0"),
    ("User=nobody\nCapabilityBoundingSet=CAP_DAC_OVERRIDE", "0", "0", "0", "2", "0"),
    ("User=nobody\nAmbientCapabilities=CAP_NET_BIND_SERVICE", "400", "400", "400", nil, "400"),
    ("User=nobody\nCapabilityBoundingSet=CAP_NET_BIND_SERVICE CAP_DAC_OVERRIDE\nAmbientCapabilities=CAP_NET_BIND_SERVICE", "400", "400", "400", "402", "400"),
    ("CapabilityBoundingSet=CAP_NET_BIND_SERVICE", "0", "400", "400", "400", "0"),
  ]

  @Test(
    "every capability set of a service, from /proc, for each privilege directive (also when ibex has an inheritable set)",
    arguments: [false, true])
  func capabilities(inheritableIbex: Bool) throws {
    var files: [String: String] = [:]
    for (k, c) in FaultTests.capabilityCases.enumerated() {
      files["c\(k).service"] = "[Service]\n\(c.0)\nExecStart=/bin/sh -c 'cat /proc/self/status > $OUT/c\(k).tmp; mv $OUT/c\(k).tmp $OUT/c\(k); exec sleep 100000'\n"
    }
    let services = try ServiceRoot(files)
    let full = statusFields(fileContents("/proc/self/status"))["CapBnd"] ?? "?"
    // ibex started with CAP_DAC_OVERRIDE inheritable (older runtimes gave PID 1 one).
    let wrapper = inheritableIbex ? ["/usr/bin/setpriv", "--inh-caps=+dac_override", "--"] : []
    let ibex = try services.start(wrapper: wrapper)
    let pid = try #require(services.ibexPID(ibex))
    if inheritableIbex {
      #expect(waitUntil(timeout: 10) { statusFields(fileContents("/proc/\(pid)/status"))["CapInh"] == "0000000000000002" })
    }
    func hex(_ value: String) -> String { value == "full" ? full : String(repeating: "0", count: 16 - value.count) + value }
    for (k, c) in FaultTests.capabilityCases.enumerated() {
      #expect(waitUntil(timeout: 20) { FileManager.default.fileExists(atPath: services.dir + "/c\(k)") }, "\(c.0)")
      let status = statusFields(fileContents(services.dir + "/c\(k)"))
      #expect(status["CapInh"] == hex(c.1), "CapInh with \(c.0)")
      #expect(status["CapPrm"] == hex(c.2), "CapPrm with \(c.0)")
      #expect(status["CapEff"] == hex(c.3), "CapEff with \(c.0)")
      #expect(status["CapBnd"] == (c.4.map(hex) ?? full), "CapBnd with \(c.0)")
      #expect(status["CapAmb"] == hex(c.5), "CapAmb with \(c.0)")
      if c.0.contains("NoNewPrivileges") { #expect(status["NoNewPrivs"] == "1") }
    }
    kill(pid, SIGTERM)
    #expect(ibex.finish().status == 0)
  }

  // MARK: 10. Hostile files

  @Test("a service file that is a symlink to a secret file: the error quotes no content")
  func secretContent() throws {
    let services = try ServiceRoot([:])
    let secret = services.dir + "/shadow"
    try "root:$6$SECRETHASH$abcdefgh:19000:0:99999:7:::\n".write(toFile: secret, atomically: true, encoding: .utf8)
    try FileManager.default.createSymbolicLink(atPath: services.root + "/etc/ibex/services/x.service", withDestinationPath: secret)
    let result = try services.start().finish(timeout: 20)
    #expect(result.status == 100)
    #expect(result.stderr.contains("x.service:1: expected 'Key=Value'"), "\(result.stderr)")
    #expect(!result.stderr.contains("SECRETHASH"), "\(result.stderr)")
  }

  @Test("a file name with a newline is escaped in messages: no forged line")
  func newlineInName() throws {
    let services = try ServiceRoot([:])
    try "[Service]\nExecStart=/bin/true\n".write(
      toFile: services.root + "/etc/ibex/services/x\nibex: forged.service", atomically: true, encoding: .utf8)
    let result = try services.start().finish(timeout: 20)
    #expect(result.status == 100)
    #expect(!result.stderr.contains("\nibex: forged"), "\(result.stderr)")
    #expect(result.stderr.contains("x\\x0aibex: forged"), "\(result.stderr)")
  }

  @Test("a NUL byte in a value is an error, not a shorter command")
  func nulInValue() throws {
    let services = try ServiceRoot([
      "web.service": "[Service]\nExecStart=/bin/sh -c 'echo ran > $OUT/ran'\u{0}/evil\nType=oneshot\n"
    ])
    let result = try services.start().finish(timeout: 20)
    #expect(result.status == 100, "\(result.stderr)")
    #expect(result.stderr.contains("web.service:2: a NUL byte"), "\(result.stderr)")
    #expect(services.lines("ran").isEmpty)
  }

  @Test("CRLF line endings and a UTF-8 byte-order mark are accepted in service files and EnvironmentFile=")
  func crlfAndBOM() throws {
    let services = try ServiceRoot([:])
    try "A=1\r\nB=two\r\n".write(toFile: services.dir + "/env", atomically: true, encoding: .utf8)
    try "\u{FEFF}[Service]\r\nEnvironmentFile=\(services.dir)/env\r\nExecStart=/bin/sh -c 'echo \"$A,$B\" > \(services.dir)/seen; exec sleep 100000'\r\n"
      .write(toFile: services.root + "/etc/ibex/services/web.service", atomically: true, encoding: .utf8)
    let ibex = try services.start()
    let pid = try #require(services.ibexPID(ibex))
    #expect(waitUntil(timeout: 20) { !services.lines("seen").isEmpty }, "\(ibex.stderrSoFar)")
    #expect(services.lines("seen") == ["1,two"])
    kill(pid, SIGTERM)
    #expect(ibex.finish().status == 0)
  }

  // MARK: 5. Control slots

  @Test("a read-only client holding every control slot does not lock out root's check")
  func controlSlots() throws {
    let services = try ServiceRoot(["web.service": "[Service]\nExecStart=/bin/sleep 100000\n"])
    let ibex = try services.start(environment: ["IBEX_CONTROL_GROUP": "65534"])
    let pid = try #require(services.ibexPID(ibex))
    #expect(waitUntil(timeout: 20) { (try? client(services, ["check"]).status) == 0 })
    // 40 connections, each asking for status now and then so that none times out.
    let holder = """
      import socket, sys, time
      conns = []
      for _ in range(40):
          s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); conns.append(s)
      print("held", flush=True)
      while True:
          for s in conns:
              try:
                  s.sendall(b"v1 status\\n"); s.settimeout(2); s.recv(65536)
              except OSError:
                  pass
          time.sleep(0.5)
      """
    let reader = try RunningCommand([
      "/usr/bin/setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "/usr/bin/python3", "-c", holder,
      services.root + "/run/ibex/control",
    ])
    defer { reader.signal(SIGKILL) }
    #expect(waitUntil(timeout: 20) { fileContents(reader.directory + "/stdout").contains("held") })
    for _ in 0..<3 {
      let check = try client(services, ["check"])
      #expect(check.status == 0, "\(check.stderr)")
    }
    // Another reader still gets in (the idle-longest reader connection makes room).
    #expect(try client(services, ["status"], user: (65534, 65534)).status == 0)
    reader.signal(SIGKILL)
    _ = reader.finish()
    kill(pid, SIGTERM)
    #expect(ibex.finish().status == 0)
  }

  // MARK: 14. Clients

  @Test("a client whose connection is closed under it exits with its documented code, not SIGPIPE")
  func clientSIGPIPE() throws {
    let root = makeScratchDirectory()
    let socket = root + "/run/ibex/control"
    try FileManager.default.createDirectory(atPath: root + "/run/ibex", withIntermediateDirectories: true)
    // A server that answers one status (not ready yet) and closes: `wait` writes again.
    let server = """
      import socket, sys
      s = socket.socket(socket.AF_UNIX); s.bind(sys.argv[1]); s.listen(1)
      print("listening", flush=True)
      c, _ = s.accept(); c.recv(4096)
      c.sendall(b'{"ok":true,"shutting_down":false,"services":[{"name":"web","state":"starting","ready":false}]}\\n')
      c.close()
      c, _ = s.accept()
      """
    let fake = try RunningCommand(["/usr/bin/python3", "-c", server, socket])
    defer { fake.signal(SIGKILL) }
    #expect(waitUntil(timeout: 20) { fileContents(fake.directory + "/stdout").contains("listening") })
    let result = try runCommand([ibexBinary, "wait", "--timeout", "20s", "web", "--root", root], timeout: 30)
    #expect(result.status == 1, "\(result.stderr)")
    #expect(result.stderr.contains("Broken pipe") || result.stderr.contains("closed the connection"), "\(result.stderr)")
  }
}

/// Data handed from a reader thread to the test.
private final class LockedData: @unchecked Sendable {
  private let lock = NSLock()
  private var data = Data()
  private var finished = false
  var text: String { lock.withLock { String(decoding: data, as: UTF8.self) } }
  var isFinished: Bool { lock.withLock { finished } }
  func append(_ chunk: Data) { lock.withLock { data.append(chunk) } }
  func finish() { lock.withLock { finished = true } }
  func contains(_ needle: String) -> Bool { lock.withLock { data.range(of: Data(needle.utf8)) != nil } }
}
