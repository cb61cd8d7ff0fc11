/// The schedule of a crontab line: five fields (`minute hour day-of-month month day-of-week`)
/// with ranges, steps, lists and names, or `@hourly` `@daily` `@midnight` `@weekly` `@monthly`
/// `@yearly` `@annually` (`@reboot` is not a schedule: the crontab loader handles it).
///
/// Semantics are Vixie cron's (cronie's, Debian's cron): when both day fields are restricted
/// (neither starts with `*`) a day matches if either matches, else both must match; day of week
/// 0 and 7 are Sunday; `N/S` means `N-max/S` (cronie). Daylight saving time (cronie's rules,
/// for jobs whose minute and hour fields do not start with `*`, "fixed-time" jobs):
/// - spring forward: a fixed-time job whose time falls in the skipped hour runs once at the
///   first second after the gap (02:30 runs at 03:00); other jobs lose the skipped minutes;
/// - fall back: a fixed-time job runs only in the first occurrence of the repeated hour; other
///   jobs (`*/15 * * * *`) run in both.
public struct CronExpression: Equatable, Sendable {
  /// Bit n set: minute n matches (0 ... 59).
  public var minutes: UInt64 = 0
  /// Bit n: hour n (0 ... 23).
  public var hours: UInt32 = 0
  /// Bit n: day n of the month (1 ... 31).
  public var daysOfMonth: UInt32 = 0
  /// Bit n: month n (1 ... 12).
  public var months: UInt16 = 0
  /// Bit n: weekday n, 0 = Sunday ... 6 = Saturday.
  public var daysOfWeek: UInt8 = 0
  /// Which fields start with `*` (Vixie cron's `MIN_STAR`, `HR_STAR`, `DOM_STAR`, `DOW_STAR`).
  public var minuteStar = false
  public var hourStar = false
  public var dayOfMonthStar = false
  public var dayOfWeekStar = false
  /// The five fields in canonical form (names as numbers, Sunday as 0, `@daily` expanded).
  var canonical: [String] = []

  public init() {}

  static let fieldNames = ["minute", "hour", "day-of-month", "month", "day-of-week"]
  static let monthNames = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]
  static let weekdayNames = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"]

  /// Parses five fields (or an `@` name), separated by blanks; the error names the bad field.
  public static func parse(_ text: String) throws(CalendarError) -> CronExpression {
    let (expression, rest) = try parse(leadingFieldsOf: text)
    guard rest.isEmpty else {
      throw CalendarError(
        expression: text, field: "expression",
        message: "expected 5 fields (minute hour day-of-month month day-of-week), found more: '\(rest)'")
    }
    return expression
  }

  /// Parses the schedule at the start of a crontab line or `CRON_*` value and returns the rest
  /// after the blanks that follow it (the user and command). Leading blanks are skipped.
  public static func parse(leadingFieldsOf line: String) throws(CalendarError) -> (CronExpression, rest: String) {
    let bytes = Array(line.utf8)
    var index = 0
    func isBlank(_ byte: UInt8) -> Bool { byte == 0x20 || byte == 0x09 }
    func word() -> ArraySlice<UInt8>? {
      while index < bytes.count && isBlank(bytes[index]) { index += 1 }
      guard index < bytes.count else { return nil }
      let start = index
      while index < bytes.count && !isBlank(bytes[index]) { index += 1 }
      return bytes[start..<index]
    }
    func rest() -> String {
      var start = index
      while start < bytes.count && isBlank(bytes[start]) { start += 1 }
      return String(decoding: bytes[start...], as: UTF8.self)
    }
    guard let first = word() else {
      throw CalendarError(expression: line, field: "expression", message: "empty cron expression")
    }
    var fields: [String] = []
    if first.first == 0x40 {  // @
      let name = String(decoding: first.dropFirst(), as: UTF8.self).lowercasedASCII
      switch name {
      case "yearly", "annually": fields = ["0", "0", "1", "1", "*"]
      case "monthly": fields = ["0", "0", "1", "*", "*"]
      case "weekly": fields = ["0", "0", "*", "*", "0"]
      case "daily", "midnight": fields = ["0", "0", "*", "*", "*"]
      case "hourly": fields = ["0", "*", "*", "*", "*"]
      case "reboot":
        throw CalendarError(expression: line, field: "expression", message: "@reboot runs once at start; it has no schedule")
      default:
        throw CalendarError(
          expression: line, field: "expression",
          message: "unknown '@\(name)' (use @hourly, @daily, @midnight, @weekly, @monthly, @yearly or @annually)")
      }
    } else {
      fields.append(String(decoding: first, as: UTF8.self))
      for position in 1..<5 {
        guard let next = word() else {
          throw CalendarError(
            expression: line, field: fieldNames[position],
            message: "missing (a cron expression has 5 fields: minute hour day-of-month month day-of-week)")
        }
        fields.append(String(decoding: next, as: UTF8.self))
      }
    }
    var expression = CronExpression()
    let limits: [(Int, Int)] = [(0, 59), (0, 23), (1, 31), (1, 12), (0, 7)]
    var sets: [UInt64] = []
    for (position, field) in fields.enumerated() {
      let (bits, star, canonical) = try parseField(
        field, position: position, range: limits[position], expression: line)
      sets.append(bits)
      expression.canonical.append(canonical)
      switch position {
      case 0: expression.minuteStar = star
      case 1: expression.hourStar = star
      case 2: expression.dayOfMonthStar = star
      case 4: expression.dayOfWeekStar = star
      default: break
      }
    }
    expression.minutes = sets[0]
    expression.hours = UInt32(truncatingIfNeeded: sets[1])
    expression.daysOfMonth = UInt32(truncatingIfNeeded: sets[2])
    expression.months = UInt16(truncatingIfNeeded: sets[3])
    // Sunday is 0 and 7.
    var weekdays = sets[4]
    if weekdays & (1 << 7) != 0 { weekdays = (weekdays | 1) & 0x7f }
    expression.daysOfWeek = UInt8(truncatingIfNeeded: weekdays)
    return (expression, rest())
  }

  static func parseField(
    _ field: String, position: Int, range: (Int, Int), expression: String
  ) throws(CalendarError) -> (UInt64, Bool, String) {
    let name = fieldNames[position]
    func failure(_ message: String) -> CalendarError {
      CalendarError(expression: expression, field: name, message: message)
    }
    let names: [String] = position == 3 ? monthNames : position == 4 ? weekdayNames : []
    let nameBase = position == 3 ? 1 : 0
    func value(_ text: Substring) throws(CalendarError) -> Int {
      guard !text.isEmpty else { throw failure("expected a number in '\(field)'") }
      var number = 0
      var isNumber = true
      for byte in text.utf8 {
        guard byte >= 0x30 && byte <= 0x39 else {
          isNumber = false
          break
        }
        number = number * 10 + Int(byte - 0x30)
        guard number <= 1000 else { throw failure("\(text) is out of range \(range.0)-\(range.1)") }
      }
      if !isNumber {
        let lower = String(text).lowercasedASCII
        guard let index = names.firstIndex(of: lower) else {
          let hint = names.isEmpty ? "a number" : "a number or a name (\(names[0]), \(names[1]), ...)"
          throw failure("'\(text)' is not \(hint)")
        }
        return index + nameBase
      }
      guard number >= range.0 && number <= range.1 else {
        throw failure("\(number) is out of range \(range.0)-\(range.1)")
      }
      return number
    }
    var bits: UInt64 = 0
    let star = field.utf8.first == 0x2a
    var canonicalParts: [String] = []
    for element in field.split(separator: ",", omittingEmptySubsequences: false) {
      guard !element.isEmpty else { throw failure("empty list element in '\(field)'") }
      var body = element
      var step = 1
      var hasStep = false
      if let slash = element.firstIndex(of: "/") {
        body = element[element.startIndex..<slash]
        let stepText = element[element.index(after: slash)...]
        guard !stepText.isEmpty, stepText.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }), stepText.utf8.count <= 4 else {
          throw failure("the step in '\(element)' is not a number")
        }
        step = Int(stepText) ?? 0
        guard step > 0 else { throw failure("the step in '\(element)' is 0") }
        hasStep = true
      }
      var low: Int
      var high: Int
      if body == "*" {
        (low, high) = range
        if position == 4 { high = 6 }
        canonicalParts.append(hasStep ? "*/\(step)" : "*")
      } else {
        if let dash = body.firstIndex(of: "-") {
          low = try value(body[body.startIndex..<dash])
          high = try value(body[body.index(after: dash)...])
          guard low <= high else { throw failure("range \(body) runs backwards") }
        } else {
          low = try value(body)
          high = hasStep ? range.1 : low
        }
        if position == 4 {
          if low == 7 && high == 7 { low = 0; high = 0 }
        }
        var part = low == high ? "\(low)" : "\(low)-\(high)"
        if hasStep { part += "/\(step)" }
        canonicalParts.append(part)
      }
      var v = low
      while v <= high {
        bits |= 1 << UInt64(v)
        v += step
      }
    }
    var canonical = ""
    for (index, part) in canonicalParts.enumerated() {
      if index > 0 { canonical += "," }
      canonical += part
    }
    return (bits, star, canonical)
  }

  /// The five fields, canonical: names as numbers, `@daily` as `0 0 * * *`, Sunday as 0.
  public var normalized: String {
    var out = ""
    for (index, field) in canonical.enumerated() {
      if index > 0 { out += " " }
      out += field
    }
    return out
  }

  /// Whether the job is a "fixed-time" job for daylight saving (minute and hour fields do not
  /// start with `*`).
  public var isFixedTime: Bool { !minuteStar && !hourStar }

  func matches(days: Int64) -> Bool {
    let date = CivilTime.date(days: days)
    guard months & (1 << UInt16(date.month)) != 0 else { return false }
    let dayOfMonth = daysOfMonth & (1 << UInt32(date.day)) != 0
    let dayOfWeek = daysOfWeek & (1 << UInt8((CivilTime.weekday(days: days) + 1) % 7)) != 0
    if dayOfMonthStar || dayOfWeekStar { return dayOfMonth && dayOfWeek }
    return dayOfMonth || dayOfWeek
  }

  /// The first matching local minute at or after `from` (local seconds) and before `limit`.
  func nextLocalMatch(from: Int64, before limit: Int64?) -> Int64? {
    let start = CivilTime.floorDivide(from + 59, 60) * 60
    var day = CivilTime.floorDivide(start, 86400)
    var minuteOfDay = Int((start - day * 86400) / 60)
    let lastDay = day + 366 * 400
    while day <= lastDay {
      if let limit, day * 86400 + Int64(minuteOfDay) * 60 >= limit { return nil }
      let date = CivilTime.date(days: day)
      if months & (1 << UInt16(date.month)) == 0 {
        // Skip to the first day of the next month.
        day += Int64(CivilTime.daysInMonth(year: date.year, month: date.month) - date.day + 1)
        minuteOfDay = 0
        continue
      }
      if matches(days: day) {
        var hour = minuteOfDay / 60
        var minute = minuteOfDay % 60
        while hour < 24 {
          if hours & (1 << UInt32(hour)) != 0 {
            while minute < 60 {
              if minutes & (1 << UInt64(minute)) != 0 {
                let result = day * 86400 + Int64(hour) * 3600 + Int64(minute) * 60
                if let limit, result >= limit { return nil }
                return result
              }
              minute += 1
            }
          }
          hour += 1
          minute = 0
        }
      }
      day += 1
      minuteOfDay = 0
    }
    return nil
  }

  /// The first second strictly after `seconds` (UTC) at which the job runs, in `zone`, with
  /// cronie's daylight-saving rules (see the type's documentation); nil if it never runs
  /// (`0 0 30 2 *`).
  public func nextElapse(after seconds: Int64, zone: TimeZoneRules) -> Int64? {
    var after = seconds
    for _ in 0..<10_000 {
      let offset = Int64(zone.localTimeType(atUTC: after + 1).utcOffset)
      let periodEnd = zone.nextOffsetChange(afterUTC: after + 1)
      let limit = periodEnd.map { $0 + offset }
      if let local = nextLocalMatch(from: after + 1 + offset, before: limit) {
        let instant = local - offset
        if isFixedTime, case .repeated(_, let second) = zone.convert(local: local), second == instant {
          // The second occurrence of a repeated hour: fixed-time jobs ran in the first.
          after = instant
          continue
        }
        return instant
      }
      guard let periodEnd else { return nil }
      let newOffset = Int64(zone.localTimeType(atUTC: periodEnd).utcOffset)
      if newOffset > offset && isFixedTime
        && nextLocalMatch(from: periodEnd + offset, before: periodEnd + newOffset) != nil
      {
        // Clocks jumped over the job's time: it runs once, right after the gap.
        return periodEnd
      }
      after = periodEnd - 1
    }
    return nil
  }
}
