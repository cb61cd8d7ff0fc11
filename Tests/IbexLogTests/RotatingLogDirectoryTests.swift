import Foundation
import IbexLog
import Testing

private func scratch() -> String {
  let path = NSTemporaryDirectory() + "ibex-log-\(UUID().uuidString)"
  return path
}

private func append(_ directory: RotatingLogDirectory, _ text: String) {
  Array(text.utf8).withUnsafeBytes { directory.append($0) }
}

private func contents(_ path: String) -> String { (try? String(contentsOfFile: path, encoding: .utf8)) ?? "" }

@Test("rotates before a line that would pass the size limit, never splitting a line")
func rotation() throws {
  let path = scratch()
  let directory = try RotatingLogDirectory(path: path, policy: RotationPolicy(maximumFileSize: 10, maximumArchiveCount: 5))
  for line in ["aaaa\n", "bbbb\n", "cccc\n", "a line longer than ten\n", "d\n"] { append(directory, line) }
  try directory.flush()
  let archives = directory.archives()
  #expect(archives.count == 3)
  #expect(archives.map { contents(path + "/" + $0) } == ["aaaa\nbbbb\n", "cccc\n", "a line longer than ten\n"])
  #expect(contents(path + "/current") == "d\n")
  let mode = try FileManager.default.attributesOfItem(atPath: path + "/" + archives[0])[.posixPermissions] as? Int
  #expect(mode == 0o744 & ~Int(umaskValue()))
}

private func umaskValue() -> mode_t {
  let mask = umask(0)
  umask(mask)
  return mask & 0o022
}

@Test("keeps at most n archives and at most S bytes of them, deleting the oldest")
func limits() throws {
  let path = scratch()
  let directory = try RotatingLogDirectory(path: path, policy: RotationPolicy(maximumFileSize: 6, maximumArchiveCount: 3))
  for index in 0..<10 { append(directory, "line\(index)\n") }
  try directory.flush()
  #expect(directory.archives().map { contents(path + "/" + $0) } == ["line6\n", "line7\n", "line8\n"])
  let sized = try RotatingLogDirectory(path: path + "-S", policy: RotationPolicy(maximumFileSize: 6, maximumArchiveCount: 10, maximumTotalArchiveSize: 13))
  for index in 0..<10 { append(sized, "line\(index)\n") }
  try sized.flush()
  #expect(sized.archives().map { contents(path + "-S/" + $0) } == ["line7\n", "line8\n"])
}

@Test("a requested rotation happens after the buffered lines; an empty current is not rotated")
func requestedRotation() throws {
  let path = scratch()
  let directory = try RotatingLogDirectory(path: path, policy: RotationPolicy())
  directory.requestRotation()
  try directory.flush()
  #expect(directory.archives().isEmpty)
  append(directory, "one\n")
  directory.requestRotation()
  append(directory, "two\n")
  try directory.flush()
  #expect(directory.archives().map { contents(path + "/" + $0) } == ["one\n"])
  #expect(contents(path + "/current") == "two\n")
}

@Test("closing marks current u+x; reopening appends to it, and an unclean current is archived as .u")
func reopen() throws {
  let path = scratch()
  do {
    let directory = try RotatingLogDirectory(path: path, policy: RotationPolicy())
    append(directory, "first\n")
    try directory.close()
  }
  do {
    let directory = try RotatingLogDirectory(path: path, policy: RotationPolicy())
    append(directory, "second\n")
    try directory.flush()  // not closed: current stays without u+x
    #expect(contents(path + "/current") == "first\nsecond\n")
  }
  let directory = try RotatingLogDirectory(path: path, policy: RotationPolicy())
  #expect(directory.archives().count == 1)
  #expect(directory.archives().first?.hasSuffix(".u") == true)
  #expect(contents(path + "/current") == "")
}

@Test("a second logger on the same directory is refused")
func locked() throws {
  let path = scratch()
  let first = try RotatingLogDirectory(path: path, policy: RotationPolicy())
  #expect(throws: LogDirectoryError.self) { _ = try RotatingLogDirectory(path: path, policy: RotationPolicy()) }
  _ = first
}
