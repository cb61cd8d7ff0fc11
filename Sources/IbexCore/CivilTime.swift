/// Proleptic Gregorian calendar arithmetic on plain integers (no time zones): the conversions
/// between day counts and dates that log timestamps, calendar events and cron expressions share.
public enum CivilTime {
  /// Floor division (rounds towards minus infinity, unlike `/`).
  @inlinable
  public static func floorDivide(_ a: Int64, _ b: Int64) -> Int64 {
    let q = a / b
    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q
  }

  public static func isLeapYear(_ year: Int64) -> Bool {
    year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
  }

  /// 28 ... 31. `month` is 1 ... 12.
  public static func daysInMonth(year: Int64, month: Int) -> Int {
    switch month {
    case 2: return isLeapYear(year) ? 29 : 28
    case 4, 6, 9, 11: return 30
    default: return 31
    }
  }

  /// Days since 1970-01-01 of a date (Howard Hinnant's `days_from_civil`). `month` is 1 ... 12.
  public static func days(year: Int64, month: Int, day: Int) -> Int64 {
    let y = month <= 2 ? year - 1 : year
    let era = floorDivide(y, 400)
    let yearOfEra = y - era * 400
    let m = Int64(month)
    let dayOfYear = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + Int64(day) - 1
    let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
    return era * 146_097 + dayOfEra - 719_468
  }

  /// The date of a day count (Howard Hinnant's `civil_from_days`).
  public static func date(days: Int64) -> (year: Int64, month: Int, day: Int) {
    let z = days + 719_468
    let era = floorDivide(z, 146_097)
    let dayOfEra = z - era * 146_097
    let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36524 - dayOfEra / 146_096) / 365
    let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
    let shiftedMonth = (5 * dayOfYear + 2) / 153
    let day = Int(dayOfYear - (153 * shiftedMonth + 2) / 5 + 1)
    let month = Int(shiftedMonth < 10 ? shiftedMonth + 3 : shiftedMonth - 9)
    return (yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day)
  }

  /// 0 = Monday ... 6 = Sunday (1970-01-01 was a Thursday).
  public static func weekday(days: Int64) -> Int {
    Int((days % 7 + 7 + 3) % 7)
  }
}

/// A date and time of day without a zone: either UTC or a local wall-clock reading.
public struct CivilDateTime: Equatable, Sendable {
  public var year: Int64
  /// 1 ... 12.
  public var month: Int
  /// 1 ... 31.
  public var day: Int
  public var hour: Int
  public var minute: Int
  public var second: Int

  public init(year: Int64, month: Int, day: Int, hour: Int = 0, minute: Int = 0, second: Int = 0) {
    self.year = year
    self.month = month
    self.day = day
    self.hour = hour
    self.minute = minute
    self.second = second
  }

  /// The reading of `seconds` since the epoch (the epoch of the same clock: UTC or local).
  public init(seconds: Int64) {
    let days = CivilTime.floorDivide(seconds, 86400)
    let secondOfDay = Int(seconds - days * 86400)
    let date = CivilTime.date(days: days)
    self.init(
      year: date.year, month: date.month, day: date.day,
      hour: secondOfDay / 3600, minute: secondOfDay / 60 % 60, second: secondOfDay % 60)
  }

  /// Seconds since the epoch of the same clock, like `timegm`: fields out of their range carry
  /// over (month 13 is January of the next year, day 0 the last day of the previous month).
  public var seconds: Int64 {
    let monthIndex = Int64(month) - 1
    let year = self.year + CivilTime.floorDivide(monthIndex, 12)
    let month = Int(monthIndex - CivilTime.floorDivide(monthIndex, 12) * 12) + 1
    let days = CivilTime.days(year: year, month: month, day: 1) + Int64(day) - 1
    return days * 86400 + Int64(hour) * 3600 + Int64(minute) * 60 + Int64(second)
  }

  /// 0 = Monday ... 6 = Sunday.
  public var weekday: Int { CivilTime.weekday(days: CivilTime.days(year: year, month: month, day: day)) }

  /// `2026-03-29T03:00:00+02:00` (RFC 3339) for a UTC instant shown at a UTC offset; `Z` for
  /// offset 0 when `zulu` is set.
  public static func rfc3339(utc seconds: Int64, offset: Int32, zulu: Bool = false) -> String {
    let local = CivilDateTime(seconds: seconds + Int64(offset))
    var out = ""
    out += digits(local.year, 4) + "-" + digits(Int64(local.month), 2) + "-" + digits(Int64(local.day), 2)
    out += "T" + digits(Int64(local.hour), 2) + ":" + digits(Int64(local.minute), 2) + ":"
    out += digits(Int64(local.second), 2)
    if offset == 0 && zulu { return out + "Z" }
    let magnitude = Int64(offset < 0 ? -Int64(offset) : Int64(offset))
    out += offset < 0 ? "-" : "+"
    out += digits(magnitude / 3600, 2) + ":" + digits(magnitude / 60 % 60, 2)
    if magnitude % 60 != 0 { out += ":" + digits(magnitude % 60, 2) }
    return out
  }

  /// A non-negative number with leading zeros to `width` digits (`-` first if negative).
  static func digits(_ value: Int64, _ width: Int) -> String {
    var text = "\(value < 0 ? -value : value)"
    while text.utf8.count < width { text = "0" + text }
    return value < 0 ? "-" + text : text
  }
}
