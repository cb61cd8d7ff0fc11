/// The rules of one time zone: the UTC offset in force at every instant, read from a TZif file
/// (RFC 8536, versions 1 to 4, as in /usr/share/zoneinfo) or from a POSIX `TZ` string
/// (`CET-1CEST,M3.5.0,M10.5.0/3`). Pure: the caller reads the file. Leap-second records
/// ("right/" zones) are ignored: ibex counts POSIX seconds.
public struct TimeZoneRules: Equatable, Sendable {
  /// One kind of local time: its offset east of UTC, whether it is daylight saving time, its
  /// abbreviation (`CEST`).
  public struct LocalTimeType: Equatable, Sendable {
    public var utcOffset: Int32
    public var isDST: Bool
    public var abbreviation: String

    public init(utcOffset: Int32, isDST: Bool, abbreviation: String) {
      self.utcOffset = utcOffset
      self.isDST = isDST
      self.abbreviation = abbreviation
    }
  }

  /// Transition instants (UTC seconds), ascending, and the type in force from each on.
  var transitions: [Int64]
  var transitionTypes: [Int]
  var types: [LocalTimeType]
  /// The rule for instants after the last transition (the TZif footer), if any.
  var rule: PosixTimeZone?

  public static let utc = TimeZoneRules(
    transitions: [], transitionTypes: [], types: [LocalTimeType(utcOffset: 0, isDST: false, abbreviation: "UTC")],
    rule: nil)

  /// A zone with one fixed offset (tests, `TZ=UTC+3`-like strings without daylight saving).
  public static func fixed(offset: Int32, abbreviation: String) -> TimeZoneRules {
    TimeZoneRules(
      transitions: [], transitionTypes: [],
      types: [LocalTimeType(utcOffset: offset, isDST: false, abbreviation: abbreviation)], rule: nil)
  }

  init(transitions: [Int64], transitionTypes: [Int], types: [LocalTimeType], rule: PosixTimeZone?) {
    self.transitions = transitions
    self.transitionTypes = transitionTypes
    self.types = types
    self.rule = rule
  }

  // MARK: - Queries

  /// The local time type in force at a UTC instant.
  public func localTimeType(atUTC seconds: Int64) -> LocalTimeType {
    guard let last = transitions.last else { return rule?.localTimeType(atUTC: seconds) ?? types[0] }
    if seconds >= last {
      if let rule { return rule.localTimeType(atUTC: seconds) }
      return types[transitionTypes[transitions.count - 1]]
    }
    if seconds < transitions[0] { return types[0] }
    // The last transition at or before `seconds`.
    var low = 0
    var high = transitions.count - 1
    while low < high {
      let middle = (low + high + 1) / 2
      if transitions[middle] <= seconds { low = middle } else { high = middle - 1 }
    }
    return types[transitionTypes[low]]
  }

  /// The offset east of UTC in force at a UTC instant, whether it is daylight saving time, and
  /// the zone's abbreviation for it.
  public func offset(atUTC seconds: Int64) -> (seconds: Int32, isDST: Bool, abbreviation: String) {
    let type = localTimeType(atUTC: seconds)
    return (type.utcOffset, type.isDST, type.abbreviation)
  }

  /// The first instant after `seconds` at which the UTC offset changes (transitions that only
  /// rename the zone or flip the DST flag are skipped), if it changes again before year 2300.
  public func nextOffsetChange(afterUTC seconds: Int64) -> Int64? {
    let current = localTimeType(atUTC: seconds).utcOffset
    var instant = seconds
    // Table transitions first.
    var index = firstTransitionIndex(after: instant)
    while index < transitions.count {
      if types[transitionTypes[index]].utcOffset != current
        && localTimeType(atUTC: transitions[index]).utcOffset != current
      {
        return transitions[index]
      }
      instant = transitions[index]
      index += 1
    }
    guard let rule, rule.hasDaylightSaving else { return nil }
    var year = CivilDateTime(seconds: instant).year
    let limit: Int64 = 2300
    while year <= limit {
      for candidate in rule.transitions(year: year).stablySorted(by: <) where candidate > instant {
        if localTimeType(atUTC: candidate).utcOffset != localTimeType(atUTC: candidate - 1).utcOffset {
          return candidate
        }
      }
      year += 1
    }
    return nil
  }

  private func firstTransitionIndex(after seconds: Int64) -> Int {
    var low = 0
    var high = transitions.count
    while low < high {
      let middle = (low + high) / 2
      if transitions[middle] <= seconds { low = middle + 1 } else { high = middle }
    }
    return low
  }

  /// What a local wall-clock reading (seconds since the local epoch) is in UTC.
  public enum LocalTimeConversion: Equatable, Sendable {
    /// The reading happens exactly once.
    case unique(Int64)
    /// The reading happens twice (clocks were set back): the earlier and the later instant.
    case repeated(first: Int64, second: Int64)
    /// The reading never happens (clocks were set forward over it). `transition` is the instant
    /// the clocks jumped; `shifted` is the reading taken with the offset before the jump, as
    /// `mktime` does (02:30 in a gap of one hour is 03:30 after it).
    case skipped(transition: Int64, shifted: Int64)
  }

  /// Converts a local reading to UTC: every offset in force within a day either side is tried.
  public func convert(local: Int64) -> LocalTimeConversion {
    let window: Int64 = 26 * 3600
    let before = localTimeType(atUTC: local - window).utcOffset
    let after = localTimeType(atUTC: local + window).utcOffset
    var offsets: [Int32] = [before]
    if after != before { offsets.append(after) }
    for offset in [before, after] {
      let probe = localTimeType(atUTC: local - Int64(offset)).utcOffset
      if !offsets.contains(probe) { offsets.append(probe) }
    }
    var found: [Int64] = []
    for offset in offsets {
      let candidate = local - Int64(offset)
      if localTimeType(atUTC: candidate).utcOffset == offset && !found.contains(candidate) {
        found.append(candidate)
      }
    }
    found = found.stablySorted(by: <)
    if found.count == 1 { return .unique(found[0]) }
    if found.count >= 2 { return .repeated(first: found[0], second: found[found.count - 1]) }
    // A gap: the reading taken with the offset before it lands after it.
    let shifted = local - Int64(before)
    let transition = nextOffsetChange(afterUTC: local - Int64(after) - 1) ?? shifted
    return .skipped(transition: transition, shifted: shifted)
  }

  /// The local reading (seconds since the local epoch) of a UTC instant.
  public func local(fromUTC seconds: Int64) -> Int64 {
    seconds + Int64(localTimeType(atUTC: seconds).utcOffset)
  }

  /// Whether `name` can name a file under the zoneinfo directory (`Europe/Berlin`): letters,
  /// digits, `/ - _ + .`, no empty or dot-leading component (systemd's `timezone_is_valid`
  /// without the file check, which the caller does when it loads the zone).
  public static func isValidName(_ name: String) -> Bool {
    let word = name.utf8
    guard !word.isEmpty, word.count <= 255 else { return false }
    var componentStart = true
    for byte in word {
      let isAlphanumeric = (byte >= 0x30 && byte <= 0x39) || ((byte | 0x20) >= 0x61 && (byte | 0x20) <= 0x7a)
      if byte == 0x2f {
        if componentStart { return false }
        componentStart = true
        continue
      }
      if componentStart && byte == 0x2e { return false }
      guard isAlphanumeric || byte == 0x2d || byte == 0x5f || byte == 0x2b || byte == 0x2e else { return false }
      componentStart = false
    }
    return !componentStart
  }

  // MARK: - TZif

  /// Parses a TZif file (RFC 8536). For version 2 and later the 64-bit data and the footer's
  /// POSIX TZ string (for instants after the last transition) are used.
  public static func parse(tzif bytes: [UInt8]) throws(TimeZoneError) -> TimeZoneRules {
    var reader = ByteReader(bytes: bytes)
    let header = try reader.header()
    if header.version == 0 {
      return try reader.body(header, timeSize: 4, footer: false)
    }
    try reader.skipBody(header, timeSize: 4)
    let second = try reader.header()
    return try reader.body(second, timeSize: 8, footer: true)
  }

  /// Parses a POSIX TZ string (`CET-1CEST,M3.5.0,M10.5.0/3`, `<+0330>-3:30`, `UTC0`).
  public static func parse(posix text: String) throws(TimeZoneError) -> TimeZoneRules {
    let rule = try PosixTimeZone.parse(text)
    return TimeZoneRules(transitions: [], transitionTypes: [], types: [rule.standard], rule: rule)
  }
}

/// A time zone file or string that cannot be used.
public struct TimeZoneError: Error, Equatable, Sendable {
  public var message: String
  public init(_ message: String) { self.message = message }
  public var description: String { message }
}

/// Reads the big-endian fields of a TZif file with bounds checks.
private struct ByteReader {
  let bytes: [UInt8]
  var position = 0

  struct Header {
    var version: Int
    var isUTCCount: Int
    var isStandardCount: Int
    var leapCount: Int
    var timeCount: Int
    var typeCount: Int
    var characterCount: Int
  }

  init(bytes: [UInt8]) { self.bytes = bytes }

  mutating func take(_ count: Int) throws(TimeZoneError) -> ArraySlice<UInt8> {
    guard count >= 0, count <= bytes.count - position else { throw TimeZoneError("truncated TZif data") }
    defer { position += count }
    return bytes[position..<position + count]
  }

  mutating func integer(_ size: Int) throws(TimeZoneError) -> Int64 {
    let field = try take(size)
    var value: UInt64 = 0
    for byte in field { value = value << 8 | UInt64(byte) }
    if size == 4 { return Int64(Int32(bitPattern: UInt32(truncatingIfNeeded: value))) }
    return Int64(bitPattern: value)
  }

  mutating func header() throws(TimeZoneError) -> Header {
    let magic = try take(4)
    guard magic.elementsEqual([0x54, 0x5a, 0x69, 0x66]) else { throw TimeZoneError("not a TZif file (no 'TZif' magic)") }
    let versionByte = try take(1).first ?? 0
    let version: Int
    switch versionByte {
    case 0: version = 0
    case 0x32, 0x33, 0x34: version = Int(versionByte - 0x30)
    default: throw TimeZoneError("unsupported TZif version \(versionByte)")
    }
    _ = try take(15)
    var counts: [Int] = []
    for _ in 0..<6 {
      let count = try integer(4)
      guard count >= 0, count <= 1_000_000 else { throw TimeZoneError("bad TZif count \(count)") }
      counts.append(Int(count))
    }
    guard counts[4] >= 1 else { throw TimeZoneError("TZif data without local time types") }
    return Header(
      version: version, isUTCCount: counts[0], isStandardCount: counts[1], leapCount: counts[2],
      timeCount: counts[3], typeCount: counts[4], characterCount: counts[5])
  }

  mutating func skipBody(_ header: Header, timeSize: Int) throws(TimeZoneError) {
    let size =
      header.timeCount * (timeSize + 1) + header.typeCount * 6 + header.characterCount
      + header.leapCount * (timeSize + 4) + header.isStandardCount + header.isUTCCount
    _ = try take(size)
  }

  mutating func body(_ header: Header, timeSize: Int, footer: Bool) throws(TimeZoneError) -> TimeZoneRules {
    var transitions: [Int64] = []
    for _ in 0..<header.timeCount {
      let time = try integer(timeSize)
      if let last = transitions.last, time <= last { throw TimeZoneError("TZif transitions out of order") }
      transitions.append(time)
    }
    var indices: [Int] = []
    for _ in 0..<header.timeCount {
      let index = Int(try integer(1))
      guard index < header.typeCount else { throw TimeZoneError("TZif transition names type \(index) of \(header.typeCount)") }
      indices.append(index)
    }
    var raw: [(Int32, Bool, Int)] = []
    for _ in 0..<header.typeCount {
      let offset = try integer(4)
      let isDST = try integer(1)
      let nameIndex = Int(try integer(1))
      guard offset > -90000, offset < 90000, isDST <= 1 else { throw TimeZoneError("bad TZif local time type") }
      raw.append((Int32(offset), isDST == 1, nameIndex))
    }
    let names = Array(try take(header.characterCount))
    var types: [TimeZoneRules.LocalTimeType] = []
    for (offset, isDST, nameIndex) in raw {
      guard nameIndex < names.count || (names.isEmpty && nameIndex == 0) else {
        throw TimeZoneError("TZif abbreviation index out of range")
      }
      var end = nameIndex
      while end < names.count && names[end] != 0 { end += 1 }
      let name = String(decoding: names[min(nameIndex, names.count)..<end], as: UTF8.self)
      types.append(.init(utcOffset: offset, isDST: isDST, abbreviation: name))
    }
    _ = try take(header.leapCount * (timeSize + 4) + header.isStandardCount + header.isUTCCount)
    var rule: PosixTimeZone? = nil
    if footer {
      guard try take(1).first == 0x0a else { throw TimeZoneError("TZif footer does not start with a newline") }
      var text: [UInt8] = []
      while true {
        let byte = try take(1).first ?? 0
        if byte == 0x0a { break }
        text.append(byte)
      }
      if !text.isEmpty {
        rule = try PosixTimeZone.parse(String(decoding: text, as: UTF8.self))
      }
    }
    return TimeZoneRules(transitions: transitions, transitionTypes: indices, types: types, rule: rule)
  }
}

/// A POSIX TZ rule: standard time, and optionally daylight saving time between two yearly dates.
struct PosixTimeZone: Equatable, Sendable {
  enum DateRule: Equatable, Sendable {
    /// `Jn`: day 1 ... 365, February 29 never counted.
    case julian(Int)
    /// `n`: day 0 ... 365, February 29 counted.
    case zeroBased(Int)
    /// `Mm.w.d`: day `d` (0 = Sunday) of week `w` (5 = last) of month `m`.
    case monthWeekDay(month: Int, week: Int, weekday: Int)
  }

  var standard: TimeZoneRules.LocalTimeType
  var daylight: TimeZoneRules.LocalTimeType?
  var start = DateRule.monthWeekDay(month: 3, week: 2, weekday: 0)
  var startTime: Int64 = 7200
  var end = DateRule.monthWeekDay(month: 11, week: 1, weekday: 0)
  var endTime: Int64 = 7200

  var hasDaylightSaving: Bool { daylight != nil }

  /// The two UTC instants of a year at which daylight saving time starts and ends.
  func transitions(year: Int64) -> [Int64] {
    guard let daylight else { return [] }
    let startLocal = Self.day(start, year: year) * 86400 + startTime
    let endLocal = Self.day(end, year: year) * 86400 + endTime
    return [startLocal - Int64(standard.utcOffset), endLocal - Int64(daylight.utcOffset)]
  }

  func localTimeType(atUTC seconds: Int64) -> TimeZoneRules.LocalTimeType {
    guard let daylight else { return standard }
    let year = CivilDateTime(seconds: seconds + Int64(standard.utcOffset)).year
    // The transitions of the year and its neighbours, in order: the last at or before wins.
    var events: [(Int64, Bool)] = []
    for y in (year - 1)...(year + 1) {
      let pair = transitions(year: y)
      events.append((pair[0], true))
      events.append((pair[1], false))
    }
    events = events.stablySorted { $0.0 < $1.0 || ($0.0 == $1.0 && !$0.1 && $1.1) }
    var inDaylight: Bool? = nil
    for (instant, starts) in events where instant <= seconds { inDaylight = starts }
    if inDaylight == nil {
      // Before the first event considered: the opposite of what the first event starts.
      inDaylight = !(events.first?.1 ?? true)
    }
    return inDaylight == true ? daylight : standard
  }

  static func day(_ rule: DateRule, year: Int64) -> Int64 {
    let january1 = CivilTime.days(year: year, month: 1, day: 1)
    switch rule {
    case .julian(let n):
      // Day n of a 365-day year: after February, a leap year's extra day is skipped.
      let leapShift: Int64 = (n >= 60 && CivilTime.isLeapYear(year)) ? 1 : 0
      return january1 + Int64(n) - 1 + leapShift
    case .zeroBased(let n):
      return january1 + Int64(n)
    case .monthWeekDay(let month, let week, let weekday):
      let first = CivilTime.days(year: year, month: month, day: 1)
      // CivilTime.weekday: 0 = Monday; POSIX: 0 = Sunday.
      let firstWeekday = (CivilTime.weekday(days: first) + 1) % 7
      var day = first + Int64((weekday - firstWeekday + 7) % 7) + Int64(week - 1) * 7
      let length = Int64(CivilTime.daysInMonth(year: year, month: month))
      while day >= first + length { day -= 7 }
      return day
    }
  }

  static func parse(_ text: String) throws(TimeZoneError) -> PosixTimeZone {
    var scanner = TZScanner(Array(text.utf8))
    if scanner.peek == 0x3a { throw TimeZoneError("TZ '\(text)' names a file, not a rule") }
    let standardName = try scanner.name(text)
    let standardOffset = try scanner.offset(text, signedHours: 24)
    let standard = TimeZoneRules.LocalTimeType(
      utcOffset: Int32(-standardOffset), isDST: false, abbreviation: standardName)
    var zone = PosixTimeZone(standard: standard, daylight: nil)
    if scanner.atEnd { return zone }
    let daylightName = try scanner.name(text)
    var daylightOffset = standardOffset - 3600
    if let byte = scanner.peek, byte != 0x2c {
      daylightOffset = try scanner.offset(text, signedHours: 24)
    }
    zone.daylight = .init(utcOffset: Int32(-daylightOffset), isDST: true, abbreviation: daylightName)
    if scanner.atEnd { return zone }
    guard scanner.next() == 0x2c else { throw TimeZoneError("TZ '\(text)': expected ',' before the start rule") }
    zone.start = try scanner.dateRule(text)
    if scanner.peek == 0x2f {
      _ = scanner.next()
      zone.startTime = try scanner.offset(text, signedHours: 167)
    }
    guard scanner.next() == 0x2c else { throw TimeZoneError("TZ '\(text)': expected ',' before the end rule") }
    zone.end = try scanner.dateRule(text)
    if scanner.peek == 0x2f {
      _ = scanner.next()
      zone.endTime = try scanner.offset(text, signedHours: 167)
    }
    guard scanner.atEnd else { throw TimeZoneError("TZ '\(text)': unexpected text after the end rule") }
    return zone
  }
}

private struct TZScanner {
  let bytes: [UInt8]
  var position = 0

  init(_ bytes: [UInt8]) { self.bytes = bytes }

  var atEnd: Bool { position >= bytes.count }
  var peek: UInt8? { atEnd ? nil : bytes[position] }
  mutating func next() -> UInt8? {
    guard let byte = peek else { return nil }
    position += 1
    return byte
  }

  mutating func name(_ text: String) throws(TimeZoneError) -> String {
    var name: [UInt8] = []
    if peek == 0x3c {  // <+0330>
      _ = next()
      while let byte = next(), byte != 0x3e { name.append(byte) }
    } else {
      while let byte = peek, (byte | 0x20) >= 0x61 && (byte | 0x20) <= 0x7a {
        name.append(byte)
        _ = next()
      }
    }
    guard name.count >= 3 else { throw TimeZoneError("TZ '\(text)': a zone name needs at least three letters") }
    return String(decoding: name, as: UTF8.self)
  }

  mutating func number(_ text: String, maximum: Int64) throws(TimeZoneError) -> Int64 {
    var value: Int64 = 0
    var digits = 0
    while let byte = peek, byte >= 0x30, byte <= 0x39 {
      value = value * 10 + Int64(byte - 0x30)
      digits += 1
      _ = next()
      guard value <= maximum else { throw TimeZoneError("TZ '\(text)': number out of range") }
    }
    guard digits > 0 else { throw TimeZoneError("TZ '\(text)': expected a number") }
    return value
  }

  /// `[+-]hh[:mm[:ss]]` in seconds.
  mutating func offset(_ text: String, signedHours: Int64) throws(TimeZoneError) -> Int64 {
    var sign: Int64 = 1
    if peek == 0x2b { _ = next() } else if peek == 0x2d {
      sign = -1
      _ = next()
    }
    var seconds = try number(text, maximum: signedHours) * 3600
    if peek == 0x3a {
      _ = next()
      seconds += try number(text, maximum: 59) * 60
      if peek == 0x3a {
        _ = next()
        seconds += try number(text, maximum: 59)
      }
    }
    return sign * seconds
  }

  mutating func dateRule(_ text: String) throws(TimeZoneError) -> PosixTimeZone.DateRule {
    if peek == 0x4a {  // J
      _ = next()
      let day = try number(text, maximum: 365)
      guard day >= 1 else { throw TimeZoneError("TZ '\(text)': Julian day 0") }
      return .julian(Int(day))
    }
    if peek == 0x4d {  // M
      _ = next()
      let month = try number(text, maximum: 12)
      guard next() == 0x2e else { throw TimeZoneError("TZ '\(text)': expected Mm.w.d") }
      let week = try number(text, maximum: 5)
      guard next() == 0x2e else { throw TimeZoneError("TZ '\(text)': expected Mm.w.d") }
      let weekday = try number(text, maximum: 6)
      guard month >= 1, week >= 1 else { throw TimeZoneError("TZ '\(text)': bad Mm.w.d rule") }
      return .monthWeekDay(month: Int(month), week: Int(week), weekday: Int(weekday))
    }
    return .zeroBased(Int(try number(text, maximum: 365)))
  }
}
