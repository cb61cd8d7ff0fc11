import CIbex
import IbexCore

/// The file operations of log directories: append-only files, atomic renames, fsync.
public enum LogFiles {
  /// Opens `path` for appending, creating it with `mode` (minus the umask). Close-on-exec.
  /// Corresponds to `open(path, O_WRONLY|O_APPEND|O_CREAT)`.
  public static func openAppend(_ path: String, mode: UInt32) throws(Errno) -> FileDescriptor {
    FileDescriptor(rawValue: try FileSystem.withPath(path) { ibex_log_open_append($0, mode) })
  }

  /// Renames atomically, replacing `to`. Corresponds to `rename(2)`.
  public static func rename(_ from: String, to: String) throws(Errno) {
    _ = try FileSystem.withPath(from) { source in to.withCString { ibex_log_rename(source, $0) } }
  }

  /// Creates a directory with exactly `mode` (not reduced by the umask); an existing one is
  /// left as it is.
  public static func makeDirectory(_ path: String, mode: UInt32) throws(Errno) {
    _ = try FileSystem.withPath(path) { ibex_log_mkdir($0, mode) }
  }

  /// The process's umask. Corresponds to `umask(2)` (read, then restored).
  public static var umask: UInt32 { ibex_log_umask() }
}

extension FileDescriptor {
  /// Writes as much of `bytes` as the kernel takes in one call (retrying EINTR) and returns
  /// how much that was. Corresponds to `write(2)`.
  public func writeSome(_ bytes: UnsafeRawBufferPointer) throws(Errno) -> Int {
    while true {
      let r = ibex_write(rawValue, bytes.baseAddress, bytes.count)
      if r >= 0 { return r }
      let error = Errno(rawValue: Int32(-r))
      if error != .interrupted { throw error }
    }
  }

  /// Writes the buffers in order with one system call (at most 64 of them), retrying EINTR;
  /// returns the number of bytes written. Corresponds to `writev(2)`.
  public func writeSome(vectors bases: UnsafePointer<UnsafeRawPointer?>, lengths: UnsafePointer<Int>, count: Int) throws(Errno) -> Int {
    while true {
      let r = lengths.withMemoryRebound(to: size_t.self, capacity: count) {
        ibex_log_writev(rawValue, bases, $0, Int32(count))
      }
      if r >= 0 { return r }
      let error = Errno(rawValue: Int32(-r))
      if error != .interrupted { throw error }
    }
  }

  /// Flushes the file's data to the disk. Corresponds to `fsync(2)`.
  public func sync() throws(Errno) {
    while true {
      let r = ibex_log_fsync(rawValue)
      if r >= 0 { return }
      if Errno(rawValue: -r) != .interrupted { throw Errno(rawValue: -r) }
    }
  }

  /// Corresponds to `fchmod(2)`.
  public func setMode(_ mode: UInt32) throws(Errno) {
    _ = try Errno.check(ibex_log_fchmod(rawValue, mode))
  }

  /// The size of the open file. Corresponds to `fstat(2)`.
  public func size() throws(Errno) -> Int {
    let r = ibex_log_fsize(rawValue)
    if r < 0 { throw Errno(rawValue: Int32(-r)) }
    return Int(r)
  }

  /// Takes an exclusive lock without waiting: `.wouldBlock` if another process holds it.
  /// Corresponds to `flock(fd, LOCK_EX|LOCK_NB)`.
  public func lockExclusively() throws(Errno) {
    _ = try Errno.check(ibex_log_lock(rawValue))
  }
}

/// Signal handling for programs that wait in `poll(2)` rather than in the event loop.
public enum SignalPolling {
  /// Blocks `signals` (adding them to the mask), so they queue for a signalfd.
  /// Corresponds to `sigprocmask(SIG_BLOCK)`.
  public static func block(_ signals: SignalSet) throws(Errno) {
    var raw = signals.raw
    _ = try Errno.check(ibex_log_block_signals(&raw))
  }

  /// Ignores `signal` (SIG_IGN), e.g. SIGPIPE so that a closed pipe is an EPIPE error.
  public static func ignore(_ signal: Signal) throws(Errno) {
    _ = try Errno.check(ibex_log_ignore_signal(signal.rawValue))
  }

  /// A non-blocking, close-on-exec signalfd for `signals` (which must be blocked).
  public static func signalDescriptor(for signals: SignalSet) throws(Errno) -> FileDescriptor {
    var raw = signals.raw
    return FileDescriptor(rawValue: try Errno.check(ibex_signalfd(&raw)))
  }

  /// The signals waiting on a signalfd from `signalDescriptor`, oldest first.
  public static func read(_ fd: FileDescriptor) -> [Signal] {
    var infos = [signalfd_siginfo](repeating: signalfd_siginfo(), count: 8)
    let size = MemoryLayout<signalfd_siginfo>.stride
    let count = infos.withUnsafeMutableBytes { (bytes) -> Int in (try? fd.read(into: bytes)) ?? 0 }
    return (0..<(count / size)).map { Signal(rawValue: Int32(bitPattern: infos[$0].ssi_signo)) }
  }

  /// What `poll` found on its two descriptors.
  public struct Readiness {
    /// Data or end of file (or an error) on the first / second descriptor.
    public var first: Bool
    public var second: Bool
  }

  /// Waits until `first` or `second` (nil: not watched) is readable, hung up or in error, or
  /// `timeoutMilliseconds` pass (nil: no limit). EINTR counts as a timeout.
  /// Corresponds to `poll(2)`.
  public static func poll(_ first: FileDescriptor?, _ second: FileDescriptor?, timeoutMilliseconds: Int?) throws(Errno) -> Readiness {
    var events0: Int16 = 0
    var events1: Int16 = 0
    let timeout = Int32(clamping: timeoutMilliseconds ?? -1)
    let r = ibex_log_poll(first?.rawValue ?? -1, second?.rawValue ?? -1, timeout, &events0, &events1)
    if r < 0 { throw Errno(rawValue: -r) }
    return Readiness(first: events0 != 0, second: events1 != 0)
  }
}
