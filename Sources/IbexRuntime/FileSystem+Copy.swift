import CIbex

extension FileInfo {
  /// Whether `lstat(2)` found a symbolic link.
  public var isSymbolicLink: Bool { mode & ibex_S_IFMT == ibex_S_IFLNK }
  /// The permission bits (including setuid, setgid and sticky).
  public var permissions: UInt32 { mode & 0o7777 }
}

/// Building runtime directories: live service directories, fix-attrs.
extension FileSystem {
  /// `lstat(2)`, or nil when the path does not exist or cannot be reached: a symlink is
  /// described, not followed.
  public static func linkInfo(_ path: String) -> FileInfo? {
    var raw = ibex_file_info()
    let result = path.withCString { ibex_lstat($0, &raw) }
    guard result == 0 else { return nil }
    return FileInfo(mode: raw.mode, uid: raw.uid, gid: raw.gid, size: raw.size)
  }

  /// Creates the symbolic link `path` pointing to `target`. Corresponds to `symlink(2)`.
  public static func makeSymbolicLink(_ path: String, to target: String) throws(Errno) {
    _ = try withPath(path) { link in target.withCString { ibex_symlink($0, link) } }
  }

  /// Changes a path's owner. Corresponds to `chown(2)` (a symlink is followed).
  public static func setOwner(_ path: String, uid: UInt32, gid: UInt32) throws(Errno) {
    _ = try withPath(path) { ibex_chown($0, uid, gid) }
  }

  /// Removes a file, a symlink or a whole directory tree; a missing path is not an error.
  /// Symlinks are removed, never followed.
  public static func removeTree(_ path: String) throws(Errno) {
    guard let info = linkInfo(path) else { return }
    if info.isDirectory {
      for name in try list(path) { try removeTree(path + "/" + name) }
      _ = try withPath(path) { ibex_rmdir($0) }
    } else {
      let result = path.withCString { ibex_unlink($0) }
      if result < 0 && result != -Errno.noSuchFileOrDirectory.rawValue { throw Errno(rawValue: -result) }
    }
  }

  /// Copies a regular file's contents to `destination` (replaced if it exists; a symlink
  /// there is not followed) and gives the copy exactly `mode`.
  public static func copyFile(_ source: String, to destination: String, mode: UInt32) throws(Errno) {
    let contents = try read(source, limit: 64 << 20)
    if let existing = linkInfo(destination), !existing.isDirectory { remove(destination) }
    let fd = FileDescriptor(rawValue: try withPath(destination) { ibex_create($0, 0o600) })
    defer { fd.close() }
    var failure: Errno?
    contents.withUnsafeBytes { bytes in
      do throws(Errno) { try fd.writeAll(bytes) } catch { failure = error }
    }
    if let failure { throw failure }
    try setMode(destination, mode)
  }
}
