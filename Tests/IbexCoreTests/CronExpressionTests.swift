import IbexCore
import Testing

@Suite("Cron expressions (Vixie cron / cronie)")
struct CronExpressionTests {
  @Test(
    "normalized form",
    arguments: [
      ("*/15 * * * *", "*/15 * * * *"), ("@daily", "0 0 * * *"), ("@midnight", "0 0 * * *"), ("@hourly", "0 * * * *"),
      ("@weekly", "0 0 * * 0"), ("@monthly", "0 0 1 * *"), ("@yearly", "0 0 1 1 *"), ("@annually", "0 0 1 1 *"),
      ("0 9 * JAN-Mar Mon-FRI", "0 9 * 1-3 1-5"), ("0 0 * * 7", "0 0 * * 0"), ("  1,2  3\t* * *  ", "1,2 3 * * *"),
      ("5/20 1 * * *", "5-59/20 1 * * *"),
    ] as [(String, String)])
  func normalizes(text: String, normalized: String) throws {
    #expect(try CronExpression.parse(text).normalized == normalized)
  }

  @Test(
    "rejects bad expressions, naming the field",
    arguments: [
      ("60 * * * *", "minute", "60 is out of range 0-59"), ("* 24 * * *", "hour", "24 is out of range 0-23"),
      ("* * 0 * *", "day-of-month", "0 is out of range 1-31"), ("* * * 13 *", "month", "13 is out of range 1-12"),
      ("* * * * 8", "day-of-week", "8 is out of range 0-7"), ("* * * *", "day-of-week", ""),
      ("*/0 * * * *", "minute", "the step in '*/0' is 0"), ("5-1 * * * *", "minute", "range 5-1 runs backwards"),
      ("* * * foo *", "month", "'foo' is not a number or a name (jan, feb, ...)"), ("1,,2 * * * *", "minute", ""),
      ("@reboot", "expression", ""), ("@fortnightly", "expression", ""), ("* * * * * extra", "expression", ""),
      ("", "expression", "empty cron expression"),
    ] as [(String, String, String)])
  func rejects(text: String, field: String, message: String) {
    #expect {
      _ = try CronExpression.parse(text)
    } throws: { error in
      guard let error = error as? CalendarError else { return false }
      return error.field == field && (message.isEmpty || error.message == message)
    }
  }

  @Test("the schedule at the start of a crontab line, and the rest") func leadingFields() throws {
    let (expression, rest) = try CronExpression.parse(leadingFieldsOf: "*/5 * * * * root /bin/backup --all")
    #expect(expression.normalized == "*/5 * * * *")
    #expect(rest == "root /bin/backup --all")
    let (daily, command) = try CronExpression.parse(leadingFieldsOf: "@daily\techo a=b")
    #expect(daily.normalized == "0 0 * * *")
    #expect(command == "echo a=b")
  }

  // Day-of-month/day-of-week: OR when both are restricted, AND when either starts with '*'.
  // Daylight saving (cronie): fixed-time jobs in the skipped hour run right after it, once;
  // in the repeated hour only in its first occurrence; '*' jobs run in both occurrences.
  @Test(
    "next elapses: leap years, month ends, day rules, daylight saving in two zones",
    arguments: [
      ("UTC", "*/15 * * * *", "2026-12-31T23:40:00Z", ["2026-12-31T23:45:00+00:00", "2027-01-01T00:00:00+00:00", "2027-01-01T00:15:00+00:00", "2027-01-01T00:30:00+00:00"]),
      ("UTC", "0 0 29 2 *", "2026-03-01T00:00:00Z", ["2028-02-29T00:00:00+00:00", "2032-02-29T00:00:00+00:00", "2036-02-29T00:00:00+00:00", "2040-02-29T00:00:00+00:00"]),
      ("UTC", "0 12 31 * *", "2026-01-31T12:00:00Z", ["2026-03-31T12:00:00+00:00", "2026-05-31T12:00:00+00:00", "2026-07-31T12:00:00+00:00", "2026-08-31T12:00:00+00:00"]),
      ("UTC", "0 0 1,15 * 1", "2026-12-01T00:00:00Z", ["2026-12-07T00:00:00+00:00", "2026-12-14T00:00:00+00:00", "2026-12-15T00:00:00+00:00", "2026-12-21T00:00:00+00:00"]),
      ("UTC", "0 0 */10 * 1", "2026-01-01T00:00:00Z", ["2026-05-11T00:00:00+00:00", "2026-06-01T00:00:00+00:00", "2026-08-31T00:00:00+00:00", "2026-09-21T00:00:00+00:00"]),
      ("UTC", "0 9 * jan-mar mon-fri", "2026-12-04T00:00:00Z", ["2027-01-01T09:00:00+00:00", "2027-01-04T09:00:00+00:00", "2027-01-05T09:00:00+00:00", "2027-01-06T09:00:00+00:00"]),
      ("UTC", "0 0 * * 7", "2026-12-04T00:00:00Z", ["2026-12-06T00:00:00+00:00", "2026-12-13T00:00:00+00:00", "2026-12-20T00:00:00+00:00", "2026-12-27T00:00:00+00:00"]),
      ("UTC", "@weekly", "2026-12-04T00:00:00Z", ["2026-12-06T00:00:00+00:00", "2026-12-13T00:00:00+00:00", "2026-12-20T00:00:00+00:00", "2026-12-27T00:00:00+00:00"]),
      ("UTC", "5/20 1 * * *", "2026-12-04T00:00:00Z", ["2026-12-04T01:05:00+00:00", "2026-12-04T01:25:00+00:00", "2026-12-04T01:45:00+00:00", "2026-12-05T01:05:00+00:00"]),
      ("Europe/Berlin", "30 2 * * *", "2026-03-28T00:00:00Z", ["2026-03-28T02:30:00+01:00", "2026-03-29T03:00:00+02:00", "2026-03-30T02:30:00+02:00", "2026-03-31T02:30:00+02:00"]),
      ("Europe/Berlin", "30 2 * * *", "2026-10-24T00:00:00Z", ["2026-10-24T02:30:00+02:00", "2026-10-25T02:30:00+02:00", "2026-10-26T02:30:00+01:00", "2026-10-27T02:30:00+01:00"]),
      ("Europe/Berlin", "*/30 * * * *", "2026-10-24T23:45:00Z", ["2026-10-25T02:00:00+02:00", "2026-10-25T02:30:00+02:00", "2026-10-25T02:00:00+01:00", "2026-10-25T02:30:00+01:00"]),
      ("Europe/Berlin", "0,30 2 * * *", "2026-03-29T00:00:00Z", ["2026-03-29T03:00:00+02:00", "2026-03-30T02:00:00+02:00", "2026-03-30T02:30:00+02:00", "2026-03-31T02:00:00+02:00"]),
      ("America/New_York", "30 2 * * *", "2026-03-07T12:00:00Z", ["2026-03-08T03:00:00-04:00", "2026-03-09T02:30:00-04:00", "2026-03-10T02:30:00-04:00", "2026-03-11T02:30:00-04:00"]),
      ("America/New_York", "30 1 * * *", "2026-10-31T12:00:00Z", ["2026-11-01T01:30:00-04:00", "2026-11-02T01:30:00-05:00", "2026-11-03T01:30:00-05:00", "2026-11-04T01:30:00-05:00"]),
      ("America/New_York", "15 * * * *", "2026-11-01T04:00:00Z", ["2026-11-01T00:15:00-04:00", "2026-11-01T01:15:00-04:00", "2026-11-01T01:15:00-05:00", "2026-11-01T02:15:00-05:00"]),
    ] as [(String, String, String, [String])])
  func nextElapses(zone: String, text: String, from: String, expected: [String]) throws {
    let expression = try CronExpression.parse(text)
    let rules = try zoneRules(zone)
    #expect(elapses({ expression.nextElapse(after: $0, zone: rules) }, from: utcSeconds(from), zone: rules) == expected)
  }

  @Test("an impossible date never elapses") func never() throws {
    #expect(try CronExpression.parse("0 0 30 2 *").nextElapse(after: 0, zone: .utc) == nil)
  }
}
