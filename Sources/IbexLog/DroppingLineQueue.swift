/// Lines waiting for a writer that does not take them, bounded: at most `limit` bytes, the
/// oldest dropped first and counted (ibex's own lines while its stderr is not read;
/// docs/logging.md, "ibex's own lines"). Always keeps the newest line, however long.
public struct DroppingLineQueue: Equatable, Sendable {
  public let limit: Int
  public private(set) var lines: [[UInt8]] = []
  public private(set) var byteCount = 0
  /// Lines dropped since the last `take`.
  public private(set) var dropped = 0

  public init(limit: Int) { self.limit = limit }

  public var isEmpty: Bool { lines.isEmpty }

  public mutating func append(_ line: [UInt8]) {
    lines.append(line)
    byteCount += line.count
    var drop = 0
    while byteCount > limit && drop < lines.count - 1 {
      byteCount -= lines[drop].count
      drop += 1
    }
    if drop > 0 {
      lines.removeFirst(drop)
      dropped += drop
    }
  }

  /// Takes the oldest lines while `fits` says the writer has room (it gets the bytes taken
  /// so far), and how many were dropped before them (then reset).
  public mutating func take(while fits: (Int) -> Bool) -> (dropped: Int, lines: [[UInt8]]) {
    var taken = 0
    var bytes = 0
    while taken < lines.count && fits(bytes) {
      bytes += lines[taken].count
      taken += 1
    }
    guard taken > 0 else { return (0, []) }
    let out = Array(lines[..<taken])
    lines.removeFirst(taken)
    byteCount -= bytes
    defer { dropped = 0 }
    return (dropped, out)
  }
}
