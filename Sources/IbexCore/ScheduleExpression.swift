/// A schedule as `ibex calendar` takes it: a systemd calendar event or a 5-field cron
/// expression, told apart by their shape (five blank-separated fields or an `@name` is cron;
/// calendar events have at most four words, and `@SECONDS` is a calendar timestamp).
public enum ScheduleExpression: Equatable, Sendable {
  case calendar(CalendarEvent)
  case cron(CronExpression)

  public static func parse(_ text: String) throws(CalendarError) -> ScheduleExpression {
    if isCron(text) { return .cron(try CronExpression.parse(text)) }
    return .calendar(try CalendarEvent.parse(text))
  }

  static func isCron(_ text: String) -> Bool {
    let bytes = Array(text.utf8)
    var start = 0
    while start < bytes.count && (bytes[start] == 0x20 || bytes[start] == 0x09) { start += 1 }
    if start < bytes.count && bytes[start] == 0x40 {
      let next = start + 1 < bytes.count ? bytes[start + 1] : 0
      return !(next >= 0x30 && next <= 0x39)
    }
    return text.split(whereSeparator: { $0 == " " || $0 == "\t" }).count == 5
  }

  public var normalized: String {
    switch self {
    case .calendar(let event): return event.normalized
    case .cron(let expression): return expression.normalized
    }
  }

  /// The zone the expression names (calendar events only); nil for the default zone.
  public var zoneName: String? {
    switch self {
    case .calendar(let event): return event.isUTC ? "UTC" : event.zoneName
    case .cron: return nil
    }
  }

  public func nextElapse(after seconds: Int64, zone: TimeZoneRules) -> Int64? {
    switch self {
    case .calendar(let event): return event.nextElapse(after: seconds, zone: zone)
    case .cron(let expression): return expression.nextElapse(after: seconds, zone: zone)
    }
  }

  /// A point in time as `--from` takes it: `@SECONDS`, RFC 3339 with `Z` or an offset
  /// (`2026-03-29T01:30:00+01:00`), or `YYYY-MM-DD[ T]HH:MM[:SS]` / `YYYY-MM-DD` read in `zone`
  /// (the first occurrence if the reading happens twice, the time after the gap if never).
  /// Returns UTC seconds, or nil if the text is none of these.
  public static func parseTime(_ text: String, zone: TimeZoneRules) -> Int64? {
    let bytes = Array(text.utf8)
    var index = 0
    func number(_ digits: Int) -> Int? {
      guard bytes.count - index >= digits else { return nil }
      var value = 0
      for _ in 0..<digits {
        let byte = bytes[index]
        guard byte >= 0x30 && byte <= 0x39 else { return nil }
        value = value * 10 + Int(byte - 0x30)
        index += 1
      }
      return value
    }
    func expect(_ byte: UInt8) -> Bool {
      guard index < bytes.count, bytes[index] == byte else { return false }
      index += 1
      return true
    }
    if expect(0x40) {
      var negative = false
      if expect(0x2d) { negative = true }
      let start = index
      var value: Int64 = 0
      while index < bytes.count, bytes[index] >= 0x30, bytes[index] <= 0x39, index - start < 15 {
        value = value * 10 + Int64(bytes[index] - 0x30)
        index += 1
      }
      guard index > start, index == bytes.count else { return nil }
      return negative ? -value : value
    }
    guard let year = number(4), expect(0x2d), let month = number(2), expect(0x2d), let day = number(2),
      (1...12).contains(month), day >= 1, day <= CivilTime.daysInMonth(year: Int64(year), month: month)
    else { return nil }
    var hour = 0
    var minute = 0
    var second = 0
    if index < bytes.count {
      guard expect(0x54) || expect(0x74) || expect(0x20), let h = number(2), expect(0x3a), let m = number(2),
        h < 24, m < 60
      else { return nil }
      (hour, minute) = (h, m)
      if expect(0x3a) {
        guard let s = number(2), s < 60 else { return nil }
        second = s
      }
    }
    let local = CivilDateTime(
      year: Int64(year), month: month, day: day, hour: hour, minute: minute, second: second
    ).seconds
    if index == bytes.count {
      switch zone.convert(local: local) {
      case .unique(let instant): return instant
      case .repeated(let first, _): return first
      case .skipped(_, let shifted): return shifted
      }
    }
    if expect(0x5a) || expect(0x7a) { return index == bytes.count ? local : nil }
    let sign: Int64
    if expect(0x2b) { sign = 1 } else if expect(0x2d) { sign = -1 } else { return nil }
    guard let offsetHours = number(2), expect(0x3a), let offsetMinutes = number(2), index == bytes.count,
      offsetHours < 24, offsetMinutes < 60
    else { return nil }
    return local - sign * (Int64(offsetHours) * 3600 + Int64(offsetMinutes) * 60)
  }
}
