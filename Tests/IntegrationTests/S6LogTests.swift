import Foundation
import Glibc
import Testing

/// The shipped binary run as `s6-log` (a symlink), fed through a pipe.
private final class S6Log: @unchecked Sendable {
  let directory: String
  let process = Process()
  let input = Pipe()

  init(_ script: [String], in directory: String = makeScratchDirectory()) throws {
    self.directory = directory
    let link = "\(directory)/s6-log"
    try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: ibexBinary)
    process.executableURL = URL(fileURLWithPath: link)
    process.arguments = script
    process.currentDirectoryURL = URL(fileURLWithPath: directory)
    _ = FileManager.default.createFile(atPath: "\(directory)/stdout", contents: nil)
    _ = FileManager.default.createFile(atPath: "\(directory)/stderr", contents: nil)
    process.standardInput = input
    process.standardOutput = FileHandle(forWritingAtPath: "\(directory)/stdout")
    process.standardError = FileHandle(forWritingAtPath: "\(directory)/stderr")
    var empty = sigset_t()
    var saved = sigset_t()
    sigemptyset(&empty)
    pthread_sigmask(SIG_SETMASK, &empty, &saved)
    defer { pthread_sigmask(SIG_SETMASK, &saved, nil) }
    try process.run()
  }

  func write(_ text: String) { input.fileHandleForWriting.write(Data(text.utf8)) }

  /// Closes stdin and waits for the exit status.
  func finish() -> Int32 {
    try? input.fileHandleForWriting.close()
    if !waitUntil(timeout: 30, { !self.process.isRunning }) {
      kill(process.processIdentifier, SIGKILL)
      Issue.record("s6-log did not exit")
    }
    process.waitUntilExit()
    return process.terminationStatus
  }

  var stdout: String { fileContents("\(directory)/stdout") }
  var stderr: String { fileContents("\(directory)/stderr") }

  /// The lines of a log directory: archives oldest first, then `current`.
  func logLines(_ logdir: String) -> [String] {
    let path = "\(directory)/\(logdir)"
    let names = ((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []).filter { $0.hasPrefix("@") }.sorted()
    return (names + ["current"]).flatMap { fileContents("\(path)/\($0)").split(separator: "\n", omittingEmptySubsequences: false).dropLast().map(String.init) }
  }

  func archives(_ logdir: String) -> [String] {
    ((try? FileManager.default.contentsOfDirectory(atPath: "\(directory)/\(logdir)")) ?? []).filter { $0.hasPrefix("@") }.sorted()
  }
}

@Suite("s6-log") struct S6LogTests {
  @Test("every line lands exactly once, in order, in current and at most n archives, none split")
  func rotation() throws {
    let logger = try S6Log(["n4", "s4096", "./logs"])
    let lines = (0..<5000).map { "line \($0) " + String(repeating: "x", count: $0 % 90) }
    for chunk in stride(from: 0, to: lines.count, by: 250) {
      logger.write(lines[chunk..<min(chunk + 250, lines.count)].map { $0 + "\n" }.joined())
    }
    logger.write("partial last line")
    #expect(logger.finish() == 0)
    let archives = logger.archives("logs")
    #expect(archives.count == 4)
    #expect(archives.allSatisfy { $0.count == 27 && $0.hasSuffix(".s") })
    let kept = logger.logLines("logs")
    // The oldest archives were deleted: what is kept is the tail of the input, whole lines.
    let all = lines + ["partial last line"]
    #expect(kept == Array(all.suffix(kept.count)))
    for name in archives + ["current"] {
      let size = (try FileManager.default.attributesOfItem(atPath: "\(logger.directory)/logs/\(name)")[.size] as? Int) ?? 0
      #expect(size <= 4096)
    }
    let mode = try FileManager.default.attributesOfItem(atPath: "\(logger.directory)/logs/current")[.posixPermissions] as? Int
    #expect(mode.map { $0 & 0o100 } == 0o100, "current is u+x after a clean exit")
  }

  @Test("t stamps lines with TAI64N; +re and -re select lines for the following actions")
  func stampsAndSelection() throws {
    let logger = try S6Log(["t", "./all", "-.*debug.*", "./nodebug", "+error", "1"])
    logger.write("info one\ndebug two\nerror three\n")
    #expect(logger.finish() == 0)
    let all = logger.logLines("all")
    #expect(all.count == 3)
    #expect(all.allSatisfy { $0.hasPrefix("@4000") && $0.split(separator: " ").first?.count == 25 })
    #expect(logger.logLines("nodebug") == ["info one", "error three"])
    #expect(logger.stdout == "info one\nerror three\n")
  }

  @Test("SIGALRM rotates every log directory")
  func alarm() throws {
    let logger = try S6Log(["./logs"])
    logger.write("before\n")
    #expect(waitUntil(timeout: 10) { fileContents("\(logger.directory)/logs/current") == "before\n" })
    kill(logger.process.processIdentifier, SIGALRM)
    #expect(waitUntil(timeout: 10) { logger.archives("logs").count == 1 })
    logger.write("after\n")
    #expect(logger.finish() == 0)
    #expect(fileContents("\(logger.directory)/logs/\(logger.archives("logs")[0])") == "before\n")
    #expect(fileContents("\(logger.directory)/logs/current") == "after\n")
  }

  @Test("a bad script is a usage error (100) naming the directive")
  func badScript() throws {
    let logger = try S6Log(["nope"])
    #expect(logger.finish() == 100)
    #expect(logger.stderr == "s6-log: fatal: unrecognized directive: nope\n")
  }

  @Test("a full disk keeps the lines and writes them once space returns", .enabled(if: isRoot))
  func diskFull() throws {
    let directory = makeScratchDirectory()
    let mount = "\(directory)/mnt"
    try FileManager.default.createDirectory(atPath: mount, withIntermediateDirectories: true)
    guard runCommandStatus(["/bin/mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", mount]) == 0 else {
      Issue.record("cannot mount a tmpfs")
      return
    }
    defer { _ = runCommandStatus(["/bin/umount", "-l", mount]) }
    let filler = "\(mount)/filler"
    _ = runCommandStatus(["/bin/dd", "if=/dev/zero", "of=\(filler)", "bs=4k", "count=64"])
    let full = try S6Log(["s100000", "./mnt/logs"], in: directory)
    let lines = (0..<2000).map { "entry \($0)" }
    full.write(lines.map { $0 + "\n" }.joined())
    #expect(waitUntil(timeout: 10) { full.stderr.contains("No space left on device") })
    try FileManager.default.removeItem(atPath: filler)
    #expect(full.finish() == 0)
    #expect(full.logLines("mnt/logs") == lines)
    #expect(full.stderr.components(separatedBy: "No space left").count == 2, "reported once: \(full.stderr)")
  }
}

private func runCommandStatus(_ arguments: [String]) -> Int32 {
  (try? runCommand(arguments).status) ?? -1
}
