import Foundation
import Testing

/// A temporary IBEX_ROOT with service files, and a directory (`dir`) where services write
/// what they observe.
struct ServiceRoot {
  let root = makeScratchDirectory()
  var dir: String { root + "/out" }

  init(_ services: [String: String]) throws {
    try FileManager.default.createDirectory(atPath: root + "/etc/ibex/services", withIntermediateDirectories: true)
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    chmod(dir, 0o777)
    for (name, text) in services { try write(name, text) }
    try notifyScript.write(toFile: dir + "/notify.py", atomically: true, encoding: .utf8)
  }

  /// Writes `etc/ibex/services/NAME` (`NAME` includes `.service`, or a drop-in path).
  func write(_ name: String, _ text: String) throws {
    let path = root + "/etc/ibex/services/" + name
    try FileManager.default.createDirectory(
      atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
    try text.replacingOccurrences(of: "$OUT", with: dir).write(toFile: path, atomically: true, encoding: .utf8)
  }

  /// The lines of a file services append to.
  func lines(_ file: String) -> [String] {
    fileContents(dir + "/" + file).split(separator: "\n").map(String.init)
  }

  /// `ibex init --root ROOT [CMD...]`, as PID 1 of a new PID namespace when `pid1` is set.
  func start(
    _ command: [String] = [], pid1: Bool = true, options: [String] = [], environment: [String: String] = [:],
    standardOutput: FileHandle? = nil, standardError: FileHandle? = nil, wrapper: [String] = []
  ) throws -> RunningCommand {
    // `wrapper`: a command that runs ibex (e.g. prlimit), between unshare and ibex.
    let ibex = wrapper + [ibexBinary, "init", "--root", root] + options + (command.isEmpty ? [] : ["--"] + command)
    let merged = ProcessInfo.processInfo.environment.merging(environment) { $1 }
    return try RunningCommand(
      pid1 ? asPID1 + ibex : ibex, environment: merged, standardOutput: standardOutput, standardError: standardError)
  }

  /// The pid to signal: ibex itself (the child of `unshare` when it runs as PID 1).
  func ibexPID(_ command: RunningCommand, pid1: Bool = true) -> Int32? {
    pid1 ? command.childPID() : command.pid
  }
}

/// The text of a service that appends `NAME-start` to `$OUT/order` when it starts and then
/// sleeps; `unit` holds its `[Unit]` lines (e.g. `Requires=db`).
func recordingService(_ name: String, unit: String) -> String {
  "[Unit]\n\(unit)\n[Service]\nExecStart=/bin/sh -c 'echo \(name)-start >> $OUT/order; exec sleep 100000'\n"
}

/// A sd_notify client for tests: `python3 notify.py MARKER` waits a moment, appends `ready` to
/// MARKER, sends `STATUS=` and `READY=1` to $NOTIFY_SOCKET, and sleeps. Exec it, so that the
/// service's main process is the sender.
let notifyScript = """
  import os, socket, sys, time
  time.sleep(0.2)
  open(sys.argv[1], "a").write("ready\\n")
  s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
  s.sendto(b"STATUS=serving", os.environ["NOTIFY_SOCKET"])
  s.sendto(b"READY=1", os.environ["NOTIFY_SOCKET"])
  time.sleep(100000)
  """
