// TEMPORARY stub of the calendar helper's interface; removed when it lands on main. NOT TO LAND.
public struct TimeZoneError: Error, Equatable, Sendable {
  public var message: String
  public init(_ message: String) { self.message = message }
  public var description: String { message }
}
public struct TimeZoneRules: Equatable, Sendable {
  public static let utc = TimeZoneRules()
  public static func parse(tzif bytes: [UInt8]) throws(TimeZoneError) -> TimeZoneRules { TimeZoneRules() }
  public static func parse(posix text: String) throws(TimeZoneError) -> TimeZoneRules { TimeZoneRules() }
}
public struct CalendarError: Error, Equatable, Sendable {
  public var message: String
  public var description: String { message }
}
public struct CalendarEvent: Equatable, Sendable {
  public var normalized: String
  public var zoneName: String?
  public static func parse(_ text: String) throws(CalendarError) -> CalendarEvent {
    if text == "bad" { throw CalendarError(message: "bad") }
    return CalendarEvent(normalized: text, zoneName: nil)
  }
  public func nextElapse(after utcSeconds: Int64, zone: TimeZoneRules) -> Int64? { utcSeconds + 1 }
}
public struct CronExpression: Equatable, Sendable {
  public var normalized: String
  public static func parse(_ text: String) throws(CalendarError) -> CronExpression {
    if text.hasPrefix("bad") { throw CalendarError(message: "bad") }
    return CronExpression(normalized: text)
  }
  public func nextElapse(after utcSeconds: Int64, zone: TimeZoneRules) -> Int64? { (utcSeconds / 60 + 1) * 60 }
}
