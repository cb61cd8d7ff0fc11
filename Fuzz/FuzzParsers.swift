// libFuzzer entry point for ibex's parsers (scripts/fuzz.sh builds and runs it).
// Every input goes through each parser that reads untrusted text: control requests and JSON
// (the control socket), unit files and service definitions, time spans, signal names,
// environment files, command-line expansion, s6 up/down files (execline lexing), and what
// `ibex doctor` reads (policy files, /proc/self/status, mountinfo, uid_map), and what
// serve-metrics reads (HTTP request heads, Accept, --listen, metrics snapshots, /proc stat lines). A crash,
// a hang or a trap is a bug.
import IbexConfig
import IbexCore

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzParsers(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
  let text = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
  _ = try? ControlRequest(parsing: text)
  if let value = JSONValue(parsing: text) { precondition(JSONValue(parsing: value.encoded) == value, "JSON round trip") }
  // serve-metrics: the HTTP request head, the Accept header, --listen, and what it reads back
  // from ibex (the metrics snapshot) and from /proc (stat lines).
  let bytes = Array(UnsafeBufferPointer(start: data, count: size))
  if case .complete(let head) = HTTPRequestParser.parse(bytes) {
    precondition(head.path.hasPrefix("/") && !head.method.isEmpty, "HTTP head")
    _ = HTTPEndpoint.route(head)
    _ = MetricsFormat(accept: head.accept)
  }
  _ = MetricsFormat(accept: text)
  _ = try? ListenAddress(parsing: text)
  _ = ProcessStat(parsing: bytes)
  if let value = JSONValue(parsing: text), let snapshot = MetricsSnapshot(json: value) {
    precondition(MetricsSnapshot(json: snapshot.json) == snapshot, "metrics snapshot round trip")
    _ = MetricsExposition.render(snapshot, format: .openMetrics)
  }
  if let entries = try? UnitFile.parse(text, file: "fuzz.service") {
    _ = try? ServiceFileParser.parse(name: "fuzz", entries: entries, location: SourceLocation(file: "fuzz.service", line: 1))
  }
  _ = try? UnitFile.words(text)
  if let result = try? ExeclineLexer.lex(text, file: "up") { _ = ExeclineLexer.display(result.words) }
  _ = try? TimeSpan(parsing: text)
  _ = Signal(parsing: text)
  _ = Environment.parseFile(text)
  if let policy = try? Policy.parse(text, file: "fuzz.policy") { _ = policy.violations(Observation()) }
  _ = ProcessStatus(parsing: text)
  _ = Mount.parse(text)
  _ = IDMapRange.parse(text)
  _ = Environment.expand(text.split(separator: " ").map(String.init), in: ["A=1", "B=two words"])
  return 0
}
