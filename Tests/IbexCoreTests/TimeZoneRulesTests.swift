import Foundation
import IbexCore
import Testing

@Suite("Time zone rules (TZif files, POSIX TZ strings)")
struct TimeZoneRulesTests {
  @Test("offsets and abbreviations from Debian's tzdata files") func tzif() throws {
    let berlin = try zoneRules("Europe/Berlin")
    #expect(berlin.offset(atUTC: utcSeconds("2026-01-15T12:00:00Z")) == (3600, false, "CET"))
    #expect(berlin.offset(atUTC: utcSeconds("2026-07-15T12:00:00Z")) == (7200, true, "CEST"))
    // The last transition in the file's table is long past: the footer's rule decides.
    #expect(berlin.offset(atUTC: utcSeconds("2190-07-15T12:00:00Z")) == (7200, true, "CEST"))
    #expect(berlin.offset(atUTC: utcSeconds("1890-01-01T00:00:00Z")).abbreviation == "LMT")
    let newYork = try zoneRules("America/New_York")
    #expect(newYork.offset(atUTC: utcSeconds("2026-03-08T06:59:59Z")).seconds == -18000)
    #expect(newYork.offset(atUTC: utcSeconds("2026-03-08T07:00:00Z")).seconds == -14400)
    let kolkata = try zoneRules("Asia/Kolkata")
    #expect(kolkata.offset(atUTC: utcSeconds("2026-01-01T00:00:00Z")) == (19800, false, "IST"))
  }

  @Test("local times in a gap and in a repeated hour") func conversions() throws {
    let berlin = try zoneRules("Europe/Berlin")
    let local = { (text: String) in utcSeconds(text) }  // a local reading written as if UTC
    #expect(berlin.convert(local: local("2026-03-29T02:30:00Z")) == .skipped(transition: local("2026-03-29T01:00:00Z"), shifted: local("2026-03-29T01:30:00Z")))
    #expect(berlin.convert(local: local("2026-10-25T02:30:00Z")) == .repeated(first: local("2026-10-25T00:30:00Z"), second: local("2026-10-25T01:30:00Z")))
    #expect(berlin.convert(local: local("2026-06-01T12:00:00Z")) == .unique(local("2026-06-01T10:00:00Z")))
    #expect(berlin.nextOffsetChange(afterUTC: local("2026-06-01T00:00:00Z")) == local("2026-10-25T01:00:00Z"))
  }

  @Test("a POSIX TZ string gives the same offsets as the zone file, for years") func posix() throws {
    let rule = try TimeZoneRules.parse(posix: "CET-1CEST,M3.5.0,M10.5.0/3")
    let file = try zoneRules("Europe/Berlin")
    var instant = utcSeconds("2000-01-01T00:00:00Z")
    while instant < utcSeconds("2040-01-01T00:00:00Z") {
      #expect(rule.offset(atUTC: instant) == file.offset(atUTC: instant))
      instant += 11 * 3600 + 17
    }
    let southern = try TimeZoneRules.parse(posix: "AEST-10AEDT,M10.1.0,M4.1.0/3")
    #expect(southern.offset(atUTC: utcSeconds("2026-01-15T00:00:00Z")) == (39600, true, "AEDT"))
    #expect(southern.offset(atUTC: utcSeconds("2026-07-15T00:00:00Z")) == (36000, false, "AEST"))
    #expect(try TimeZoneRules.parse(posix: "<+0330>-3:30").offset(atUTC: 0) == (12600, false, "+0330"))
  }

  @Test(
    "bad data is an error, never a crash",
    arguments: [[], Array("TZif".utf8), Array("TZif2".utf8) + [UInt8](repeating: 0, count: 40), Array("xxxx".utf8)]
      as [[UInt8]])
  func badTZif(bytes: [UInt8]) {
    #expect(throws: TimeZoneError.self) { try TimeZoneRules.parse(tzif: bytes) }
  }

  @Test("every zone file of tzdata parses") func allZones() throws {
    let root = "/usr/share/zoneinfo/"
    let names = try #require(FileManager.default.enumerator(atPath: root)).compactMap { $0 as? String }
      .filter { !$0.hasPrefix("right/") && !$0.hasPrefix("posix/") && !$0.contains(".") }
    var parsed = 0
    for name in names {
      guard let data = FileManager.default.contents(atPath: root + name), data.starts(with: Array("TZif".utf8)) else { continue }
      _ = try TimeZoneRules.parse(tzif: [UInt8](data))
      parsed += 1
    }
    #expect(parsed > 300)
  }
}
