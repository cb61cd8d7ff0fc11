import IbexLog
import IbexRuntime
import Testing

private let noon = WallTime(seconds: 1_795_986_245, nanoseconds: 123_456_000)

private func format(_ formatter: LineFormatter, _ bytes: [UInt8], stream: LogStream = .stdout, cut: Bool = false, continuation: Bool = false) -> String {
  var out: [UInt8] = []
  bytes.withUnsafeBytes {
    formatter.append(FramedLine(bytes: $0, isCut: cut, isContinuation: continuation), stream: stream, at: noon, to: &out)
  }
  return String(decoding: out, as: UTF8.self)
}

@Test("text lines: prefix, optional timestamp, trailing CR dropped")
func textLines() {
  #expect(format(LineFormatter(service: "web"), Array("hello\r".utf8)) == "web | hello\n")
  #expect(format(LineFormatter(service: "web", style: .text(prefixed: false)), Array("hello".utf8)) == "hello\n")
  #expect(format(LineFormatter(service: "web", timestamp: .rfc3339), Array("hi".utf8)) == "web | 2026-11-29T21:04:05.123456Z hi\n")
  #expect(format(LineFormatter(service: "web"), Array("more".utf8), continuation: true) == "web + more\n")
}

@Test("JSON lines escape quotes, backslashes and control characters, and repair invalid UTF-8")
func jsonLines() {
  let formatter = LineFormatter(service: "w\"b", style: .json, timestamp: .rfc3339)
  let line = format(formatter, Array("a\"b\\c\td\u{1}e".utf8) + [0xff, 0x0d], stream: .stderr)
  #expect(line == "{\"ts\":\"2026-11-29T21:04:05.123456Z\",\"service\":\"w\\\"b\",\"stream\":\"stderr\",\"msg\":\"a\\\"b\\\\c\\td\\u0001e\u{FFFD}\"}\n")
  let partial = format(LineFormatter(service: "x", style: .json), Array("é".utf8), cut: true)
  // JSON lines always carry ts, also without a timestamp style.
  #expect(partial == "{\"ts\":\"2026-11-29T21:04:05.123456Z\",\"service\":\"x\",\"stream\":\"stdout\",\"msg\":\"é\",\"partial\":true}\n")
}

@Test("ibex's own events as JSON: the level from the message's label, the label dropped from msg")
func jsonEvents() {
  for (message, level, text) in [("web: running", "info", "web: running"), ("warning: web: x", "warning", "web: x"), ("fatal: bad", "error", "bad")] {
    var out: [UInt8] = []
    LineFormatter(service: "ibex", style: .json, timestamp: .rfc3339).appendEvent(message, at: noon, to: &out)
    #expect(String(decoding: out, as: UTF8.self) == "{\"ts\":\"2026-11-29T21:04:05.123456Z\",\"service\":\"ibex\",\"level\":\"\(level)\",\"msg\":\"\(text)\"}\n")
  }
}
