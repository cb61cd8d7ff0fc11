import Foundation
import Testing

/// Issue 5: every service's output captured, labelled, rotated, and never lost.
@Suite("ibex init: service output", .enabled(if: canUnshare, "needs unshare --pid"))
struct LoggingTests {
  /// A service running `script` (a file, so that shell `$` needs no unit-file escaping).
  private func scriptService(_ root: ServiceRoot, _ name: String, _ script: String, extra: String = "") throws -> String {
    try script.write(toFile: root.dir + "/\(name).sh", atomically: true, encoding: .utf8)
    return "[Service]\nExecStart=/bin/sh \(root.dir)/\(name).sh\n\(extra)"
  }

  /// The lines of `text` that start with `prefix`, without it.
  private func lines(_ text: String, prefixed prefix: String) -> [String] {
    text.split(separator: "\n").filter { $0.hasPrefix(prefix) }.map { String($0.dropFirst(prefix.count)) }
  }

  @Test("two services writing at once: every line arrives once, labelled, in order per service; stderr stays stderr")
  func interleaved() throws {
    let root = try ServiceRoot([:])
    for name in ["alpha", "beta"] {
      try root.write(
        "\(name).service",
        try scriptService(root, name, "i=0; while [ $i -lt 3000 ]; do i=$((i+1)); echo \"\(name) $i\"; done; echo \(name)-err >&2; touch \(root.dir)/\(name).done; exec sleep 100000\n"))
    }
    let ibex = try root.start()
    let stdout = ibex.directory + "/stdout"
    #expect(waitUntil(timeout: 30) {
      FileManager.default.fileExists(atPath: root.dir + "/alpha.done") && FileManager.default.fileExists(atPath: root.dir + "/beta.done")
        && fileContents(stdout).contains("beta | beta 3000\n") && fileContents(stdout).contains("alpha | alpha 3000\n")
    })
    ibex.signal(SIGTERM, to: root.ibexPID(ibex))
    let result = ibex.finish()
    for name in ["alpha", "beta"] {
      #expect(lines(result.stdout, prefixed: "\(name) | ") == (1...3000).map { "\(name) \($0)" })
      #expect(result.stderr.contains("\(name) | \(name)-err\n"))
      #expect(!result.stdout.contains("\(name)-err"))
    }
  }

  @Test("40 services under a soft limit of 64 open files: ibex raises its own limit; services keep 64")
  func openFileLimit() throws {
    let root = try ServiceRoot([:])
    for k in 0..<40 {
      try root.write("s\(k).service", try scriptService(root, "s\(k)", "echo \"s\(k) limit $(ulimit -n)\"; exec sleep 100000\n"))
    }
    let ibex = try RunningCommand(
      asPID1 + ["/bin/sh", "-c", "ulimit -S -n 64; exec \"$0\" init --root \"$1\"", ibexBinary, root.root])
    let stdout = ibex.directory + "/stdout"
    #expect(waitUntil(timeout: 30) { fileContents(stdout).split(separator: "\n").count >= 40 })
    ibex.signal(SIGTERM, to: ibex.childPID())
    let result = ibex.finish()
    for k in 0..<40 { #expect(result.stdout.contains("s\(k) | s\(k) limit 64\n")) }
    #expect(!result.stderr.contains("Too many open files"))
  }

  @Test("IBEX_LOG_CMD=yes: CMD's lines are labelled `cmd` like a service's; by default CMD writes as it is")
  func commandOutput() throws {
    let root = try ServiceRoot([:])
    let captured = try root.start(["/bin/sh", "-c", "echo from-cmd; echo cmd-err >&2"], environment: ["IBEX_LOG_CMD": "yes"]).finish()
    #expect(captured.status == 0)
    #expect(captured.stdout.contains("cmd | from-cmd\n"))
    #expect(captured.stderr.contains("cmd | cmd-err\n"))
    let plain = try root.start(["/bin/sh", "-c", "echo from-cmd"]).finish()
    #expect(plain.stdout == "from-cmd\n")
  }

  @Test("a service restarted mid-stream loses nothing: ibex holds its pipe")
  func restartLosesNothing() throws {
    let root = try ServiceRoot([:])
    let script = """
      i=$(cat \(root.dir)/count 2>/dev/null || echo 0)
      while [ $i -lt 2000 ]; do
        i=$((i+1)); echo "line $i"; echo $i > \(root.dir)/count
        if [ $((i % 400)) -eq 0 ]; then exit 1; fi
      done
      touch \(root.dir)/done; exec sleep 100000

      """
    try root.write("counter.service", try scriptService(root, "counter", script, extra: "Restart=always\nRestartSec=10ms\nStartLimitBurst=0\n"))
    let ibex = try root.start()
    #expect(waitUntil(timeout: 30) { FileManager.default.fileExists(atPath: root.dir + "/done") })
    #expect(waitUntil(timeout: 10) { fileContents(ibex.directory + "/stdout").contains("counter | line 2000\n") })
    ibex.signal(SIGTERM, to: root.ibexPID(ibex))
    let result = ibex.finish()
    #expect(lines(result.stdout, prefixed: "counter | ") == (1...2000).map { "line \($0)" })
    #expect(result.stderr.contains("counter: restarting in 10ms"))
  }

  @Test("a health check's output is apart from the service's lines, labelled NAME/health, and kept out of its log directory")
  func healthOutput() throws {
    let logs = makeScratchDirectory() + "/web"
    let root = try ServiceRoot([
      "web.service": """
        [Service]
        ExecStart=/bin/sh -c 'echo service-line; exec sleep 100000'
        [Health]
        Exec=/bin/sh -c 'echo probe-line; echo probe-error >&2'
        InitialDelaySec=0
        [Log]
        Directory=\(logs)
        """
    ])
    let ibex = try root.start()
    #expect(waitUntil(timeout: 20) { (try? runCommand([ibexBinary, "check", "--root", root.root]).status) == 0 })
    #expect(waitUntil(timeout: 10) { fileContents(ibex.directory + "/stderr").contains("web/health | probe-error") })
    ibex.signal(SIGTERM, to: root.ibexPID(ibex))
    let result = ibex.finish()
    #expect(result.stdout.contains("web/health | probe-line\n"), "stdout: \(result.stdout)")
    #expect(!result.stdout.contains("web | probe-line"))
    #expect(result.stdout.contains("web | service-line\n"))
    #expect(fileContents(logs + "/current").contains("service-line"))
    #expect(!fileContents(logs + "/current").contains("probe"))
  }

  @Test("a log directory rotates by size and count; no line is split across files; archives are @TAI64N.s")
  func rotation() throws {
    let root = try ServiceRoot([:])
    let logs = root.dir + "/logs/web"
    let script = "i=0; while [ $i -lt 2000 ]; do i=$((i+1)); printf 'line %04d %s\\n' $i 0123456789012345678901234567890123456789012345678901234567890123456789012345678901234; done; touch \(root.dir)/done; exec sleep 100000\n"
    try root.write(
      "web.service",
      try scriptService(root, "web", script, extra: "[Log]\nConsole=no\nDirectory=\(logs)\nMaxFileSize=8K\nMaxFiles=4\n"))
    let ibex = try root.start()
    #expect(waitUntil(timeout: 30) { FileManager.default.fileExists(atPath: root.dir + "/done") })
    #expect(waitUntil(timeout: 10) { fileContents(logs + "/current").contains("line 2000 ") })
    ibex.signal(SIGTERM, to: root.ibexPID(ibex))
    let result = ibex.finish()
    #expect(!result.stdout.contains("line "))
    let names = try FileManager.default.contentsOfDirectory(atPath: logs).sorted()
    let archives = names.filter { $0.hasPrefix("@") }
    #expect(archives.count == 4)
    #expect(archives.allSatisfy { $0.count == 27 && $0.hasSuffix(".s") && $0.hasPrefix("@4000") })
    var kept: [String] = []
    for file in archives + ["current"] {
      let text = fileContents(logs + "/" + file)
      #expect(text.utf8.count <= 8192)
      #expect(text.hasSuffix("\n"))
      kept += text.split(separator: "\n").map(String.init)
    }
    // The newest lines, whole and in order, ending with the last one.
    let numbers = kept.map { Int($0.split(separator: " ")[1])! }
    #expect(numbers == Array((2001 - numbers.count)...2000))
    #expect(kept.allSatisfy { $0.utf8.count == 95 })
  }

  @Test("JSON lines and timestamps for log shippers")
  func jsonLines() throws {
    let root = try ServiceRoot([:])
    try root.write("api.service", try scriptService(root, "api", "echo 'say \"hi\"'; echo oops >&2; touch \(root.dir)/done; exec sleep 100000\n"))
    let ibex = try root.start(environment: ["IBEX_LOG_FORMAT": "json", "IBEX_LOG_TIMESTAMPS": "rfc3339"])
    #expect(waitUntil(timeout: 30) { fileContents(ibex.directory + "/stdout").contains("api") })
    ibex.signal(SIGTERM, to: root.ibexPID(ibex))
    let result = ibex.finish()
    let line = try #require(result.stdout.split(separator: "\n").first { $0.contains("\"service\":\"api\"") })
    let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
    #expect(object["msg"] as? String == "say \"hi\"")
    #expect(object["stream"] as? String == "stdout")
    #expect((object["ts"] as? String)?.hasSuffix("Z") == true)
    #expect(result.stderr.contains("\"stream\":\"stderr\",\"msg\":\"oops\""))
  }

  @Test("IBEX_LOG_FORMAT=json: ibex's own event lines are JSON lines too, with a timestamp even without IBEX_LOG_TIMESTAMPS")
  func jsonEvents() throws {
    let root = try ServiceRoot([:])
    try root.write("api.service", try scriptService(root, "api", "echo hello; exec sleep 100000\n"))
    let ibex = try root.start(environment: ["IBEX_LOG_FORMAT": "json"])
    #expect(waitUntil(timeout: 30) { fileContents(ibex.directory + "/stdout").contains("hello") })
    ibex.signal(SIGTERM, to: root.ibexPID(ibex))
    let result = ibex.finish()
    let stderr = result.stderr.split(separator: "\n")
    #expect(!stderr.isEmpty)
    var levels: Set<String> = []
    for line in stderr {
      let object = try #require(try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any], "not JSON: \(line)")
      #expect(object["service"] as? String == "ibex")
      #expect((object["ts"] as? String)?.hasSuffix("Z") == true, "\(line)")
      levels.insert(object["level"] as? String ?? "?")
    }
    #expect(levels.isSubset(of: ["info", "warning", "error"]))
    #expect(result.stderr.contains("\"level\":\"info\",\"msg\":\"api: running (pid "))
    let line = try #require(result.stdout.split(separator: "\n").first { $0.contains("hello") })
    let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
    #expect((object["ts"] as? String)?.hasSuffix("Z") == true, "a service's JSON lines carry ts too")
  }

  @Test("a full disk: a clear error, no line lost, writing again once space returns")
  func diskFull() throws {
    let root = try ServiceRoot([:])
    let disk = root.dir + "/disk"
    try FileManager.default.createDirectory(atPath: disk, withIntermediateDirectories: true)
    #expect(try runCommand(["/bin/mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", disk]).status == 0)
    defer { _ = try? runCommand(["/bin/umount", "-l", disk]) }
    // Fill the disk but for a few kilobytes.
    _ = try runCommand(["/bin/dd", "if=/dev/zero", "of=\(disk)/filler", "bs=4k", "count=62"])
    let script = """
      i=0; while [ $i -lt 600 ]; do i=$((i+1)); printf 'entry %04d %s\\n' $i 01234567890123456789012345678901234567890123456789012345678901234567890123456789; done
      touch \(root.dir)/written; exec sleep 100000

      """
    try root.write("writer.service", try scriptService(root, "writer", script, extra: "[Log]\nConsole=no\nDirectory=\(disk)/writer\n"))
    let ibex = try root.start()
    #expect(waitUntil(timeout: 30) { ibex.stderrSoFar.contains("No space left on device") })
    #expect(ibex.stderrSoFar.contains("keeping the lines and retrying every second"))
    try FileManager.default.removeItem(atPath: disk + "/filler")
    #expect(waitUntil(timeout: 30) { ibex.stderrSoFar.contains("\(disk)/writer: writing again") })
    #expect(waitUntil(timeout: 10) { fileContents(disk + "/writer/current").contains("entry 0600 ") })
    ibex.signal(SIGTERM, to: root.ibexPID(ibex))
    _ = ibex.finish()
    let entries = fileContents(disk + "/writer/current").split(separator: "\n").map { Int($0.split(separator: " ")[1])! }
    #expect(entries == Array(1...600))
  }

  @Test("a stdout nobody reads stalls only the services that write to it; supervision goes on")
  func blockedConsole() throws {
    let root = try ServiceRoot([:])
    try root.write(
      "loud.service",
      try scriptService(root, "loud", "i=0; while [ $i -lt 60000 ]; do i=$((i+1)); echo \"loud line $i padding padding padding\"; echo $i > \(root.dir)/loud.count; done; exec sleep 100000\n"))
    try root.write(
      "quiet.service",
      try scriptService(root, "quiet", "i=0; while :; do i=$((i+1)); echo \"quiet $i\"; sleep 0.05; done\n", extra: "[Log]\nConsole=no\nDirectory=\(root.dir)/quiet\n"))
    let pipe = Pipe()
    let ibex = try root.start(standardOutput: pipe.fileHandleForWriting)
    try pipe.fileHandleForWriting.close()
    // Nobody reads: loud stops once the pipe and ibex's buffer are full...
    var last = ""
    #expect(waitUntil(timeout: 30) {
      let now = fileContents(root.dir + "/loud.count")
      defer { last = now }
      return !now.isEmpty && now == last && { usleep(300_000); return fileContents(root.dir + "/loud.count") == now }()
    })
    let stalledAt = Int(fileContents(root.dir + "/loud.count").trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0
    #expect(stalledAt < 60000)
    // ...while quiet's log grows and ibex answers its control socket.
    let before = fileContents(root.dir + "/quiet/current").split(separator: "\n").count
    #expect(waitUntil(timeout: 10) { fileContents(root.dir + "/quiet/current").split(separator: "\n").count > before + 5 })
    let status = try runCommand([ibexBinary, "status", "--root", root.root, "loud"])
    #expect(status.status == 0)
    #expect(status.stdout.contains("running"))
    // Reading again lets loud finish, with every line in order.
    final class Received: @unchecked Sendable { var data = Data() }
    let received = Received()
    let reader = Thread {
      while true {
        let chunk = pipe.fileHandleForReading.availableData
        if chunk.isEmpty { break }
        received.data.append(chunk)
      }
    }
    reader.start()
    #expect(waitUntil(timeout: 60) { fileContents(root.dir + "/loud.count").hasPrefix("60000") })
    usleep(500_000)
    ibex.signal(SIGTERM, to: root.ibexPID(ibex))
    _ = ibex.finish()
    #expect(waitUntil(timeout: 10) { reader.isFinished })
    let text = String(decoding: received.data, as: UTF8.self)
    #expect(lines(text, prefixed: "loud | loud line ").map { $0.split(separator: " ")[0] } == (1...60000).map { "\($0)"[...] })
  }
}
