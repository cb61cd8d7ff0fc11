// libFuzzer entry point for ibex's parsers (scripts/fuzz.sh builds and runs it).
//
// Every parser that reads untrusted text is one named target below. A crash, a hang, a trap or
// a broken invariant (precondition) is a bug. The environment variable IBEX_FUZZ_TARGET selects
// one target (`scripts/fuzz.sh --each SECONDS TARGET...` sets it, so each parser gets the whole
// time and its own corpus); unset, every input goes through every target (`scripts/fuzz.sh 20`).
//
// Adding a parser (calendar expressions, cron lines, HTTP requests, ...):
//   1. add one `FuzzTarget(name: "...") { text in ... }` entry to `fuzzTargets`: feed the text to
//      the parser and, where there is one, check a round trip with `precondition`;
//   2. put a few valid inputs in Fuzz/corpus/<name>/ (one file each) as seeds;
//   3. if the parser lives in a new module, add that module to the `modules` list in
//      scripts/fuzz.sh (and import it here).
// `scripts/fuzz.sh --list` prints the targets; docs/development.md has the per-target numbers.
import Glibc
import IbexConfig
import IbexCore
import IbexLog

struct FuzzTarget: Sendable {
  let name: String
  let run: @Sendable (String) -> Void
}

let fuzzTargets: [FuzzTarget] = [
  // The control socket: one request line, and the JSON of answers.
  FuzzTarget(name: "control") { text in _ = try? ControlRequest(parsing: text) },
  FuzzTarget(name: "json") { text in
    if let value = JSONValue(parsing: text) { precondition(JSONValue(parsing: value.encoded) == value, "JSON round trip") }
  },
  // Native service files: the unit-file syntax, the service model, command-line words.
  FuzzTarget(name: "unit-file") { text in
    if let entries = try? UnitFile.parse(text, file: "fuzz.service") {
      _ = try? ServiceFileParser.parse(name: "fuzz", entries: entries, location: SourceLocation(file: "fuzz.service", line: 1))
    }
    _ = try? UnitFile.words(text)
  },
  // s6-overlay files: up/down (execline lexing), fix-attrs.d, the S6_* variables, s6-log scripts.
  FuzzTarget(name: "execline") { text in
    if let result = try? ExeclineLexer.lex(text, file: "up") { _ = ExeclineLexer.display(result.words) }
  },
  FuzzTarget(name: "s6-fix-attrs") { text in _ = try? FixAttrsRule.parse(text, file: "fix-attrs.d/fuzz") },
  FuzzTarget(name: "s6-settings") { text in
    _ = S6Settings.parse(environment: text.split(separator: "\n").map(String.init))
  },
  FuzzTarget(name: "s6-log-script") { text in _ = try? S6LogScript(parsing: text) },
  // s6-log's +re/-re selections: the pattern is the first line, the rest is matched against it.
  FuzzTarget(name: "regex") { text in
    let lines = text.split(separator: "\n", maxSplits: 1, omittingEmptySubsequences: false)
    if let expression = try? RegularExpression(String(lines[0])) {
      _ = expression.matches(lines.count > 1 ? Array(lines[1].utf8) : [])
    }
  },
  // Environment files (EnvironmentFile=, s6 container_environment) and $VAR expansion.
  FuzzTarget(name: "environment") { text in
    _ = Environment.parseFile(text)
    _ = Environment.expand(text.split(separator: " ").map(String.init), in: ["A=1", "B=two words"])
  },
  // Durations (RestartSec=, timeouts) and signal names (KillSignal=, the control protocol).
  FuzzTarget(name: "time-span") { text in
    _ = try? TimeSpan(parsing: text)
    _ = Signal(parsing: text)
  },
  // What `ibex doctor` reads: policy files, /proc/self/status, mountinfo, uid_map.
  FuzzTarget(name: "doctor-policy") { text in
    if let policy = try? Policy.parse(text, file: "fuzz.policy") { _ = policy.violations(Observation()) }
  },
  FuzzTarget(name: "proc-status") { text in _ = ProcessStatus(parsing: text) },
  FuzzTarget(name: "mountinfo") { text in _ = Mount.parse(text) },
  FuzzTarget(name: "uid-map") { text in _ = IDMapRange.parse(text) },
  // /etc/passwd and /etc/group of the image.
  FuzzTarget(name: "passwd") { text in
    let database = UserDatabase(passwd: text, group: text)
    _ = database.account("root")
  },
  // Scheduled jobs: crontab files, calendar events, cron expressions, TZif bytes, POSIX TZ.
  FuzzTarget(name: "crontab") { text in _ = try? Crontab.parse(text, file: "crontab", isUser: { $0 == "root" }) },
  FuzzTarget(name: "calendar") { text in fuzzSchedules(text, bytes: Array(text.utf8)) },
  // The environment stage: the input as a defaults file, passwd, group, variables and files.
  FuzzTarget(name: "environment-stage") { text in
    let lines = text.split(separator: "\n").map(String.init)
    _ = EnvironmentStage.plan(
      EnvironmentStage.Input(
        environment: lines + ["CONTAINER_USER_ROOT=5", "CONTAINER_GROUP_ADD_ROOT=root", "PUID=7", "TZ=" + text],
        defaults: [("/d.env", text)], passwd: text, group: text, read: { _ in .contents(Array(text.utf8)) }))
  },
  // Variable forms: zone names (TZ, TIMEZONE), booleans, uids and gids.
  FuzzTarget(name: "environment-values") { text in
    _ = EnvironmentStage.isZoneName(text)
    _ = Boolean.parse(text)
    if let id = EnvironmentStage.numericID(text) { precondition(EnvironmentStage.numericID(String(id)) == id, "id round trip") }
  },
]

/// The targets this process runs: the one named by IBEX_FUZZ_TARGET, or all.
let selectedTargets: [FuzzTarget] = {
  guard let raw = getenv("IBEX_FUZZ_TARGET"), !String(cString: raw).isEmpty, String(cString: raw) != "all" else { return fuzzTargets }
  let name = String(cString: raw)
  guard let target = fuzzTargets.first(where: { $0.name == name }) else {
    let names = fuzzTargets.map(\.name).joined(separator: " ")
    fputs("fuzz: unknown target '\(name)'; targets: \(names)\n", stderr)
    exit(2)
  }
  return [target]
}()

@_cdecl("LLVMFuzzerInitialize")
public func fuzzInitialize(_ argc: UnsafeMutablePointer<Int32>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>) -> Int32 {
  if let raw = getenv("IBEX_FUZZ_TARGET"), String(cString: raw) == "list" {
    for target in fuzzTargets { print(target.name) }
    exit(0)
  }
  _ = selectedTargets
  return 0
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzParsers(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
  let text = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
  for target in selectedTargets { target.run(text) }
  return 0
}

/// Calendar events and cron expressions: parsing, the normalized form (which parses again to
/// itself) and a few next elapses, which must terminate and move forward; zone rules from
/// TZif bytes and POSIX TZ strings.
func fuzzSchedules(_ text: String, bytes: [UInt8]) {
  let start: Int64 = 1_790_000_000
  let zone = (try? TimeZoneRules.parse(posix: "CET-1CEST,M3.5.0,M10.5.0/3")) ?? .utc
  if let event = try? CalendarEvent.parse(text) {
    let normalized = event.normalized
    precondition((try? CalendarEvent.parse(normalized))?.normalized == normalized, "calendar normalized form round trip")
    var after = start
    for _ in 0..<3 {
      guard let next = event.nextElapse(after: after, zone: zone) else { break }
      precondition(next > after, "calendar elapse moves forward")
      after = next
    }
  }
  if let cron = try? CronExpression.parse(text) {
    precondition((try? CronExpression.parse(cron.normalized))?.normalized == cron.normalized, "cron normalized form round trip")
    var after = start
    for _ in 0..<3 {
      guard let next = cron.nextElapse(after: after, zone: zone) else { break }
      precondition(next > after, "cron elapse moves forward")
      after = next
    }
  }
  for rules in [try? TimeZoneRules.parse(tzif: bytes), try? TimeZoneRules.parse(posix: text)] {
    guard let rules else { continue }
    for instant: Int64 in [-2_000_000_000, 0, start, 5_000_000_000] {
      _ = rules.offset(atUTC: instant)
      _ = rules.convert(local: instant)
      _ = rules.nextOffsetChange(afterUTC: instant)
    }
  }
}
