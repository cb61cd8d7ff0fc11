import CIbex

/// Who is at the other end of a Unix socket (SO_PEERCRED): set by the kernel, not the peer.
public struct PeerCredentials: Equatable, Sendable {
  public var uid: UInt32
  public var gid: UInt32
  public var pid: Int32
}

/// Unix stream sockets for the control channel.
public enum UnixSocket {
  /// Listens at `path`: non-blocking, close-on-exec, the socket file with `mode` and, if given,
  /// owned by `group`. A stale socket file is replaced.
  public static func listen(at path: String, mode: UInt32, group: UInt32?) throws(Errno) -> FileDescriptor {
    FileDescriptor(rawValue: try FileSystem.withPath(path) { ibex_listen($0, mode, group ?? UInt32.max) })
  }

  /// Accepts one waiting connection, or returns nil when none is waiting.
  public static func accept(from listener: FileDescriptor) throws(Errno) -> (FileDescriptor, PeerCredentials)? {
    var uid: UInt32 = 0
    var gid: UInt32 = 0
    var pid: Int32 = 0
    let fd = ibex_accept(listener.rawValue, &uid, &gid, &pid)
    if fd == -Errno.wouldBlock.rawValue { return nil }
    return (FileDescriptor(rawValue: try Errno.check(fd)), PeerCredentials(uid: uid, gid: gid, pid: pid))
  }

  /// Connects to the socket at `path`; reads and writes on it time out after `timeoutMilliseconds`.
  public static func connect(to path: String, timeoutMilliseconds: Int32) throws(Errno) -> FileDescriptor {
    FileDescriptor(rawValue: try FileSystem.withPath(path) { ibex_connect($0, timeoutMilliseconds) })
  }
}
