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

/// The processes of this pid namespace, as /proc shows them.
public enum ProcessTable {
  /// The size of a memory page, in bytes.
  public static var pageSize: Int64 { Int64(ibex_page_size()) }

  /// `/proc/PID/stat` of every process (those that end meanwhile are skipped). One read per
  /// process into a reused buffer: cheap enough for every scrape.
  public static func stats(root: String = "/proc") -> [ProcessStat] {
    guard let names = try? FileSystem.list(root) else { return [] }
    var stats: [ProcessStat] = []
    var buffer = [UInt8](repeating: 0, count: 1024)
    for name in names where name.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) {
      guard let fd = try? FileSystem.open(root + "/" + name + "/stat", flags: 0) else { continue }
      let n = buffer.withUnsafeMutableBytes { bytes -> Int in (try? fd.read(into: bytes)) ?? 0 }
      fd.close()
      if n > 0, let stat = ProcessStat(parsing: Array(buffer[0..<n])) { stats.append(stat) }
    }
    return stats
  }
}
