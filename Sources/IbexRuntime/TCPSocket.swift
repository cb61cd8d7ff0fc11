import CIbex
import IbexCore

/// TCP listening sockets, for `ibex serve-metrics` (never used by PID 1).
public enum TCPSocket {
  /// Listens on `address`: non-blocking, close-on-exec, SO_REUSEADDR.
  public static func listen(_ address: ListenAddress, backlog: Int32 = 128) throws(Errno) -> FileDescriptor {
    FileDescriptor(rawValue: try FileSystem.withPath(address.host) { ibex_tcp_listen($0, address.isIPv6 ? 1 : 0, address.port, backlog) })
  }

  /// Ends the sending side: the peer reads end of file; what it still sends can be read.
  public static func shutdownWrite(_ fd: FileDescriptor) { _ = ibex_shutdown_write(fd.rawValue) }

  /// Accepts one waiting connection, or returns nil when none is waiting.
  public static func accept(from listener: FileDescriptor) throws(Errno) -> FileDescriptor? {
    let fd = ibex_tcp_accept(listener.rawValue)
    if fd == -Errno.wouldBlock.rawValue { return nil }
    return FileDescriptor(rawValue: try Errno.check(fd))
  }
}
