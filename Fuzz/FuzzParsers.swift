// libFuzzer entry point for ibex's parsers (scripts/fuzz.sh builds and runs it).
// Every input goes through each parser that reads untrusted text: control requests and JSON
// (the control socket), unit files and service definitions, time spans, signal names,
// environment files, command-line expansion and s6 up/down files (execline lexing). A crash,
// a hang or a trap is a bug.
import IbexConfig
import IbexCore

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzParsers(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
  let text = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
  _ = try? ControlRequest(parsing: text)
  if let value = JSONValue(parsing: text) { precondition(JSONValue(parsing: value.encoded) == value, "JSON round trip") }
  if let entries = try? UnitFile.parse(text, file: "fuzz.service") {
    _ = try? ServiceFileParser.parse(name: "fuzz", entries: entries, location: SourceLocation(file: "fuzz.service", line: 1))
  }
  _ = try? UnitFile.words(text)
  if let result = try? ExeclineLexer.lex(text, file: "up") { _ = ExeclineLexer.display(result.words) }
  _ = try? TimeSpan(parsing: text)
  _ = Signal(parsing: text)
  _ = Environment.parseFile(text)
  _ = Environment.expand(text.split(separator: " ").map(String.init), in: ["A=1", "B=two words"])
  return 0
}
