// libFuzzer entry point for ibex's parsers (scripts/fuzz.sh builds and runs it).
// Every input goes through each parser that reads untrusted text: control requests and JSON
// (the control socket), unit files and service definitions, time spans, signal names,
// environment files, command-line expansion, s6 up/down files (execline lexing), what
// `ibex doctor` reads (policy files, /proc/self/status, mountinfo, uid_map), the environment
// stage (defaults, passwd/group, ids, zone names, booleans) and wait-for targets. A crash,
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
  if let policy = try? Policy.parse(text, file: "fuzz.policy") { _ = policy.violations(Observation()) }
  _ = ProcessStatus(parsing: text)
  _ = Mount.parse(text)
  _ = IDMapRange.parse(text)
  _ = Environment.expand(text.split(separator: " ").map(String.init), in: ["A=1", "B=two words"])
  // The environment stage: the input as defaults file, passwd, group, variables and files.
  let lines = text.split(separator: "\n").map(String.init)
  _ = EnvironmentStage.plan(
    EnvironmentStage.Input(
      environment: lines + ["CONTAINER_USER_ROOT=5", "CONTAINER_GROUP_ADD_ROOT=root", "PUID=7", "TZ=\(text)"],
      defaults: [("/d.env", text)], passwd: text, group: text, read: { _ in .contents(Array(text.utf8)) }))
  _ = EnvironmentStage.isZoneName(text)
  _ = Boolean.parse(text)
  if let target = WaitTarget.parse(text).target { precondition(WaitTarget.parse(target.description).target == target, "wait-for round trip") }
  return 0
}
