import CIbex

extension FileSystem {
  /// Replaces `path` atomically with `contents`: a new temporary file beside it gets the owner
  /// and permission bits of the regular file it replaces (or `mode`, owned by ibex, when there
  /// is none or it is not a regular file, e.g. a symlink), is flushed, then renamed over
  /// `path`. Readers see the old file or the new one, never a part, and never looser modes.
  public static func replaceAtomically(_ path: String, with contents: [UInt8], mode: UInt32) throws(Errno) {
    let existing = linkInfo(path).flatMap { $0.isRegularFile ? $0 : nil }
    let temporary = path + ".ibex-new"
    remove(temporary)  // left by an interrupted boot
    // 0600 until the final mode is set: a secret is never readable by others on the way.
    let fd = FileDescriptor(rawValue: try withPath(temporary) { ibex_create_new($0, 0o600) })
    var failure: Errno?
    do throws(Errno) {
      if let existing { _ = try Errno.check(ibex_fchown(fd.rawValue, existing.uid, existing.gid)) }
      contents.withUnsafeBytes { bytes in
        do throws(Errno) { try fd.writeAll(bytes) } catch { failure = error }
      }
      if let failure { throw failure }
      _ = try Errno.check(ibex_log_fchmod(fd.rawValue, existing?.permissions ?? mode))
      try fd.sync()
    } catch {
      failure = error
    }
    fd.close()
    if failure == nil {
      do throws(Errno) { try LogFiles.rename(temporary, to: path) } catch { failure = error }
    }
    if let failure {
      remove(temporary)
      throw failure
    }
  }

  /// Whether the file system of `path` is mounted read-only (nil: unknown).
  public static func isMountedReadOnly(_ path: String) -> Bool? {
    var flags: UInt64 = 0
    guard path.withCString({ ibex_mount_flags($0, &flags) }) == 0 else { return nil }
    return flags & ibex_ST_RDONLY != 0
  }
}

extension FileSystem {
  /// Gives `path` and everything below it to uid:gid; symlinks are changed themselves, never
  /// followed (a service cannot make ibex chown what its links point to).
  public static func setOwnerRecursively(_ path: String, uid: UInt32, gid: UInt32) throws(Errno) {
    guard let info = linkInfo(path) else { return }
    _ = try withPath(path) { ibex_lchown($0, uid, gid) }
    if info.isDirectory {
      for name in try list(path) { try setOwnerRecursively(path + "/" + name, uid: uid, gid: gid) }
    }
  }
}
