import CIbex

/// An error number from a system call.
///
/// The shim returns `-errno` from every call that can fail, and this type gives the value a
/// name; `description` is the C library's message (`strerror`).
public struct Errno: RawRepresentable, Error, Hashable, Sendable {
  public var rawValue: Int32
  public init(rawValue: Int32) { self.rawValue = rawValue }

  /// Wraps the result of a shim call: a negative value is `-errno`.
  @inlinable
  static func check(_ result: Int32) throws(Errno) -> Int32 {
    if result < 0 { throw Errno(rawValue: -result) }
    return result
  }

  /// Operation not permitted. C name: `EPERM`.
  public static let notPermitted = Errno(rawValue: 1)
  /// No such file or directory. C name: `ENOENT`.
  public static let noSuchFileOrDirectory = Errno(rawValue: 2)
  /// No such process. C name: `ESRCH`.
  public static let noSuchProcess = Errno(rawValue: 3)
  /// Interrupted system call. C name: `EINTR`.
  public static let interrupted = Errno(rawValue: 4)
  /// Bad file descriptor. C name: `EBADF`.
  public static let badFileDescriptor = Errno(rawValue: 9)
  /// No child processes. C name: `ECHILD`.
  public static let noChildProcess = Errno(rawValue: 10)
  /// Resource temporarily unavailable. C name: `EAGAIN`.
  public static let wouldBlock = Errno(rawValue: 11)
  /// Permission denied. C name: `EACCES`.
  public static let permissionDenied = Errno(rawValue: 13)
  /// Operation canceled (a CANCEL_ON_SET timerfd after the clock was set). C name: `ECANCELED`.
  public static let canceled = Errno(rawValue: 125)
  /// Invalid argument. C name: `EINVAL`.
  public static let invalidArgument = Errno(rawValue: 22)
  /// Exec format error. C name: `ENOEXEC`.
  public static let execFormatError = Errno(rawValue: 8)
  /// Is a directory. C name: `EISDIR`.
  public static let isDirectory = Errno(rawValue: 21)

  /// ibex's own: a configuration path that is a FIFO, device, socket or directory.
  public static let notRegularFile = Errno(rawValue: IBEX_ENOTREG)

  /// The C library's message for this error, e.g. "No such file or directory".
  public var description: String {
    self == .notRegularFile ? "not a regular file (a FIFO, device or socket is refused)" : String(cString: ibex_strerror(rawValue))
  }
}
