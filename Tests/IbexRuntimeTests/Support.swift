import Foundation
import Glibc
import IbexRuntime

/// A fresh directory under /tmp, writable by every uid (children may run as nobody).
func makeScratchDirectory() -> String {
  let path = FileManager.default.temporaryDirectory.appendingPathComponent("ibex-test-\(UUID().uuidString)").path
  try! FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
  chmod(path, 0o777)
  return path
}

/// Waits for one specific child (never `waitpid(-1)`: tests run in parallel in one process).
func waitForExit(_ pid: Int32) -> Int32 {
  var status: Int32 = 0
  while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
  return status
}

/// Runs `sh -c script` through the spawner with `configure` applied; returns the wait status.
func spawnShell(
  _ script: String, environment: [String] = ["PATH=/usr/bin:/bin"], configure: (inout SpawnRequest) -> Void = { _ in }
) throws(SpawnError) -> Int32 {
  var request = SpawnRequest(
    program: "/bin/sh", arguments: CStringArray(["sh", "-c", script]), environment: CStringArray(environment))
  configure(&request)
  let pid = try Spawner.spawn(request)
  return waitForExit(pid)
}

/// The `Key:\tvalue` lines of a /proc status file.
func statusFields(_ text: String) -> [String: String] {
  var fields: [String: String] = [:]
  for line in text.split(separator: "\n") {
    guard let colon = line.firstIndex(of: ":") else { continue }
    fields[String(line[..<colon])] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
  }
  return fields
}

var isRoot: Bool { geteuid() == 0 }
