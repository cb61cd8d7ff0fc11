import IbexCore
import Testing

@Suite("TimeSpan parsing (systemd time spans)")
struct TimeSpanTests {
  @Test(
    "accepts the forms users write",
    arguments: [
      ("2s", 2_000_000_000), ("500ms", 500_000_000), ("1.5s", 1_500_000_000), ("3", 3_000_000_000),
      ("100us", 100_000), ("1min 30s", 90_000_000_000), ("1min30s", 90_000_000_000), ("2h", 7_200_000_000_000),
      ("1d", 86_400_000_000_000), (" 5 s ", 5_000_000_000), ("0", 0), ("250 msec", 250_000_000),
      ("0.5", 500_000_000), ("10seconds", 10_000_000_000), ("1m", 60_000_000_000), ("7ns", 7),
    ] as [(String, Int64)])
  func parses(text: String, nanoseconds: Int64) throws {
    #expect(try TimeSpan(parsing: text).nanoseconds == nanoseconds)
  }

  @Test(
    "rejects malformed spans with a message that says what is wrong",
    arguments: [
      ("", "empty time span"), ("   ", "empty time span"), ("s", "'s' is not a number"),
      ("5parsecs", "unknown time unit 'parsecs' (use ms, s, min, h)"), ("-1s", "'-1s' is not a number"),
      ("99999999999999999999", "time span too large"), ("200000d", "time span too large"),
    ] as [(String, String)])
  func rejects(text: String, message: String) {
    #expect {
      _ = try TimeSpan(parsing: text)
    } throws: { error in
      (error as? TimeSpan.ParseError)?.description == message
    }
  }
}
