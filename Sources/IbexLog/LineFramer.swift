import CIbex

/// One line, or one piece of a line cut at the length limit, as `LineFramer` hands it out.
///
/// `bytes` excludes the `\n` and is only valid during the callback that receives it. The
/// bytes are exactly what the program wrote: invalid UTF-8, NUL and a trailing `\r` (from
/// CRLF output) are kept; sinks that need text (console, JSON) decide what to do with them.
public struct FramedLine {
  public var bytes: UnsafeRawBufferPointer
  /// The line goes on in the next piece: it was longer than the limit and cut here.
  public var isCut: Bool
  /// This piece continues a line cut before it.
  public var isContinuation: Bool

  public init(bytes: UnsafeRawBufferPointer, isCut: Bool = false, isContinuation: Bool = false) {
    self.bytes = bytes
    self.isCut = isCut
    self.isContinuation = isContinuation
  }
}

/// Splits a byte stream into lines on `\n`.
///
/// Lines longer than `maximumLineLength` bytes are cut into pieces of that length, marked
/// `isCut` / `isContinuation`; a line of exactly the limit is not cut. `finish()` hands out a
/// last line that had no `\n`.
///
/// Complete lines inside a pushed chunk are handed out in place (no copy); only the unfinished
/// tail of a chunk is kept, to be joined with the next one. Scans use `memchr`.
public struct LineFramer {
  public let maximumLineLength: Int
  /// The start of a line whose end has not arrived yet.
  private var partial: [UInt8] = []
  /// Whether `partial` (or the next line) continues a cut line.
  private var continuing = false

  public init(maximumLineLength: Int = 8192) {
    precondition(maximumLineLength > 0, "ibex bug: line limit must be positive")
    self.maximumLineLength = maximumLineLength
  }

  /// Bytes held back until their line ends.
  public var pendingByteCount: Int { partial.count }

  /// Frames `bytes` and calls `emit` with every line (or piece) completed by them, in order.
  public mutating func push(_ bytes: UnsafeRawBufferPointer, _ emit: (FramedLine) -> Void) {
    guard let base = bytes.baseAddress else { return }
    var start = 0
    while start < bytes.count {
      let room = maximumLineLength - partial.count
      // Look one byte past the room: a newline there still ends a line of exactly the limit.
      let window = min(bytes.count - start, room + 1)
      if let found = memchr(base + start, 0x0a, window) {
        let end = base.distance(to: UnsafeRawPointer(found))
        deliver(UnsafeRawBufferPointer(rebasing: bytes[start..<end]), isCut: false, emit)
        start = end + 1
      } else if window == room + 1 {
        deliver(UnsafeRawBufferPointer(rebasing: bytes[start..<(start + room)]), isCut: true, emit)
        start += room
      } else {
        partial.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[start...]))
        return
      }
    }
  }

  /// Hands out the last line if the stream ended without a `\n`.
  public mutating func finish(_ emit: (FramedLine) -> Void) {
    guard !partial.isEmpty else { return }
    let empty = UnsafeRawBufferPointer(start: nil, count: 0)
    deliver(empty, isCut: false, emit)
  }

  /// Emits `partial + tail` as one piece and resets the partial line.
  private mutating func deliver(_ tail: UnsafeRawBufferPointer, isCut: Bool, _ emit: (FramedLine) -> Void) {
    let isContinuation = continuing
    continuing = isCut
    if partial.isEmpty {
      emit(FramedLine(bytes: tail, isCut: isCut, isContinuation: isContinuation))
      return
    }
    partial.append(contentsOf: tail)
    partial.withUnsafeBytes { emit(FramedLine(bytes: $0, isCut: isCut, isContinuation: isContinuation)) }
    partial.removeAll(keepingCapacity: true)
  }
}
