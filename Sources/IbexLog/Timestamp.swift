import IbexCore
import IbexRuntime

/// Timestamp formats for log lines. Pure: the time is an argument.
public enum Timestamp {
  /// TAI64N as s6-log writes it: `@` and 24 lowercase hex digits, the TAI64 seconds label
  /// (2^62 + TAI seconds since 1970) then the nanoseconds.
  ///
  /// Like skalibs on a UTC system clock (its default build), TAI = UTC + 10 s + the leap
  /// seconds inserted so far (27 since 2017, so 37 s today).
  public static func appendTAI64N(_ time: WallTime, to out: inout [UInt8]) {
    let label = UInt64(bitPattern: time.seconds &+ taiOffset(utc: time.seconds)) &+ (1 << 62)
    out.append(0x40)  // @
    appendHex(label, digits: 16, to: &out)
    appendHex(UInt64(time.nanoseconds), digits: 8, to: &out)
  }

  /// RFC 3339 in UTC with microseconds: `2026-11-29T21:04:05.123456Z`. Microseconds keep the
  /// lines short and are finer than the ordering of writes through a pipe anyway.
  public static func appendRFC3339(_ time: WallTime, to out: inout [UInt8]) {
    appendDateTime(time, separator: 0x54, to: &out)  // T
    out.append(0x2e)
    appendDecimal(Int(time.nanoseconds) / 1000, digits: 6, to: &out)
    out.append(0x5a)  // Z
  }

  /// s6-log's `T` stamp: `2026-11-29 21:04:05.123456789`. s6-log uses local time; ibex uses
  /// UTC (containers rarely have a time zone, and UTC sorts across daylight-saving changes).
  public static func appendHumanReadable(_ time: WallTime, to out: inout [UInt8]) {
    appendDateTime(time, separator: 0x20, to: &out)
    out.append(0x2e)
    appendDecimal(Int(time.nanoseconds), digits: 9, to: &out)
  }

  /// The three formats as strings (for tests and messages).
  public static func tai64n(_ time: WallTime) -> String { text(time, appendTAI64N) }
  public static func rfc3339(_ time: WallTime) -> String { text(time, appendRFC3339) }
  public static func humanReadable(_ time: WallTime) -> String { text(time, appendHumanReadable) }

  private static func text(_ time: WallTime, _ format: (WallTime, inout [UInt8]) -> Void) -> String {
    var out: [UInt8] = []
    format(time, &out)
    return String(decoding: out, as: UTF8.self)
  }

  /// The first Unix second after each leap second (IERS Bulletin C; the same list as
  /// skalibs' leapsecs table). No leap second has been announced after 2016-12-31.
  static let leapSecondStarts: [Int64] = [
    78_796_800, 94_694_400, 126_230_400, 157_766_400, 189_302_400, 220_924_800, 252_460_800,
    283_996_800, 315_532_800, 362_793_600, 394_329_600, 425_865_600, 489_024_000, 567_993_600,
    631_152_000, 662_688_000, 709_948_800, 741_484_800, 773_020_800, 820_454_400, 867_715_200,
    915_148_800, 1_136_073_600, 1_230_768_000, 1_341_100_800, 1_435_708_800, 1_483_228_800,
  ]

  /// TAI - UTC at a Unix time, in seconds.
  static func taiOffset(utc seconds: Int64) -> Int64 {
    var leaps: Int64 = 0
    for start in leapSecondStarts where start <= seconds { leaps += 1 }
    return 10 + leaps
  }

  /// `YYYY-MM-DD?HH:MM:SS` in UTC.
  private static func appendDateTime(_ time: WallTime, separator: UInt8, to out: inout [UInt8]) {
    let days = time.seconds >= 0 ? time.seconds / 86400 : (time.seconds - 86399) / 86400
    let secondOfDay = Int(time.seconds - days * 86400)
    let (year, month, day) = CivilTime.date(days: days)
    appendDecimal(Int(year), digits: 4, to: &out)
    out.append(0x2d)
    appendDecimal(month, digits: 2, to: &out)
    out.append(0x2d)
    appendDecimal(day, digits: 2, to: &out)
    out.append(separator)
    appendDecimal(secondOfDay / 3600, digits: 2, to: &out)
    out.append(0x3a)
    appendDecimal(secondOfDay / 60 % 60, digits: 2, to: &out)
    out.append(0x3a)
    appendDecimal(secondOfDay % 60, digits: 2, to: &out)
  }

  private static func appendDecimal(_ value: Int, digits: Int, to out: inout [UInt8]) {
    var divisor = 1
    for _ in 1..<digits { divisor *= 10 }
    var value = value
    while divisor > 0 {
      out.append(0x30 + UInt8(value / divisor % 10))
      value %= divisor
      divisor /= 10
    }
  }

  private static func appendHex(_ value: UInt64, digits: Int, to out: inout [UInt8]) {
    var shift = (digits - 1) * 4
    while shift >= 0 {
      let nibble = UInt8((value >> UInt64(shift)) & 0xf)
      out.append(nibble < 10 ? 0x30 + nibble : 0x57 + nibble)
      shift -= 4
    }
  }
}
