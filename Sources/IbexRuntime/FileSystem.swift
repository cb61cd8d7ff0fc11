import CIbex
import IbexCore

/// What `stat(2)` says about a path.
public struct FileInfo: Equatable, Sendable {
  public var mode: UInt32
  public var uid: UInt32
  public var gid: UInt32
  public var size: UInt64
  public var isRegularFile: Bool { mode & ibex_S_IFMT == ibex_S_IFREG }
  public var isDirectory: Bool { mode & ibex_S_IFMT == ibex_S_IFDIR }
  /// Whether anyone may execute it.
  public var isExecutable: Bool { mode & 0o111 != 0 }
  /// The permission bits as `ls -l`'s octal form, e.g. `0644`, for messages.
  public var permissionsText: String {
    var digits = ""
    var rest = permissions
    for _ in 0..<4 {
      digits = String(rest & 7) + digits
      rest >>= 3
    }
    return digits
  }
}

/// Files and directories, for reading configuration and preparing runtime state.
public enum FileSystem {
  /// Calls a shim function with `path` as a C string and checks its -errno result.
  static func withPath(_ path: String, _ body: (UnsafePointer<CChar>) -> Int32) throws(Errno) -> Int32 {
    try Errno.check(path.withCString(body))
  }

  /// The whole contents of a regular file. Files larger than `limit` bytes are refused
  /// (EFBIG); so is anything that is not a regular file (`Errno.notRegularFile`): reading a
  /// FIFO nobody writes to, or a device, would block ibex forever.
  public static func read(_ path: String, limit: Int = 1 << 20) throws(Errno) -> [UInt8] {
    let fd = FileDescriptor(rawValue: try withPath(path) { ibex_open_regular($0) })
    defer { fd.close() }
    var contents: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 16384)
    while true {
      var failure: Errno?
      let n = buffer.withUnsafeMutableBytes { (bytes) -> Int in
        do throws(Errno) { return try fd.read(into: bytes) ?? 0 } catch {
          failure = error
          return 0
        }
      }
      if let failure { throw failure }
      if n == 0 { return contents }
      contents.append(contentsOf: buffer[0..<n])
      if contents.count > limit { throw Errno(rawValue: 27) }  // EFBIG
    }
  }

  /// A file's contents as text (invalid UTF-8 is repaired).
  public static func readText(_ path: String) throws(Errno) -> String {
    String(decoding: try read(path), as: UTF8.self)
  }

  /// `stat(2)`, or nil when the path does not exist or cannot be reached.
  public static func info(_ path: String) -> FileInfo? {
    var raw = ibex_file_info()
    let result = path.withCString { ibex_stat($0, &raw) }
    guard result == 0 else { return nil }
    return FileInfo(mode: raw.mode, uid: raw.uid, gid: raw.gid, size: raw.size)
  }

  /// The names in a directory (without `.` and `..`), sorted bytewise.
  public static func list(_ directory: String) throws(Errno) -> [String] {
    var error: Int32 = 0
    guard let dir = directory.withCString({ ibex_opendir($0, &error) }) else { throw Errno(rawValue: error) }
    defer { ibex_closedir(dir) }
    var names: [String] = []
    while true {
      var name: UnsafePointer<CChar>?
      let r = ibex_readdir(dir, &name)
      if r == 0 { break }
      if r < 0 { throw Errno(rawValue: -r) }
      names.append(String(cString: name!))
    }
    return names.stablySorted(by: String.bytewiseLess)
  }

  /// Creates a directory and its missing parents.
  public static func makeDirectories(_ path: String, mode: UInt32 = 0o755) throws(Errno) {
    // Usually only the last component is missing (or none): one mkdir(2) then.
    let first = path.withCString { ibex_mkdir($0, mode) }
    if first == 0 { return }
    if first != -Errno.noSuchFileOrDirectory.rawValue { throw Errno(rawValue: -first) }
    var prefix = ""
    for component in path.split(separator: "/") {
      prefix += "/" + component
      _ = try withPath(prefix) { ibex_mkdir($0, mode) }
    }
  }

  public static func setMode(_ path: String, _ mode: UInt32) throws(Errno) {
    _ = try withPath(path) { ibex_chmod($0, mode) }
  }

  /// Creates or replaces a file with `contents`.
  public static func write(_ path: String, _ contents: String, mode: UInt32 = 0o644) throws(Errno) {
    let fd = FileDescriptor(rawValue: try withPath(path) { ibex_open($0, 0o1101, mode) })  // O_WRONLY|O_CREAT|O_TRUNC
    defer { fd.close() }
    try fd.writeAll(contents)
  }

  /// Whether the file system of `path` is mounted `noexec` (nil: unknown).
  public static func isMountedNoExec(_ path: String) -> Bool? {
    var flags: UInt64 = 0
    guard path.withCString({ ibex_mount_flags($0, &flags) }) == 0 else { return nil }
    return flags & ibex_ST_NOEXEC != 0
  }

  /// Flushes every file system's buffers to disk (`sync(2)`).
  public static func sync() { ibex_sync() }

  /// The target of a symbolic link. Corresponds to `readlink(2)`.
  public static func linkTarget(_ path: String) throws(Errno) -> String {
    var buffer = [UInt8](repeating: 0, count: 4096)
    let n = buffer.withUnsafeMutableBufferPointer { raw in
      path.withCString { ibex_readlink($0, raw.baseAddress!, raw.count) }
    }
    if n < 0 { throw Errno(rawValue: Int32(-n)) }
    return String(decoding: buffer[0..<n], as: UTF8.self)
  }

  /// The current working directory.
  public static func currentDirectory() -> String? {
    var buffer = [UInt8](repeating: 0, count: 4096)
    let result = buffer.withUnsafeMutableBufferPointer { raw in
      raw.baseAddress!.withMemoryRebound(to: CChar.self, capacity: raw.count) { ibex_getcwd($0, raw.count) }
    }
    guard result == 0, let end = buffer.firstIndex(of: 0) else { return nil }
    return String(decoding: buffer[..<end], as: UTF8.self)
  }

  /// Opens `path` with `open(2)` flags (O_CLOEXEC is always added); the caller closes it.
  public static func open(_ path: String, flags: Int32, mode: UInt32 = 0) throws(Errno) -> FileDescriptor {
    FileDescriptor(rawValue: try withPath(path) { ibex_open($0, flags, mode) })
  }

  /// Opens a file read-write (for /dev/null and the like); the caller closes it.
  public static func openReadWrite(_ path: String) throws(Errno) -> FileDescriptor {
    FileDescriptor(rawValue: try withPath(path) { ibex_open($0, 2, 0) })
  }

  /// Removes a file; a missing one is not an error.
  public static func remove(_ path: String) {
    _ = path.withCString { ibex_unlink($0) }
  }

  /// A pipe: (read end, write end), both close-on-exec, the read end non-blocking.
  public static func pipe() throws(Errno) -> (read: FileDescriptor, write: FileDescriptor) {
    var fds: [Int32] = [0, 0]
    _ = try Errno.check(fds.withUnsafeMutableBufferPointer { ibex_pipe($0.baseAddress) })
    return (FileDescriptor(rawValue: fds[0]), FileDescriptor(rawValue: fds[1]))
  }
}

/// The sd_notify socket: services of `Type=notify` send `READY=1` and `STATUS=...` here.
public enum NotifySocket {
  /// Creates the socket at `path` (replacing a stale one), writable by every user so that
  /// services that drop privileges can still report; ibex trusts only datagrams whose
  /// sender is a service's main process.
  public static func open(at path: String) throws(Errno) -> FileDescriptor {
    let fd = FileDescriptor(rawValue: try FileSystem.withPath(path) { ibex_notify_socket($0) })
    try FileSystem.setMode(path, 0o777)
    return fd
  }

  /// The next datagram and its sender's pid, or nil when none is waiting.
  public static func receive(from fd: FileDescriptor) -> (pid: Int32, message: String)? {
    var buffer = [UInt8](repeating: 0, count: 4096)
    var sender: Int32 = 0
    while true {
      let n = buffer.withUnsafeMutableBufferPointer { raw in
        raw.baseAddress!.withMemoryRebound(to: CChar.self, capacity: raw.count) {
          ibex_notify_receive(fd.rawValue, $0, raw.count, &sender)
        }
      }
      if n < 0 { return nil }  // EAGAIN: drained (other errors: nothing useful to do)
      return (sender, String(decoding: buffer[0..<n], as: UTF8.self))
    }
  }
}
