/// A calendar event of systemd.time(7) (`OnCalendar=`): `daily`, `Mon..Fri 09:00`,
/// `*-*-* *:0/15:00`, `2026-*-01 03:00 Europe/Berlin`. Parsing, the normalized form and the next
/// elapse follow systemd's `calendarspec.c` (version 252) step by step, including its handling
/// of daylight saving time (see docs/timers.md, "Calendar and cron expressions"):
/// - a wall-clock time that does not exist (02:30 on a spring-forward day) is not a match: the
///   search moves to the first time after the gap, so `*-*-* 02:30` skips that day, while
///   `hourly` fires at 03:00;
/// - a wall-clock time that happens twice (autumn) elapses once, in the occurrence the search
///   is in: the first one, unless the search starts inside the second.
public struct CalendarEvent: Equatable, Sendable {
  /// One element of a field: `start`, `start..stop`, `start/step`, `start..stop/step`.
  /// `stop` is -1 when absent, `step` 0. Seconds are in microseconds.
  public struct Component: Equatable, Sendable {
    public var start: Int
    public var stop: Int
    public var step: Int

    public init(start: Int, stop: Int = -1, step: Int = 0) {
      self.start = start
      self.stop = stop
      self.step = step
    }

    static func < (a: Component, b: Component) -> Bool {
      if a.start != b.start { return a.start < b.start }
      if a.stop != b.stop { return a.stop < b.stop }
      return a.step < b.step
    }
  }

  /// Bit 0 = Monday ... bit 6 = Sunday; nil = any day.
  public var weekdays: UInt8?
  /// `nil` = `*` (any value).
  public var year: [Component]?
  public var month: [Component]?
  public var day: [Component]?
  /// `~`: days count from the end of the month.
  public var endOfMonth = false
  public var hour: [Component]?
  public var minute: [Component]?
  /// Microseconds within the minute.
  public var second: [Component]?
  /// The event ends in ` UTC`.
  public var isUTC = false
  /// The time zone the event names (`Europe/Berlin`), nil when it names none or UTC. The caller
  /// loads its rules and passes them to `nextElapse`.
  public var zoneName: String?

  public init() {}

  static let microsecondsPerSecond = 1_000_000
  static let maximumYear: Int64 = 2199

  // MARK: - Parsing

  /// Parses a calendar event; the error names the field that is wrong.
  public static func parse(_ text: String) throws(CalendarError) -> CalendarEvent {
    var parser = CalendarParser(text: text)
    return try parser.parse()
  }

  // MARK: - Normalized form

  /// What `systemd-analyze calendar` prints as "Normalized form".
  public var normalized: String {
    var out = ""
    if let weekdays {
      out += Self.format(weekdays: weekdays) + " "
    }
    out += Self.format(year, width: 4, microseconds: false) + "-"
    out += Self.format(month, width: 2, microseconds: false) + (endOfMonth ? "~" : "-")
    out += Self.format(day, width: 2, microseconds: false) + " "
    out += Self.format(hour, width: 2, microseconds: false) + ":"
    out += Self.format(minute, width: 2, microseconds: false) + ":"
    out += Self.format(second, width: 2, microseconds: true)
    if isUTC {
      out += " UTC"
    } else if let zoneName {
      out += " " + zoneName
    }
    return out
  }

  static let weekdayNames = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]

  static func format(weekdays bits: UInt8) -> String {
    var out = ""
    var runStart = -1
    var needComma = false
    func close(_ x: Int) {
      if x > runStart + 1 {
        out += x > runStart + 2 ? ".." : ","
        out += weekdayNames[x - 1]
      }
    }
    for x in 0..<7 {
      if bits & (1 << UInt8(x)) != 0 {
        if runStart < 0 {
          if needComma { out += "," } else { needComma = true }
          out += weekdayNames[x]
          runStart = x
        }
      } else if runStart >= 0 {
        close(x)
        runStart = -1
      }
    }
    if runStart >= 0 { close(7) }
    return out
  }

  static func format(_ chain: [Component]?, width: Int, microseconds: Bool) -> String {
    guard let chain else { return "*" }
    let unit = microseconds ? microsecondsPerSecond : 1
    // One component covering every second makes the whole field '*'.
    if microseconds && chain.contains(where: { $0.start == 0 && $0.stop < 0 && $0.step == unit }) { return "*" }
    var parts: [String] = []
    for c in chain {
      var out = CivilDateTime.digits(Int64(c.start / unit), width)
      if c.start % unit > 0 { out += "." + CivilDateTime.digits(Int64(c.start % unit), 6) }
      if c.stop > 0 { out += ".." + CivilDateTime.digits(Int64(c.stop / unit), width) }
      if c.stop > 0 && c.stop % unit > 0 { out += "." + CivilDateTime.digits(Int64(c.stop % unit), 6) }
      if c.step > 0 && !(c.stop > 0 && c.step == unit) { out += "/\(c.step / unit)" }
      if c.step % unit > 0 { out += "." + CivilDateTime.digits(Int64(c.step % unit), 6) }
      parts.append(out)
    }
    var joined = ""
    for (index, part) in parts.enumerated() {
      if index > 0 { joined += "," }
      joined += part
    }
    return joined
  }

  // MARK: - Next elapse

  /// The first whole second strictly after `seconds` (UTC) at which the event elapses, or nil
  /// if it never does again (before the year 2200). `zone` is the zone of the event's
  /// wall-clock fields: the one it names (loaded by the caller), else the default zone; it is
  /// ignored for events in UTC.
  public func nextElapse(after seconds: Int64, zone: TimeZoneRules) -> Int64? {
    let micro = Int64(Self.microsecondsPerSecond)
    guard seconds < Int64.max / micro - 1 else { return nil }
    guard let next = nextElapse(afterMicroseconds: seconds * micro + micro - 1, zone: zone) else { return nil }
    return CivilTime.floorDivide(next, micro)
  }

  /// The first instant strictly after `microseconds` (UTC, since the epoch) at which the event
  /// elapses, in microseconds.
  public func nextElapse(afterMicroseconds microseconds: Int64, zone: TimeZoneRules) -> Int64? {
    var search = ElapseSearch(event: self, zone: isUTC ? .utc : zone)
    return search.next(after: microseconds)
  }
}

/// A calendar event or cron expression that cannot be parsed: the field that is wrong and why.
public struct CalendarError: Error, Equatable, Sendable {
  /// The expression as written.
  public var expression: String
  /// `weekday`, `year`, `month`, `day`, `hour`, `minute`, `second`, `time zone` (calendar
  /// events); `minute`, `hour`, `day-of-month`, `month`, `day-of-week` (cron); or `expression`.
  public var field: String
  public var message: String

  public init(expression: String, field: String, message: String) {
    self.expression = expression
    self.field = field
    self.message = message
  }

  /// `invalid calendar expression '*-*-* 25:00': hour: 25 is out of range 0..23`.
  public var description: String { "invalid calendar expression '\(expression)': \(field): \(message)" }
}

// MARK: - Parser

private struct CalendarParser {
  let text: String
  var bytes: [UInt8]
  var position = 0
  var event = CalendarEvent()
  var weekdayBits = 0

  init(text: String) {
    self.text = text
    self.bytes = Array(text.utf8)
  }

  func error(_ field: String, _ message: String) -> CalendarError {
    CalendarError(expression: text, field: field, message: message)
  }

  static func lowercased(_ bytes: ArraySlice<UInt8>) -> [UInt8] {
    bytes.map { $0 >= 0x41 && $0 <= 0x5a ? $0 + 0x20 : $0 }
  }

  mutating func parse() throws(CalendarError) -> CalendarEvent {
    try stripZone()
    guard !bytes.isEmpty else { throw error("expression", "empty calendar expression") }
    let whole = String(decoding: Self.lowercased(bytes[...]), as: UTF8.self)
    let zero = [CalendarEvent.Component(start: 0)]
    switch whole {
    case "minutely":
      event.second = zero
    case "hourly":
      event.minute = zero
      event.second = zero
    case "daily":
      (event.hour, event.minute, event.second) = (zero, zero, zero)
    case "monthly":
      event.day = [.init(start: 1)]
      (event.hour, event.minute, event.second) = (zero, zero, zero)
    case "annually", "yearly", "anually":
      event.month = [.init(start: 1)]
      event.day = [.init(start: 1)]
      (event.hour, event.minute, event.second) = (zero, zero, zero)
    case "weekly":
      weekdayBits = 1
      (event.hour, event.minute, event.second) = (zero, zero, zero)
    case "quarterly":
      event.month = [.init(start: 1), .init(start: 4), .init(start: 7), .init(start: 10)]
      event.day = [.init(start: 1)]
      (event.hour, event.minute, event.second) = (zero, zero, zero)
    case "biannually", "bi-annually", "semiannually", "semi-annually":
      event.month = [.init(start: 1), .init(start: 7)]
      event.day = [.init(start: 1)]
      (event.hour, event.minute, event.second) = (zero, zero, zero)
    default:
      try parseWeekdays()
      if try !parseDate() {
        try parseTime()
      }
      guard position == bytes.count else {
        throw error("expression", "unexpected '\(String(decoding: bytes[position...], as: UTF8.self))' at the end")
      }
    }
    try normalizeAndValidate()
    return event
  }

  /// ` UTC` (any case) or a trailing zone name (`Europe/Berlin`) after the last space.
  mutating func stripZone() throws(CalendarError) {
    let suffix = Array(" utc".utf8)
    if bytes.count >= suffix.count && Self.lowercased(bytes[(bytes.count - suffix.count)...]) == suffix {
      event.isUTC = true
      bytes.removeLast(suffix.count)
      return
    }
    guard let space = bytes.lastIndex(of: 0x20) else { return }
    let word = bytes[(space + 1)...]
    guard let first = word.first, (first | 0x20) >= 0x61 && (first | 0x20) <= 0x7a else { return }
    let name = String(decoding: word, as: UTF8.self)
    guard TimeZoneRules.isValidName(name) else {
      throw error("time zone", "'\(name)' is not a time zone name (like Europe/Berlin or UTC)")
    }
    event.zoneName = name
    bytes.removeLast(word.count + 1)
  }

  var current: UInt8 { position < bytes.count ? bytes[position] : 0 }

  mutating func skipSpaces() {
    while current == 0x20 { position += 1 }
  }

  static let dayNames: [(String, Int)] = [
    ("monday", 0), ("mon", 0), ("tuesday", 1), ("tue", 1), ("wednesday", 2), ("wed", 2),
    ("thursday", 3), ("thu", 3), ("friday", 4), ("fri", 4), ("saturday", 5), ("sat", 5),
    ("sunday", 6), ("sun", 6),
  ]

  mutating func parseWeekdays() throws(CalendarError) {
    var rangeStart = -1
    var first = true
    while true {
      var matched: Int? = nil
      for (name, number) in Self.dayNames {
        let length = name.utf8.count
        guard bytes.count - position >= length,
          Self.lowercased(bytes[position..<position + length]).elementsEqual(name.utf8)
        else { continue }
        let after = position + length < bytes.count ? bytes[position + length] : 0
        guard after == 0 || after == 0x2d || after == 0x2e || after == 0x2c || after == 0x20 else {
          throw error("weekday", "unknown weekday at '\(String(decoding: bytes[position...], as: UTF8.self))'")
        }
        weekdayBits |= 1 << number
        if rangeStart >= 0 {
          guard rangeStart <= number else {
            throw error("weekday", "range \(CalendarEvent.weekdayNames[rangeStart])..\(CalendarEvent.weekdayNames[number]) runs backwards (weeks start on Monday)")
          }
          for j in (rangeStart + 1)..<max(number, rangeStart + 1) { weekdayBits |= 1 << j }
        }
        position += length
        matched = number
        break
      }
      guard let number = matched else {
        if first { return }
        throw error("weekday", "expected a weekday name at '\(String(decoding: bytes[position...], as: UTF8.self))'")
      }
      if current == 0 { return }
      if current == 0x20 {
        skipSpaces()
        return
      }
      if current == 0x2e {
        guard rangeStart < 0 else { throw error("weekday", "a range cannot continue another range") }
        guard position + 1 < bytes.count, bytes[position + 1] == 0x2e else {
          throw error("weekday", "expected '..' in a weekday range")
        }
        rangeStart = number
        position += 2
      } else if current == 0x2d {
        guard rangeStart < 0 else { throw error("weekday", "a range cannot continue another range") }
        rangeStart = number
        position += 1
      } else if current == 0x2c {
        rangeStart = -1
        position += 1
      }
      if current == 0 || current == 0x20 {
        skipSpaces()
        guard rangeStart < 0 else { throw error("weekday", "the weekday range has no end") }
        return
      }
      first = false
    }
  }

  /// The date part (`2026-*-01`, `*-02~03`, `@1395716396`). Returns true when the event is
  /// complete (a timestamp), false when the time follows.
  mutating func parseDate() throws(CalendarError) -> Bool {
    if current == 0 { return false }
    if current == 0x40 {  // @seconds
      position += 1
      let start = position
      var value: Int64 = 0
      while current >= 0x30 && current <= 0x39 {
        value = value * 10 + Int64(current - 0x30)
        position += 1
        guard value < 100_000_000_000 else { throw error("timestamp", "number too large") }
      }
      guard position > start else { throw error("timestamp", "expected seconds since the epoch after '@'") }
      let time = CivilDateTime(seconds: value)
      event.year = [.init(start: Int(time.year))]
      event.month = [.init(start: time.month)]
      event.day = [.init(start: time.day)]
      event.hour = [.init(start: time.hour)]
      event.minute = [.init(start: time.minute)]
      event.second = [.init(start: time.second * CalendarEvent.microsecondsPerSecond)]
      event.isUTC = true
      return true
    }
    // The token up to the next space: a date unless it contains ':' (then it is the time).
    var end = position
    while end < bytes.count && bytes[end] != 0x20 { end += 1 }
    let token = bytes[position..<end]
    if token.contains(0x3a) { return false }
    var parts: [ArraySlice<UInt8>] = []
    var separators: [UInt8] = []
    var partStart = position
    for index in position..<end where bytes[index] == 0x2d || bytes[index] == 0x7e {
      parts.append(bytes[partStart..<index])
      separators.append(bytes[index])
      partStart = index + 1
    }
    parts.append(bytes[partStart..<end])
    switch parts.count {
    case 1:
      throw error("expression", "'\(String(decoding: token, as: UTF8.self))' is neither a date (YYYY-MM-DD) nor a time (HH:MM[:SS])")
    case 2:
      event.month = try chain(parts[0], field: "month")
      event.day = try chain(parts[1], field: "day")
      event.endOfMonth = separators[0] == 0x7e
    case 3:
      guard separators[0] == 0x2d else { throw error("day", "'~' (days from the end of the month) goes between month and day") }
      event.year = try chain(parts[0], field: "year")
      event.month = try chain(parts[1], field: "month")
      event.day = try chain(parts[2], field: "day")
      event.endOfMonth = separators[1] == 0x7e
    default:
      throw error("expression", "a date has at most three parts (YYYY-MM-DD)")
    }
    position = end
    skipSpaces()
    return false
  }

  mutating func parseTime() throws(CalendarError) {
    let zero = [CalendarEvent.Component(start: 0)]
    if current == 0 {
      (event.hour, event.minute, event.second) = (zero, zero, zero)
      return
    }
    var end = position
    while end < bytes.count && bytes[end] != 0x20 { end += 1 }
    var parts: [ArraySlice<UInt8>] = []
    var partStart = position
    for index in position..<end where bytes[index] == 0x3a {
      parts.append(bytes[partStart..<index])
      partStart = index + 1
    }
    parts.append(bytes[partStart..<end])
    guard parts.count == 2 || parts.count == 3 else {
      throw error(parts.count == 1 ? "hour" : "second", "expected a time HH:MM or HH:MM:SS, got '\(String(decoding: bytes[position..<end], as: UTF8.self))'")
    }
    event.hour = try chain(parts[0], field: "hour")
    event.minute = try chain(parts[1], field: "minute")
    event.second = parts.count == 3 ? try chain(parts[2], field: "second", microseconds: true) : zero
    position = end
  }

  /// `*`, or components separated by ','.
  func chain(_ part: ArraySlice<UInt8>, field: String, microseconds: Bool = false) throws(CalendarError) -> [CalendarEvent.Component]? {
    let written = String(decoding: part, as: UTF8.self)
    guard !part.isEmpty else { throw error(field, "empty (use * for any value)") }
    if part.first == 0x2a {
      guard part.count == 1 else { throw error(field, "'*' stands alone; got '\(written)'") }
      return microseconds ? [.init(start: 0, step: CalendarEvent.microsecondsPerSecond)] : nil
    }
    var components: [CalendarEvent.Component] = []
    var index = part.startIndex
    while true {
      guard components.count < 240 else { throw error(field, "too many values") }
      let start = try decimal(part, &index, field: field, microseconds: microseconds)
      var stop = -1
      var repeatValue = 0
      if index + 1 < part.endIndex && part[index] == 0x2e && part[index + 1] == 0x2e {
        index += 2
        stop = try decimal(part, &index, field: field, microseconds: microseconds)
        repeatValue = microseconds ? CalendarEvent.microsecondsPerSecond : 1
      }
      if index < part.endIndex && part[index] == 0x2f {
        index += 1
        repeatValue = try decimal(part, &index, field: field, microseconds: microseconds)
        guard repeatValue > 0 else { throw error(field, "the repetition in '\(written)' is 0") }
      } else if microseconds && stop >= 0 && start + repeatValue > stop {
        throw error(field, "range \(written) is shorter than a second (add a repetition like /0.5)")
      }
      components.append(.init(start: start, stop: stop, step: repeatValue))
      if index == part.endIndex { break }
      guard part[index] == 0x2c else {
        throw error(field, "unexpected '\(String(decoding: part[index...], as: UTF8.self))' in '\(written)'")
      }
      index += 1
    }
    return components
  }

  func decimal(_ part: ArraySlice<UInt8>, _ index: inout Int, field: String, microseconds: Bool) throws(CalendarError) -> Int {
    let written = String(decoding: part, as: UTF8.self)
    guard index < part.endIndex, part[index] >= 0x30, part[index] <= 0x39 else {
      throw error(field, "expected a number in '\(written)'")
    }
    var value = 0
    while index < part.endIndex, part[index] >= 0x30, part[index] <= 0x39 {
      value = value * 10 + Int(part[index] - 0x30)
      guard value <= Int(Int32.max) else { throw error(field, "number too large in '\(written)'") }
      index += 1
    }
    guard microseconds else { return value }
    value *= CalendarEvent.microsecondsPerSecond
    if index < part.endIndex && part[index] == 0x2e && !(index + 1 < part.endIndex && part[index + 1] == 0x2e) {
      index += 1
      var fraction = 0
      var digits = 0
      while digits < 6 {
        guard index < part.endIndex, part[index] >= 0x30, part[index] <= 0x39 else {
          guard digits > 0 else { throw error(field, "expected digits after the decimal point in '\(written)'") }
          break
        }
        fraction = fraction * 10 + Int(part[index] - 0x30)
        digits += 1
        index += 1
      }
      while digits < 6 {
        fraction *= 10
        digits += 1
      }
      if index < part.endIndex && part[index] >= 0x35 && part[index] <= 0x39 { fraction += 1 }
      while index < part.endIndex, part[index] >= 0x30, part[index] <= 0x39 { index += 1 }
      value += fraction
    }
    guard value <= Int(Int32.max) else { throw error(field, "number too large in '\(written)'") }
    return value
  }

  mutating func normalizeAndValidate() throws(CalendarError) {
    if weekdayBits > 0 && weekdayBits < 127 { event.weekdays = UInt8(weekdayBits) }
    if event.endOfMonth && event.day == nil { event.endOfMonth = false }
    if var years = event.year {
      for index in years.indices {
        years[index].start = Self.fixYear(years[index].start)
        years[index].stop = Self.fixYear(years[index].stop)
      }
      event.year = years
    }
    event.year = Self.normalize(event.year)
    event.month = Self.normalize(event.month)
    event.day = Self.normalize(event.day)
    event.hour = Self.normalize(event.hour)
    event.minute = Self.normalize(event.minute)
    event.second = Self.normalize(event.second)
    try validate(event.year, field: "year", from: 1970, to: Int(CalendarEvent.maximumYear), endOfMonth: false)
    try validate(event.month, field: "month", from: 1, to: 12, endOfMonth: false)
    try validate(event.day, field: "day", from: 1, to: 31, endOfMonth: event.endOfMonth)
    try validate(event.hour, field: "hour", from: 0, to: 23, endOfMonth: false)
    try validate(event.minute, field: "minute", from: 0, to: 59, endOfMonth: false)
    try validate(event.second, field: "second", from: 0, to: 60 * CalendarEvent.microsecondsPerSecond - 1, endOfMonth: false)
  }

  /// 12 is 2012, 89 is 1989 (systemd's `fix_year`).
  static func fixYear(_ year: Int) -> Int {
    if year >= 0 && year < 70 { return year + 2000 }
    if year >= 70 && year < 100 { return year + 1900 }
    return year
  }

  /// Sorted and without duplicates; a range's stop lowered to its last repetition.
  static func normalize(_ chain: [CalendarEvent.Component]?) -> [CalendarEvent.Component]? {
    guard var chain else { return nil }
    for index in chain.indices {
      var c = chain[index]
      if c.stop > c.start && c.step > 0 { c.stop -= (c.stop - c.start) % c.step }
      // A repetition that never triggers, or a range of one value: a single value.
      if (c.stop > c.start && c.step > 0 && c.start + c.step > c.stop) || c.start == c.stop {
        c.step = 0
        c.stop = -1
      }
      chain[index] = c
    }
    chain = chain.stablySorted(by: <)
    var unique: [CalendarEvent.Component] = []
    for component in chain where unique.last != component { unique.append(component) }
    return unique
  }

  /// systemd's `chain_valid`.
  func validate(_ chain: [CalendarEvent.Component]?, field: String, from: Int, to: Int, endOfMonth: Bool) throws(CalendarError) {
    guard let chain else { return }
    let isSecond = field == "second"
    let unit = isSecond ? CalendarEvent.microsecondsPerSecond : 1
    let to = endOfMonth ? to - 3 : to
    func show(_ value: Int) -> String {
      guard isSecond else { return "\(value)" }
      let fraction = value % unit
      return fraction == 0 ? "\(value / unit)" : "\(value / unit)." + CivilDateTime.digits(Int64(fraction), 6)
    }
    let range = "\(show(from))..\(show(to))"
    for c in chain {
      guard c.start >= from && c.start <= to else {
        throw error(field, "\(show(c.start)) is out of range \(range)\(endOfMonth ? " (days from the end of the month)" : "")")
      }
      guard c.step <= to - from else { throw error(field, "repetition /\(show(c.step)) is larger than the range \(range)") }
      if c.stop >= 0 {
        guard c.stop >= from && c.stop <= to else { throw error(field, "\(show(c.stop)) is out of range \(range)") }
        guard c.start + c.step <= c.stop else {
          throw error(field, "range \(show(c.start))..\(show(c.stop)) is empty or shorter than its repetition")
        }
      } else if endOfMonth {
        guard c.start - c.step >= from else { throw error(field, "repetition /\(show(c.step)) runs past the start of the month") }
      } else {
        guard c.start + c.step <= to else { throw error(field, "\(show(c.start))/\(show(c.step)) never repeats within \(range)") }
      }
    }
  }
}

// MARK: - Search

/// systemd's `find_next`, on a broken-down local time, with `mktime` emulated on the zone
/// rules: a local time that happens twice takes the offset of the previous conversion (glibc
/// remembers it); one that never happens is read with the offset before the gap.
private struct ElapseSearch {
  let event: CalendarEvent
  let zone: TimeZoneRules
  var rememberedOffset: Int32 = 0

  struct Fields: Equatable {
    var year: Int64
    var month: Int
    var day: Int
    var hour: Int
    var minute: Int
    var second: Int
  }

  init(event: CalendarEvent, zone: TimeZoneRules) {
    self.event = event
    self.zone = zone
  }

  /// Normalizes `fields` as `mktime` does and returns the UTC instant.
  mutating func makeTime(_ fields: inout Fields) -> Int64 {
    let local = CivilDateTime(
      year: fields.year, month: fields.month, day: fields.day, hour: fields.hour, minute: fields.minute,
      second: fields.second
    ).seconds
    let utc: Int64
    switch zone.convert(local: local) {
    case .unique(let instant): utc = instant
    case .repeated(let first, let second):
      utc = zone.localTimeType(atUTC: second).utcOffset == rememberedOffset ? second : first
    case .skipped(_, let shifted): utc = shifted
    }
    rememberedOffset = zone.localTimeType(atUTC: utc).utcOffset
    let normalized = CivilDateTime(seconds: utc + Int64(rememberedOffset))
    fields = Fields(
      year: normalized.year, month: normalized.month, day: normalized.day, hour: normalized.hour,
      minute: normalized.minute, second: normalized.second)
    return utc
  }

  enum Bounds { case outOfRange, normalized, good }

  /// systemd's `tm_within_bounds`: if `mktime` moved the fields, the units below the highest
  /// one that moved restart from their minimum; moving backwards is refused (out of range).
  mutating func withinBounds(_ fields: inout Fields) -> Bounds {
    if fields.year > CalendarEvent.maximumYear { return .outOfRange }
    var t = fields
    _ = makeTime(&t)
    var order = 0
    func compare<T: Comparable>(_ a: T, _ b: T) -> Int { a < b ? -1 : a > b ? 1 : 0 }
    if compare(t.year, fields.year) != 0 {
      order = compare(t.year, fields.year)
      t.month = 1
    } else if compare(t.month, fields.month) != 0 {
      order = compare(t.month, fields.month)
      t.day = 1
    } else if compare(t.day, fields.day) != 0 {
      order = compare(t.day, fields.day)
      t.hour = 0
    } else if compare(t.hour, fields.hour) != 0 {
      order = compare(t.hour, fields.hour)
      t.minute = 0
    } else if compare(t.minute, fields.minute) != 0 {
      order = compare(t.minute, fields.minute)
      t.second = 0
    } else {
      order = compare(t.second, fields.second)
    }
    if order < 0 { return .outOfRange }
    if order > 0 {
      fields = t
      return .normalized
    }
    return .good
  }

  /// -1: no match; 0: `value` matches; 1: `value` was raised to the next match.
  func match(_ chain: [CalendarEvent.Component]?, _ value: inout Int, endOfMonthOf fields: Fields? = nil) -> Int {
    guard let chain else { return 0 }
    var best: Int? = nil
    for c in chain {
      var start = c.start
      var stop = c.stop
      if let fields {
        let last = CivilTime.daysInMonth(year: fields.year, month: fields.month)
        func fromEnd(_ day: Int) -> Int {
          let result = last + 1 - day
          return (result >= 1 && day >= 0 && result <= last) ? result : -1
        }
        start = fromEnd(start)
        stop = fromEnd(stop)
        if stop > 0 { swap(&start, &stop) }
      }
      if start >= value {
        if best == nil || start < best! { best = start }
      } else if c.step > 0 {
        let steps = (value - start + c.step - 1) / c.step
        let k = start + c.step * steps
        if (best == nil || k < best!) && (stop < 0 || k <= stop) { best = k }
      }
    }
    guard let best else { return -1 }
    let changed = value != best
    value = best
    return changed ? 1 : 0
  }

  mutating func next(after microseconds: Int64) -> Int64? {
    let micro = Int64(CalendarEvent.microsecondsPerSecond)
    let base = microseconds + 1
    let baseSeconds = CivilTime.floorDivide(base, micro)
    var fraction = Int(base - baseSeconds * micro)
    let type = zone.localTimeType(atUTC: baseSeconds)
    rememberedOffset = type.utcOffset
    let start = CivilDateTime(seconds: baseSeconds + Int64(type.utcOffset))
    var c = Fields(
      year: start.year, month: start.month, day: start.day, hour: start.hour, minute: start.minute,
      second: start.second)
    var rounds = 0
    while true {
      rounds += 1
      if rounds > 1000 { return nil }  // systemd's MAX_CALENDAR_ITERATIONS
      _ = makeTime(&c)

      var year = Int(c.year)
      var r = match(event.year, &year)
      c.year = Int64(year)
      if r > 0 { (c.month, c.day, c.hour, c.minute, c.second, fraction) = (1, 1, 0, 0, 0, 0) }
      if r < 0 { return nil }
      if withinBounds(&c) != .good { return nil }

      r = match(event.month, &c.month)
      if r > 0 { (c.day, c.hour, c.minute, c.second, fraction) = (1, 0, 0, 0, 0) }
      var bounds = Bounds.good
      if r >= 0 { bounds = withinBounds(&c) }
      if r < 0 || bounds == .outOfRange {
        (c.year, c.month, c.day, c.hour, c.minute, c.second, fraction) = (c.year + 1, 1, 1, 0, 0, 0, 0)
        continue
      }
      if bounds == .normalized { continue }

      r = match(event.day, &c.day, endOfMonthOf: event.endOfMonth ? c : nil)
      if r > 0 { (c.hour, c.minute, c.second, fraction) = (0, 0, 0, 0) }
      if r >= 0 { bounds = withinBounds(&c) }
      if r < 0 || bounds == .outOfRange {
        (c.month, c.day, c.hour, c.minute, c.second, fraction) = (c.month + 1, 1, 0, 0, 0, 0)
        continue
      }
      if bounds == .normalized { continue }

      if let weekdays = event.weekdays {
        let weekday = CivilTime.weekday(days: CivilTime.days(year: c.year, month: c.month, day: c.day))
        if weekdays & (1 << UInt8(weekday)) == 0 {
          (c.day, c.hour, c.minute, c.second, fraction) = (c.day + 1, 0, 0, 0, 0)
          continue
        }
      }

      r = match(event.hour, &c.hour)
      if r > 0 { (c.minute, c.second, fraction) = (0, 0, 0) }
      if r >= 0 { bounds = withinBounds(&c) }
      if r < 0 || bounds == .outOfRange {
        (c.day, c.hour, c.minute, c.second, fraction) = (c.day + 1, 0, 0, 0, 0)
        continue
      }
      if bounds == .normalized { continue }

      r = match(event.minute, &c.minute)
      if r > 0 { (c.second, fraction) = (0, 0) }
      if r >= 0 { bounds = withinBounds(&c) }
      if r < 0 || bounds == .outOfRange {
        (c.hour, c.minute, c.second, fraction) = (c.hour + 1, 0, 0, 0)
        continue
      }
      if bounds == .normalized { continue }

      var value = c.second * CalendarEvent.microsecondsPerSecond + fraction
      r = match(event.second, &value)
      fraction = value % CalendarEvent.microsecondsPerSecond
      c.second = value / CalendarEvent.microsecondsPerSecond
      if r >= 0 { bounds = withinBounds(&c) }
      if r < 0 || bounds == .outOfRange {
        (c.minute, c.second, fraction) = (c.minute + 1, 0, 0)
        continue
      }
      if bounds == .normalized { continue }

      let utc = makeTime(&c)
      return utc * micro + Int64(fraction)
    }
  }
}
