/// A length of time, in nanoseconds, as written in configuration and on the command line.
///
/// The syntax is systemd's time span: one or more numbers, each with an optional unit,
/// optionally separated by spaces (`2s`, `500ms`, `1min 30s`, `1.5s`). A bare number is in
/// seconds. Units: `ns`, `us`/`usec`, `ms`/`msec`, `s`/`sec`/`second(s)`, `m`/`min`/`minute(s)`,
/// `h`/`hr`/`hour(s)`, `d`/`day(s)`.
public struct TimeSpan: Equatable, Comparable, Sendable {
  public var nanoseconds: Int64

  public init(nanoseconds: Int64) { self.nanoseconds = nanoseconds }

  public static let zero = TimeSpan(nanoseconds: 0)
  public static func milliseconds(_ n: Int64) -> TimeSpan { TimeSpan(nanoseconds: n * 1_000_000) }
  public static func seconds(_ n: Int64) -> TimeSpan { TimeSpan(nanoseconds: n * 1_000_000_000) }

  public static func < (a: TimeSpan, b: TimeSpan) -> Bool { a.nanoseconds < b.nanoseconds }

  /// Why a time span could not be parsed; `description` is a sentence for the user.
  public enum ParseError: Error, Equatable {
    case empty
    case invalidNumber(String)
    case unknownUnit(String)
    case overflow

    public var description: String {
      switch self {
      case .empty: return "empty time span"
      case .invalidNumber(let word): return "'\(word)' is not a number"
      case .unknownUnit(let unit): return "unknown time unit '\(unit)' (use ms, s, min, h)"
      case .overflow: return "time span too large"
      }
    }
  }

  private static func unitNanoseconds(_ unit: Substring) -> Int64? {
    switch unit {
    case "ns", "nsec": return 1
    case "us", "usec": return 1_000
    case "ms", "msec": return 1_000_000
    case "", "s", "sec", "second", "seconds": return 1_000_000_000
    case "m", "min", "minute", "minutes": return 60_000_000_000
    case "h", "hr", "hour", "hours": return 3_600_000_000_000
    case "d", "day", "days": return 86_400_000_000_000
    default: return nil
    }
  }

  /// Parses a time span such as `2s`, `500ms` or `1min 30s`.
  public init(parsing text: String) throws(ParseError) {
    let bytes = Array(text.utf8)
    var index = 0
    var total: Int64 = 0
    var sawTerm = false
    func isSpace(_ b: UInt8) -> Bool { b == 0x20 || b == 0x09 }
    func isDigit(_ b: UInt8) -> Bool { b >= 0x30 && b <= 0x39 }
    func isLetter(_ b: UInt8) -> Bool { (b >= 0x61 && b <= 0x7a) || (b >= 0x41 && b <= 0x5a) }
    while true {
      while index < bytes.count && isSpace(bytes[index]) { index += 1 }
      if index == bytes.count { break }
      // The number: digits, optionally a fraction.
      let numberStart = index
      var whole: Int64 = 0
      var fraction: Int64 = 0
      var fractionScale: Int64 = 1
      var digits = 0
      while index < bytes.count && isDigit(bytes[index]) {
        let (m, o1) = whole.multipliedReportingOverflow(by: 10)
        let (a, o2) = m.addingReportingOverflow(Int64(bytes[index] - 0x30))
        if o1 || o2 { throw .overflow }
        whole = a
        index += 1
        digits += 1
      }
      if index < bytes.count && bytes[index] == 0x2E {  // "."
        index += 1
        while index < bytes.count && isDigit(bytes[index]) {
          if fractionScale < 1_000_000_000_000 {
            fraction = fraction * 10 + Int64(bytes[index] - 0x30)
            fractionScale *= 10
          }
          index += 1
          digits += 1
        }
      }
      while index < bytes.count && isSpace(bytes[index]) { index += 1 }
      let unitStart = index
      while index < bytes.count && isLetter(bytes[index]) { index += 1 }
      if digits == 0 || (index < bytes.count && !isSpace(bytes[index]) && !isDigit(bytes[index])) {
        var end = index
        while end < bytes.count && !isSpace(bytes[end]) { end += 1 }
        throw .invalidNumber(String(decoding: bytes[numberStart..<end], as: UTF8.self))
      }
      let unitText = Substring(String(decoding: bytes[unitStart..<index], as: UTF8.self))
      guard let unit = TimeSpan.unitNanoseconds(unitText) else { throw .unknownUnit(String(unitText)) }
      let (scaled, o1) = whole.multipliedReportingOverflow(by: unit)
      let (sum, o2) = total.addingReportingOverflow(scaled)
      if o1 || o2 { throw .overflow }
      // At most 12 fraction digits are kept; a Double is exact enough for the remainder.
      let part = Int64(Double(fraction) / Double(fractionScale) * Double(unit))
      let (withFraction, o3) = sum.addingReportingOverflow(part)
      if o3 { throw .overflow }
      total = withFraction
      sawTerm = true
    }
    if !sawTerm { throw .empty }
    nanoseconds = total
  }
}
