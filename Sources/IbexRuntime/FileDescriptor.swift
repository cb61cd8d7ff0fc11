import CIbex

/// An open file descriptor, as a typed integer. It does not own the descriptor; the types
/// that do (`Epoll`, `SignalFD`, `TimerFD`) are non-copyable and close it when they end.
public struct FileDescriptor: RawRepresentable, Hashable, Sendable {
  public var rawValue: Int32
  public init(rawValue: Int32) { self.rawValue = rawValue }

  public static let standardInput = FileDescriptor(rawValue: 0)
  public static let standardOutput = FileDescriptor(rawValue: 1)
  public static let standardError = FileDescriptor(rawValue: 2)

  /// Reads up to `buffer.count` bytes. Returns `nil` if the fd is non-blocking and empty,
  /// 0 at end of file. Retries on EINTR. Corresponds to `read(2)`.
  public func read(into buffer: UnsafeMutableRawBufferPointer) throws(Errno) -> Int? {
    while true {
      let r = ibex_read(rawValue, buffer.baseAddress, buffer.count)
      if r >= 0 { return r }
      switch Errno(rawValue: Int32(-r)) {
      case .interrupted: continue
      case .wouldBlock: return nil
      case let error: throw error
      }
    }
  }

  /// Writes all of `bytes`, retrying on EINTR and short writes. On a non-blocking fd that
  /// would block, throws `.wouldBlock`. Corresponds to `write(2)`.
  public func writeAll(_ bytes: UnsafeRawBufferPointer) throws(Errno) {
    var offset = 0
    while offset < bytes.count {
      let r = ibex_write(rawValue, bytes.baseAddress! + offset, bytes.count - offset)
      if r >= 0 {
        offset += r
        continue
      }
      let error = Errno(rawValue: Int32(-r))
      if error != .interrupted { throw error }
    }
  }

  /// Writes what a non-blocking fd takes now: the count written, or nil if it would block.
  /// Retries on EINTR. Corresponds to `write(2)`.
  public func writeSome(_ bytes: UnsafeRawBufferPointer) throws(Errno) -> Int? {
    while true {
      let r = ibex_write(rawValue, bytes.baseAddress, bytes.count)
      if r >= 0 { return r }
      switch Errno(rawValue: Int32(-r)) {
      case .interrupted: continue
      case .wouldBlock: return nil
      case let error: throw error
      }
    }
  }

  /// Writes a string's UTF-8 bytes.
  public func writeAll(_ text: String) throws(Errno) {
    var text = text
    var failure: Errno?
    text.withUTF8 { bytes in
      do throws(Errno) {
        try writeAll(UnsafeRawBufferPointer(bytes))
      } catch {
        failure = error
      }
    }
    if let failure { throw failure }
  }

  /// Closes the descriptor. Never retried: Linux releases the fd even when close fails.
  public func close() {
    _ = ibex_close(rawValue)
  }

  /// Makes reads and writes block (or not). The flag belongs to the open file description.
  public func setBlocking(_ blocking: Bool) throws(Errno) {
    _ = try Errno.check(ibex_set_blocking(rawValue, blocking ? 1 : 0))
  }

  /// Whether the fd refers to a terminal.
  public var isTerminal: Bool { ibex_isatty(rawValue) == 1 }
}
