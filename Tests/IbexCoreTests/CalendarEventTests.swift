import Foundation
import IbexCore
import Testing

/// Zone rules from Debian's tzdata (/usr/share/zoneinfo), read the way the runtime reads them.
func zoneRules(_ name: String) throws -> TimeZoneRules {
  if name == "UTC" { return .utc }
  let data = try #require(FileManager.default.contents(atPath: "/usr/share/zoneinfo/" + name), "install tzdata")
  return try TimeZoneRules.parse(tzif: [UInt8](data))
}

/// UTC seconds of an RFC 3339 time ending in Z.
func utcSeconds(_ text: String) -> Int64 {
  ScheduleExpression.parseTime(text, zone: .utc)!
}

/// The next `count` elapses after `from`, as RFC 3339 in the zone.
func elapses(_ next: (Int64) -> Int64?, from: Int64, zone: TimeZoneRules, count: Int = 4) -> [String] {
  var result: [String] = []
  var after = from
  while result.count < count, let instant = next(after) {
    result.append(CivilDateTime.rfc3339(utc: instant, offset: zone.offset(atUTC: instant).seconds))
    after = instant
  }
  return result
}

@Suite("Calendar events (systemd.time(7))")
struct CalendarEventTests {
  @Test(
    "normalized form as systemd-analyze prints it",
    arguments: [
      ("daily", "*-*-* 00:00:00"), ("minutely", "*-*-* *:*:00"), ("hourly", "*-*-* *:00:00"),
      ("weekly", "Mon *-*-* 00:00:00"), ("monthly", "*-*-01 00:00:00"), ("yearly", "*-01-01 00:00:00"),
      ("annually", "*-01-01 00:00:00"), ("quarterly", "*-01,04,07,10-01 00:00:00"),
      ("semiannually", "*-01,07-01 00:00:00"), ("Mon..Fri 09:00", "Mon..Fri *-*-* 09:00:00"),
      ("mon,wed..fri,sun 1:2", "Mon,Wed..Fri,Sun *-*-* 01:02:00"), ("Sat-Sun", "Sat,Sun *-*-* 00:00:00"),
      ("*-*-* *:0/15:00", "*-*-* *:00/15:00"), ("2026-*-01 03:00", "2026-*-01 03:00:00"),
      ("2026-*-01 03:00 Europe/Berlin", "2026-*-01 03:00:00 Europe/Berlin"), ("daily utc", "*-*-* 00:00:00 UTC"),
      ("*-*~01..03", "*-*~01..03 00:00:00"), ("*-02~03", "*-02~03 00:00:00"), ("69-01-01", "2069-01-01 00:00:00"),
      ("1..10/3:00", "*-*-* 01..10/3:00:00"), ("*:*:1.5", "*-*-* *:*:01.500000"),
      ("*-*-* 00:00:00.1234565", "*-*-* 00:00:00.123457"), ("*:*:00..59", "*-*-* *:*:00..59"),
      ("*:*:0/1,5", "*-*-* *:*:*"), ("@1395716396", "2014-03-25 02:59:56 UTC"), ("Mon..Sun 12:00", "*-*-* 12:00:00"),
      ("*-*-* 5,1,3,1:00", "*-*-* 01,03,05:00:00"), ("1..9/2:00", "*-*-* 01..09/2:00:00"), ("0..10/4:00", "*-*-* 00..08/4:00:00"),
    ] as [(String, String)])
  func normalizes(text: String, normalized: String) throws {
    #expect(try CalendarEvent.parse(text).normalized == normalized)
  }

  @Test(
    "rejects bad expressions, naming the field",
    arguments: [
      ("*-*-* 24:00", "hour", "24 is out of range 0..23"), ("*-*-* 12:60", "minute", "60 is out of range 0..59"),
      ("*-13-01", "month", "13 is out of range 1..12"), ("*-02-32", "day", "32 is out of range 1..31"),
      ("2300-01-01", "year", "2300 is out of range 1970..2199"), ("Fri..Mon", "weekday", "range Fri..Mon runs backwards (weeks start on Monday)"),
      ("Mond 12:00", "weekday", "unknown weekday at 'Mond 12:00'"), ("*:*/15", "minute", "'*' stands alone; got '*/15'"),
      ("08-05 1:2:3/0", "second", "the repetition in '3/0' is 0"), ("", "expression", "empty calendar expression"),
      ("  daily", "expression", "'' is neither a date (YYYY-MM-DD) nor a time (HH:MM[:SS])"),
      ("*-*-* 12", "hour", "expected a time HH:MM or HH:MM:SS, got '12'"), ("12:00 Europe/../x", "time zone", ""),
      ("*-*~03..01 18:00", "day", "range 3..1 is empty or shorter than its repetition"), ("*:*:1..1.5", "second", ""),
    ] as [(String, String, String)])
  func rejects(text: String, field: String, message: String) {
    #expect {
      _ = try CalendarEvent.parse(text)
    } throws: { error in
      guard let error = error as? CalendarError else { return false }
      return error.field == field && (message.isEmpty || error.message == message)
    }
  }

  @Test("a trailing zone name is carried, UTC is a flag") func zones() throws {
    #expect(try CalendarEvent.parse("daily Europe/Berlin").zoneName == "Europe/Berlin")
    #expect(try CalendarEvent.parse("daily UTC").isUTC)
    #expect(try CalendarEvent.parse("daily").zoneName == nil)
    #expect(throws: CalendarError.self) { try CalendarEvent.parse("daily ../../etc/passwd") }
  }

  // Expected values: systemd-analyze calendar --iterations=4 --base-time=... (systemd 252, Debian 12).
  @Test(
    "next elapses agree with systemd: leap years, month ends, daylight saving in two zones",
    arguments: [
      ("*-02-29", "2025-01-01T00:00:00Z", ["2028-02-29T00:00:00+00:00", "2032-02-29T00:00:00+00:00", "2036-02-29T00:00:00+00:00", "2040-02-29T00:00:00+00:00"]),
      ("*-02-29 12:00", "2096-03-01T00:00:00Z", ["2104-02-29T12:00:00+00:00", "2108-02-29T12:00:00+00:00", "2112-02-29T12:00:00+00:00", "2116-02-29T12:00:00+00:00"]),
      ("*-*-31", "2026-01-31T00:00:00Z", ["2026-03-31T00:00:00+00:00", "2026-05-31T00:00:00+00:00", "2026-07-31T00:00:00+00:00", "2026-08-31T00:00:00+00:00"]),
      ("*-*~01", "2028-01-31T00:00:00Z", ["2028-02-29T00:00:00+00:00", "2028-03-31T00:00:00+00:00", "2028-04-30T00:00:00+00:00", "2028-05-31T00:00:00+00:00"]),
      ("*-02~01", "2027-03-01T00:00:00Z", ["2028-02-29T00:00:00+00:00", "2029-02-28T00:00:00+00:00", "2030-02-28T00:00:00+00:00", "2031-02-28T00:00:00+00:00"]),
      ("Mon..Fri *-*-* 09:00", "2026-12-04T10:00:00Z", ["2026-12-07T09:00:00+00:00", "2026-12-08T09:00:00+00:00", "2026-12-09T09:00:00+00:00", "2026-12-10T09:00:00+00:00"]),
      ("Sat,Sun 10:00", "2026-12-04T10:00:00Z", ["2026-12-05T10:00:00+00:00", "2026-12-06T10:00:00+00:00", "2026-12-12T10:00:00+00:00", "2026-12-13T10:00:00+00:00"]),
      ("monthly", "2026-12-04T10:00:00Z", ["2027-01-01T00:00:00+00:00", "2027-02-01T00:00:00+00:00", "2027-03-01T00:00:00+00:00", "2027-04-01T00:00:00+00:00"]),
      ("quarterly", "2026-12-04T10:00:00Z", ["2027-01-01T00:00:00+00:00", "2027-04-01T00:00:00+00:00", "2027-07-01T00:00:00+00:00", "2027-10-01T00:00:00+00:00"]),
      ("*-*-* *:0/15:00", "2026-12-31T23:40:00Z", ["2026-12-31T23:45:00+00:00", "2027-01-01T00:00:00+00:00", "2027-01-01T00:15:00+00:00", "2027-01-01T00:30:00+00:00"]),
      ("2026-*-01 03:00", "2026-11-15T00:00:00Z", ["2026-12-01T03:00:00+00:00"]),
      ("*-*-* 02:30 Europe/Berlin", "2026-03-28T00:00:00Z", ["2026-03-28T02:30:00+01:00", "2026-03-30T02:30:00+02:00", "2026-03-31T02:30:00+02:00", "2026-04-01T02:30:00+02:00"]),
      ("hourly Europe/Berlin", "2026-03-29T00:30:00Z", ["2026-03-29T03:00:00+02:00", "2026-03-29T04:00:00+02:00", "2026-03-29T05:00:00+02:00", "2026-03-29T06:00:00+02:00"]),
      ("*-*-* 02:00/20:00 Europe/Berlin", "2026-10-24T23:00:00Z", ["2026-10-25T02:00:00+02:00", "2026-10-25T02:20:00+02:00", "2026-10-25T02:40:00+02:00", "2026-10-26T02:00:00+01:00"]),
      ("*-*-* 02:00/20:00 Europe/Berlin", "2026-10-25T01:10:00Z", ["2026-10-25T02:20:00+01:00", "2026-10-25T02:40:00+01:00", "2026-10-26T02:00:00+01:00", "2026-10-26T02:20:00+01:00"]),
      ("*-*-* 02:30 America/New_York", "2026-03-07T12:00:00Z", ["2026-03-09T02:30:00-04:00", "2026-03-10T02:30:00-04:00", "2026-03-11T02:30:00-04:00", "2026-03-12T02:30:00-04:00"]),
      ("*-*-* 01:30 America/New_York", "2026-10-31T12:00:00Z", ["2026-11-01T01:30:00-04:00", "2026-11-02T01:30:00-05:00", "2026-11-03T01:30:00-05:00", "2026-11-04T01:30:00-05:00"]),
      ("*-*-* *:30 America/New_York", "2026-11-01T04:00:00Z", ["2026-11-01T00:30:00-04:00", "2026-11-01T01:30:00-04:00", "2026-11-01T02:30:00-05:00", "2026-11-01T03:30:00-05:00"]),
    ] as [(String, String, [String])])
  func nextElapses(text: String, from: String, expected: [String]) throws {
    let event = try CalendarEvent.parse(text)
    let zone = try zoneRules(event.zoneName ?? "UTC")
    #expect(elapses({ event.nextElapse(after: $0, zone: zone) }, from: utcSeconds(from), zone: zone) == expected)
  }

  @Test("an event that cannot happen never elapses, quickly") func never() throws {
    #expect(try CalendarEvent.parse("*-02-30").nextElapse(after: 0, zone: .utc) == nil)
    #expect(try CalendarEvent.parse("2026-01-01").nextElapse(after: utcSeconds("2026-01-01T00:00:00Z"), zone: .utc) == nil)
  }

  @Test("sub-second repetitions elapse in microseconds") func microseconds() throws {
    let event = try CalendarEvent.parse("*:*:0/0.5")
    let start = utcSeconds("2026-01-01T00:00:00Z") * 1_000_000
    #expect(event.nextElapse(afterMicroseconds: start, zone: .utc) == start + 500_000)
    #expect(event.nextElapse(afterMicroseconds: start + 500_000, zone: .utc) == start + 1_000_000)
  }
}
