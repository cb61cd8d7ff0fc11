import Foundation
import Glibc
import Testing

/// The ibex under test: `IBEX_BIN` (scripts/test.sh sets it to the shipped Embedded build),
/// or the normal debug build next to the test bundle when run by hand.
let ibexBinary: String = {
  if let path = ProcessInfo.processInfo.environment["IBEX_BIN"], !path.isEmpty { return path }
  return URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().deletingLastPathComponent()
    .appendingPathComponent("ibex").path
}()

/// Whether this machine lets us create a PID namespace (needs CAP_SYS_ADMIN: root in CI).
let canUnshare: Bool = {
  (try? runCommand(["/usr/bin/unshare", "--pid", "--fork", "--mount-proc", "/bin/true"]).status) == 0
}()

let isRoot = geteuid() == 0

/// `["unshare", "--pid", "--fork", "--mount-proc"]`: what follows runs as PID 1.
let asPID1 = ["/usr/bin/unshare", "--pid", "--fork", "--mount-proc"]

struct CommandResult {
  var status: Int32
  var stdout: String
  var stderr: String
}

/// A fresh directory, writable by everyone (services may run as other users).
func makeScratchDirectory() -> String {
  let path = FileManager.default.temporaryDirectory.appendingPathComponent("ibex-it-\(UUID().uuidString)").path
  try! FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
  chmod(path, 0o777)
  return path
}

/// A started process whose output goes to files; signal it, then `finish()`.
final class RunningCommand: @unchecked Sendable {
  let process = Process()
  let directory = makeScratchDirectory()

  /// `standardOutput`, `standardError`: where stdout and stderr go instead of the files
  /// `directory/stdout` and `directory/stderr` (a pipe the test reads, or does not).
  init(
    _ arguments: [String], environment: [String: String]? = nil, standardOutput: FileHandle? = nil,
    standardError: FileHandle? = nil
  ) throws {
    process.executableURL = URL(fileURLWithPath: arguments[0])
    process.arguments = Array(arguments.dropFirst())
    if let environment { process.environment = environment }
    _ = FileManager.default.createFile(atPath: "\(directory)/stdout", contents: nil)
    _ = FileManager.default.createFile(atPath: "\(directory)/stderr", contents: nil)
    process.standardInput = FileHandle.nullDevice
    process.standardOutput = standardOutput ?? FileHandle(forWritingAtPath: "\(directory)/stdout")
    process.standardError = standardError ?? FileHandle(forWritingAtPath: "\(directory)/stderr")
    // Foundation starts the child with the calling thread's signal mask, and test threads
    // (Dispatch workers) block nearly every signal. Start children the way a shell would.
    var empty = sigset_t()
    var saved = sigset_t()
    sigemptyset(&empty)
    pthread_sigmask(SIG_SETMASK, &empty, &saved)
    defer { pthread_sigmask(SIG_SETMASK, &saved, nil) }
    try process.run()
  }

  var pid: Int32 { process.processIdentifier }

  /// The pid of the first child of this process (e.g. ibex under `unshare --fork`).
  func childPID(timeout: TimeInterval = 10) -> Int32? {
    var found: Int32?
    _ = waitUntil(timeout: timeout) {
      let children = (try? String(contentsOfFile: "/proc/\(pid)/task/\(pid)/children", encoding: .utf8)) ?? ""
      found = children.split(separator: " ").first.flatMap { Int32($0) }
      return found != nil
    }
    return found
  }

  func signal(_ signal: Int32, to target: Int32? = nil) { kill(target ?? pid, signal) }

  /// What the process has written to stderr so far.
  var stderrSoFar: String { fileContents("\(directory)/stderr") }

  /// Waits for the exit (killing the process after `timeout`) and collects the output.
  /// A process killed by signal N reports 128+N, as a shell would.
  func finish(timeout: TimeInterval = 30) -> CommandResult {
    if !waitUntil(timeout: timeout, { !self.process.isRunning }) {
      kill(pid, SIGKILL)
      Issue.record("command did not finish within \(timeout) s: killed")
      // Never block the test run on a process Foundation fails to see end.
      guard waitUntil(timeout: 10, { !self.process.isRunning }) else {
        Issue.record("killed command still not reaped")
        return CommandResult(status: -1, stdout: "", stderr: "")
      }
    }
    process.waitUntilExit()
    let status =
      process.terminationReason == .uncaughtSignal ? 128 + process.terminationStatus : process.terminationStatus
    return CommandResult(
      status: status,
      stdout: (try? String(contentsOfFile: "\(directory)/stdout", encoding: .utf8)) ?? "",
      stderr: (try? String(contentsOfFile: "\(directory)/stderr", encoding: .utf8)) ?? "")
  }
}

/// Runs a command to completion (killed after `timeout`).
func runCommand(_ arguments: [String], environment: [String: String]? = nil, timeout: TimeInterval = 60) throws
  -> CommandResult
{
  try RunningCommand(arguments, environment: environment).finish(timeout: timeout)
}

/// Polls `condition` every 10 ms until it holds or `timeout` passes. Test-side waiting only:
/// the assertion is on the condition, never on how long it took.
@discardableResult
func waitUntil(timeout: TimeInterval, _ condition: () -> Bool) -> Bool {
  let end = Date().addingTimeInterval(timeout)
  while Date() < end {
    if condition() { return true }
    usleep(10_000)
  }
  return condition()
}

func fileContents(_ path: String) -> String { (try? String(contentsOfFile: path, encoding: .utf8)) ?? "" }

/// The `Key:\tvalue` lines of a /proc status file.
func statusFields(_ text: String) -> [String: String] {
  var fields: [String: String] = [:]
  for line in text.split(separator: "\n") {
    guard let colon = line.firstIndex(of: ":") else { continue }
    fields[String(line[..<colon])] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
  }
  return fields
}
