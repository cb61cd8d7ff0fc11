import IbexLog
import IbexRuntime
import Testing

@Test("RFC 3339 in UTC with microseconds")
func rfc3339() {
  #expect(Timestamp.rfc3339(WallTime(seconds: 0, nanoseconds: 0)) == "1970-01-01T00:00:00.000000Z")
  // 2026-11-29T21:04:05Z
  #expect(Timestamp.rfc3339(WallTime(seconds: 1_795_986_245, nanoseconds: 123_456_789)) == "2026-11-29T21:04:05.123456Z")
  #expect(Timestamp.rfc3339(WallTime(seconds: 951_782_400, nanoseconds: 0)) == "2000-02-29T00:00:00.000000Z")
  #expect(Timestamp.rfc3339(WallTime(seconds: -1, nanoseconds: 0)) == "1969-12-31T23:59:59.000000Z")
}

@Test("s6-log's T stamp, in UTC with nanoseconds")
func humanReadable() {
  #expect(Timestamp.humanReadable(WallTime(seconds: 1_795_986_245, nanoseconds: 5)) == "2026-11-29 21:04:05.000000005")
}

@Test("TAI64N: 2^62 + UTC + 10 s + leap seconds, then nanoseconds, as skalibs writes it")
func tai64n() {
  // 1970: only the 10 s offset.
  #expect(Timestamp.tai64n(WallTime(seconds: 0, nanoseconds: 0)) == "@400000000000000a00000000")
  // After 2017-01-01: 27 leap seconds, 37 s in all (0x25).
  #expect(Timestamp.tai64n(WallTime(seconds: 1_483_228_800, nanoseconds: 1)) == "@40000000586846a500000001")
  // Just before that leap second: 36 s.
  #expect(Timestamp.tai64n(WallTime(seconds: 1_483_228_799, nanoseconds: 999_999_999)) == "@40000000586846a33b9ac9ff")
}
