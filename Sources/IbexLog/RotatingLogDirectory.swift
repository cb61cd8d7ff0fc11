import IbexRuntime

/// When a log directory rotates and how much it keeps (s6-log's `s`, `n` and `S`).
public struct RotationPolicy: Equatable, Sendable {
  /// `current` never grows past this with a new line (s6-log `s`, 4096...268435455).
  public var maximumFileSize: Int
  /// Archives kept (s6-log `n`).
  public var maximumArchiveCount: Int
  /// The archives' total size is kept at or below this; 0 means no limit (s6-log `S`).
  public var maximumTotalArchiveSize: Int

  public init(maximumFileSize: Int = 99999, maximumArchiveCount: Int = 10, maximumTotalArchiveSize: Int = 0) {
    self.maximumFileSize = maximumFileSize
    self.maximumArchiveCount = maximumArchiveCount
    self.maximumTotalArchiveSize = maximumTotalArchiveSize
  }
}

/// A failed operation on a log directory: what, on which path, and why.
public struct LogDirectoryError: Error, Equatable, Sendable {
  public var operation: String
  public var path: String
  public var errno: Errno

  /// `unable to write to /var/log/web/current: No space left on device`
  public var description: String { "unable to \(operation) \(path): \(errno.description)" }
}

/// An s6-log logdir: lines are appended to `current`; when the next line would take it past
/// `maximumFileSize`, `current` is synced and renamed to the archive `@<TAI64N>.s`, and a new
/// `current` starts. A line is never split across files (a line longer than the limit goes
/// alone into a file). The oldest archives are deleted beyond the count and size limits.
///
/// Layout and modes follow s6-log: the directory is created 2700; `lock` is held with
/// `flock` while the directory is open; `current` has the umask's 0666 bits (0644 usually)
/// and gets u+x when closed cleanly; archives get u+x (0744). On opening, a `current`
/// without u+x (a logger that died) is archived as `@<TAI64N>.u`.
///
/// `append` only buffers; `flush` writes. A failed write (disk full, read-only file system)
/// keeps every unwritten byte and throws; calling `flush` later continues where it stopped.
/// The caller decides when to retry, so there is no busy loop here.
public final class RotatingLogDirectory {
  public let path: String
  public let policy: RotationPolicy
  private let fileMode: UInt32
  private let lock: FileDescriptor
  private var current: FileDescriptor
  /// Bytes in `current` on disk.
  private var currentSize: Int
  /// `current` was renamed to an archive, but the new one is not open yet.
  private var awaitingNewCurrent = false

  /// Formatted lines not yet written; `pending[written...]` is still to go.
  private var pending: [UInt8] = []
  private var written = 0
  /// Offsets in `pending` before which `current` is rotated, ascending.
  private var rotations: [Int] = []
  /// The size the file being filled will have once everything pending is written.
  private var plannedSize: Int

  /// Who owns the directory and the files ibex creates in it (nil: ibex's own user).
  private let owner: (uid: UInt32, gid: UInt32)?

  /// Opens (creating if needed) the log directory at `path`.
  public init(path: String, policy: RotationPolicy, owner: (uid: UInt32, gid: UInt32)? = nil) throws(LogDirectoryError) {
    self.path = path
    self.policy = policy
    self.owner = owner
    fileMode = ~LogFiles.umask & 0o666
    try LogDirectoryError.wrap("create directory", path) { () throws(Errno) in try LogFiles.makeDirectory(path, mode: 0o2700) }
    let lock = try LogDirectoryError.wrap("open", path + "/lock") { () throws(Errno) in
      try LogFiles.openAppend(path + "/lock", mode: 0o644)
    }
    do throws(LogDirectoryError) {
      try LogDirectoryError.wrap("lock", path + "/lock") { () throws(Errno) in try lock.lockExclusively() }
      let currentPath = path + "/current"
      if let info = FileSystem.info(currentPath), info.mode & 0o100 == 0 {
        // Not closed cleanly: keep what it holds as an interrupted archive.
        if info.size > 0 {
          try LogDirectoryError.wrap("rename", currentPath) { () throws(Errno) in
            try LogFiles.rename(currentPath, to: RotatingLogDirectory.archivePath(path, suffix: "u"))
          }
        } else {
          FileSystem.remove(currentPath)
        }
      }
      let mode = fileMode
      let current = try LogDirectoryError.wrap("open", currentPath) { () throws(Errno) in
        try LogFiles.openAppend(currentPath, mode: mode)
      }
      self.current = current
      currentSize = (try? current.size()) ?? 0
      plannedSize = currentSize
      try? current.setMode(mode)
      if let owner {
        for name in ["", "/lock", "/current"] { try? FileSystem.setOwner(path + name, uid: owner.uid, gid: owner.gid) }
      }
    } catch {
      lock.close()
      throw error
    }
    self.lock = lock
    trimArchives()
  }

  deinit {
    current.close()
    lock.close()
  }

  /// Bytes accepted by `append` and not yet on disk.
  public var pendingByteCount: Int { pending.count - written }

  /// Buffers one line given as up to four pieces (stamps, prefix, message, `\n`), first
  /// planning a rotation if the line would take the file past the size limit. The caller
  /// formats; this only counts.
  public func append(
    _ first: UnsafeRawBufferPointer, _ second: UnsafeRawBufferPointer = .empty,
    _ third: UnsafeRawBufferPointer = .empty, _ fourth: UnsafeRawBufferPointer = .empty
  ) {
    let length = first.count + second.count + third.count + fourth.count
    if plannedSize > 0 && plannedSize + length > policy.maximumFileSize { planRotation() }
    pending.append(contentsOf: first)
    pending.append(contentsOf: second)
    pending.append(contentsOf: third)
    pending.append(contentsOf: fourth)
    plannedSize += length
  }

  /// Rotates after what is buffered (s6-log on SIGALRM); an empty `current` is not rotated.
  public func requestRotation() {
    if plannedSize > 0 { planRotation() }
  }

  private func planRotation() {
    if rotations.last != pending.count { rotations.append(pending.count) }
    plannedSize = 0
  }

  /// Writes everything pending, rotating where planned. On failure, nothing is lost: the
  /// unwritten bytes stay pending and the next call resumes.
  public func flush() throws(LogDirectoryError) {
    while written < pending.count || !rotations.isEmpty {
      if let next = rotations.first, next == written {
        try rotate()
        rotations.removeFirst()
        continue
      }
      let end = rotations.first ?? pending.count
      var result: Result<Int, Errno> = .success(0)
      pending.withUnsafeBytes { bytes in
        let chunk = UnsafeRawBufferPointer(rebasing: bytes[written..<end])
        do throws(Errno) { result = .success(try current.writeSome(chunk)) } catch { result = .failure(error) }
      }
      let count = try LogDirectoryError.wrap("write to", path + "/current") { () throws(Errno) in try result.get() }
      written += count
      currentSize += count
    }
    pending.removeAll(keepingCapacity: pending.capacity <= 4 << 20)
    written = 0
  }

  /// Syncs `current`, renames it to `@<TAI64N>.s` and opens a new one. Each step is done
  /// once: after a failure, a retry continues with the step that failed.
  private func rotate() throws(LogDirectoryError) {
    let currentPath = path + "/current"
    if !awaitingNewCurrent {
      guard currentSize > 0 else { return }
      let fd = current
      let archiveMode = fileMode | 0o100
      try LogDirectoryError.wrap("sync", currentPath) { () throws(Errno) in try fd.sync() }
      try LogDirectoryError.wrap("change the mode of", currentPath) { () throws(Errno) in try fd.setMode(archiveMode) }
      let archive = RotatingLogDirectory.archivePath(path, suffix: "s")
      try LogDirectoryError.wrap("rename", currentPath) { () throws(Errno) in try LogFiles.rename(currentPath, to: archive) }
      awaitingNewCurrent = true
    }
    let mode = fileMode
    let fresh = try LogDirectoryError.wrap("open", currentPath) { () throws(Errno) in
      try LogFiles.openAppend(currentPath, mode: mode)
    }
    try? fresh.setMode(mode)
    if let owner { try? FileSystem.setOwner(currentPath, uid: owner.uid, gid: owner.gid) }
    current.close()
    current = fresh
    currentSize = 0
    awaitingNewCurrent = false
    trimArchives()
  }

  /// Flushes, syncs and marks `current` closed cleanly (u+x), as s6-log does on exit.
  public func close() throws(LogDirectoryError) {
    try flush()
    let fd = current
    let mode = fileMode | 0o100
    try LogDirectoryError.wrap("sync", path + "/current") { () throws(Errno) in try fd.sync() }
    try LogDirectoryError.wrap("change the mode of", path + "/current") { () throws(Errno) in try fd.setMode(mode) }
  }

  /// The archives' names, oldest first.
  public func archives() -> [String] {
    ((try? FileSystem.list(path)) ?? []).filter(RotatingLogDirectory.isArchiveName)
  }

  /// Deletes the oldest archives until both the count and the total size are within the
  /// policy. Best effort: an archive that cannot be deleted is left for the next rotation.
  private func trimArchives() {
    var names = archives()
    var sizes = names.map { FileSystem.info(path + "/" + $0).map { Int($0.size) } ?? 0 }
    var total = sizes.reduce(0, +)
    while !names.isEmpty
      && (names.count > policy.maximumArchiveCount
        || (policy.maximumTotalArchiveSize > 0 && total > policy.maximumTotalArchiveSize))
    {
      FileSystem.remove(path + "/" + names[0])
      total -= sizes[0]
      names.removeFirst()
      sizes.removeFirst()
    }
  }

  /// `@` + 24 hex digits + `.s` or `.u`: TAI64N names sort by time.
  static func isArchiveName(_ name: String) -> Bool {
    let bytes = Array(name.utf8)
    guard bytes.count == 27, bytes[0] == 0x40, bytes[25] == 0x2e, bytes[26] == 0x73 || bytes[26] == 0x75 else {
      return false
    }
    return bytes[1..<25].allSatisfy { ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x61 && $0 <= 0x66) }
  }

  private static func archivePath(_ directory: String, suffix: String) -> String {
    var name: [UInt8] = []
    Timestamp.appendTAI64N(WallTime.now(), to: &name)
    return directory + "/" + String(decoding: name, as: UTF8.self) + "." + suffix
  }
}

extension LogDirectoryError {
  /// Runs `body`, turning its errno into an error that names the operation and path.
  static func wrap<T>(_ operation: String, _ path: String, _ body: () throws(Errno) -> T) throws(LogDirectoryError) -> T {
    do {
      return try body()
    } catch {
      throw LogDirectoryError(operation: operation, path: path, errno: error)
    }
  }
}

extension UnsafeRawBufferPointer {
  /// No bytes.
  public static var empty: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: nil, count: 0) }
}
