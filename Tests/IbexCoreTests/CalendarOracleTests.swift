import Foundation
import IbexCore
import Testing

/// Differential tests: thousands of generated expressions and start times, evaluated by ibex
/// and by the real programs, `systemd-analyze calendar` (Debian's systemd, scripts/test.sh
/// installs it) and Python's `croniter` (scripts/install-python-tools.sh). Expressions are
/// batched: one oracle process per start time (systemd) or one for everything (croniter).
/// Documented divergences (docs/timers.md) are counted and reported, never silently skipped.

/// A small deterministic generator (SplitMix64), so a failure reproduces.
struct SplitMix {
  var state: UInt64
  mutating func next() -> UInt64 {
    state &+= 0x9E37_79B9_7F4A_7C15
    var z = state
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
  }
  mutating func below(_ n: Int) -> Int { Int(next() % UInt64(n)) }
  mutating func chance(_ percent: Int) -> Bool { below(100) < percent }
  mutating func pick<T>(_ items: [T]) -> T { items[below(items.count)] }
}

func findProgram(_ name: String) -> String? {
  for directory in (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":") {
    let path = "\(directory)/\(name)"
    if FileManager.default.isExecutableFile(atPath: path) { return path }
  }
  return nil
}

/// Runs a program with an environment and standard input; returns stdout and stderr.
func runOracle(_ path: String, _ arguments: [String], environment: [String: String], input: String = "") throws -> (String, String) {
  let process = Process()
  process.executableURL = URL(fileURLWithPath: path)
  process.arguments = arguments
  process.environment = environment
  // Standard input and error go through files, so only one pipe needs draining.
  let directory = FileManager.default.temporaryDirectory.appendingPathComponent("ibex-oracle-\(UUID().uuidString)")
  try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
  defer { try? FileManager.default.removeItem(at: directory) }
  let inputFile = directory.appendingPathComponent("in")
  let errorFile = directory.appendingPathComponent("err")
  try Data(input.utf8).write(to: inputFile)
  _ = FileManager.default.createFile(atPath: errorFile.path, contents: nil)
  let output = Pipe()
  process.standardOutput = output
  process.standardInput = try FileHandle(forReadingFrom: inputFile)
  process.standardError = try FileHandle(forWritingTo: errorFile)
  try process.run()
  let outData = output.fileHandleForReading.readDataToEndOfFile()
  process.waitUntilExit()
  let errData = try Data(contentsOf: errorFile)
  return (String(decoding: outData, as: UTF8.self), String(decoding: errData, as: UTF8.self))
}

/// Every disagreement, for a closer look: IBEX_ORACLE_LOG=DIR writes DIR/NAME.log.
func saveOracleLog(_ name: String, _ lines: [String]) {
  guard let directory = ProcessInfo.processInfo.environment["IBEX_ORACLE_LOG"] else { return }
  try? Data(lines.joined(separator: "\n").utf8).write(to: URL(fileURLWithPath: "\(directory)/\(name).log"))
}

enum CalendarGenerator {
  static let zones = ["", "", "", " UTC", " Europe/Berlin", " America/New_York", " Australia/Sydney", " Asia/Kolkata"]
  static let weekdays = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]

  static func component(_ g: inout SplitMix, low: Int, high: Int, width: Int) -> String {
    func value() -> String {
      let v = low + g.below(high - low + 1)
      let text = "\(v)"
      return g.chance(50) ? String(repeating: "0", count: max(0, width - text.count)) + text : text
    }
    switch g.below(10) {
    case 0, 1, 2: return "*"
    case 3, 4: return value()
    case 5: return "\(value())/\(1 + g.below(max(1, (high - low) / 2)))"
    case 6:
      let a = low + g.below(high - low + 1)
      let b = a + g.below(high - a + 1)
      return "\(a)..\(b)"
    case 7:
      let a = low + g.below(high - low + 1)
      let b = a + g.below(high - a + 1)
      return "\(a)..\(b)/\(1 + g.below(4))"
    default:
      var parts: [String] = []
      for _ in 0...(1 + g.below(2)) { parts.append(value()) }
      return parts.joined(separator: ",")
    }
  }

  /// A calendar event: mostly valid, sometimes out of range (both must reject it then).
  static func event(_ g: inout SplitMix) -> String {
    if g.chance(5) {
      return g.pick(["minutely", "hourly", "daily", "weekly", "monthly", "yearly", "quarterly", "semiannually", "annually"])
        + g.pick(zones)
    }
    var words: [String] = []
    if g.chance(30) {
      var days: [String] = []
      for _ in 0...g.below(2) {
        let a = g.below(7)
        if g.chance(40) {
          days.append("\(weekdays[a])..\(weekdays[a + g.below(7 - a)])")
        } else {
          days.append(weekdays[a])
        }
      }
      words.append(days.joined(separator: ","))
    }
    if g.chance(70) {
      let year = g.chance(25) ? component(&g, low: 2020, high: 2040, width: 4) : "*"
      let month = component(&g, low: 1, high: 12, width: 2)
      let endOfMonth = g.chance(15)
      let day = endOfMonth ? component(&g, low: 1, high: 7, width: 2) : component(&g, low: 1, high: g.chance(5) ? 32 : 31, width: 2)
      let separator = endOfMonth ? "~" : "-"
      words.append(g.chance(50) ? "\(year)-\(month)\(separator)\(day)" : "\(month)\(separator)\(day)")
    }
    if g.chance(85) || words.isEmpty {
      let hour = component(&g, low: 0, high: g.chance(3) ? 24 : 23, width: 2)
      let minute = component(&g, low: 0, high: 59, width: 2)
      if g.chance(40) {
        words.append("\(hour):\(minute):\(component(&g, low: 0, high: 59, width: 2))")
      } else {
        words.append("\(hour):\(minute)")
      }
    }
    return words.joined(separator: " ") + g.pick(zones)
  }

  /// Start times: spread over 2000-2060, and near the daylight saving changes of the zones.
  static func start(_ g: inout SplitMix) -> Int64 {
    let transitions: [Int64] = [
      1_774_746_000, 1_792_890_000,  // Europe, 2026
      1_772_953_200, 1_793_512_800,  // New York, 2026
      1_775_318_400, 1_791_043_200,  // Sydney, 2026
    ]
    if g.chance(40) {
      return g.pick(transitions) + Int64(g.below(4 * 3600)) - 2 * 3600
    }
    return 946_684_800 + Int64(g.below(60 * 365 * 86400))
  }
}

/// systemd-analyze's blocks: `Original form:` (only when it differs from the normalized form),
/// `Normalized form:`, and elapse lines in UTC (`Next elapse: Sun 2026-03-29 03:00:00 UTC`).
func parseSystemdBlocks(_ text: String) -> [(original: String, normalized: String, elapses: [Int64])] {
  var blocks: [(original: String, normalized: String, elapses: [Int64])] = []
  var original: String? = nil
  for raw in text.split(separator: "\n") {
    let line = raw.trimmingCharacters(in: .whitespaces)
    if line.hasPrefix("Original form: ") {
      original = String(line.dropFirst("Original form: ".count))
    } else if line.hasPrefix("Normalized form: ") {
      let normalized = String(line.dropFirst("Normalized form: ".count))
      blocks.append((original ?? normalized, normalized, []))
      original = nil
    } else if line.hasPrefix("Next elapse: ") || line.hasPrefix("Iter. #") {
      let value = line.split(separator: ":", maxSplits: 1)[1].trimmingCharacters(in: .whitespaces)
      let fields = value.split(separator: " ")
      guard fields.count == 4, fields[3] == "UTC" else { continue }
      let instant = ScheduleExpression.parseTime("\(fields[1])T\(fields[2])Z", zone: .utc)!
      blocks[blocks.count - 1].elapses.append(instant)
    }
  }
  return blocks
}

@Suite(
  "Calendar events agree with systemd-analyze",
  .enabled(if: findProgram("systemd-analyze") != nil, "systemd-analyze is missing: apt-get install systemd (scripts/test.sh)"))
struct SystemdOracleTests {
  @Test("thousands of generated events and start times") func agreement() throws {
    var g = SplitMix(state: 20_261_203)
    let batches = 40
    let perBatch = 60
    let iterations = 5
    var compared = 0
    var elapses = 0
    var rejectedByBoth = 0
    var systemdGaveUp = 0
    var mismatches: [String] = []
    var zoneCache: [String: TimeZoneRules] = [:]
    for _ in 0..<batches {
      let start = CalendarGenerator.start(&g)
      var expressions: [String] = []
      for _ in 0..<perBatch { expressions.append(CalendarGenerator.event(&g)) }
      let (output, errors) = try runOracle(
        findProgram("systemd-analyze")!, ["calendar", "--iterations=\(iterations)", "--base-time=@\(start)", "--"] + expressions,
        environment: ["TZ": "UTC", "LC_ALL": "C", "SYSTEMD_COLORS": "0", "PATH": "/usr/bin:/bin"])
      let blocks = parseSystemdBlocks(output)
      for text in expressions {
        let systemdRejects = errors.contains("Failed to parse calendar specification '\(text)'")
        let event = try? CalendarEvent.parse(text)
        if systemdRejects {
          if event == nil { rejectedByBoth += 1 } else { mismatches.append("\(text): systemd rejects it, ibex accepts it") }
          continue
        }
        if errors.contains("Failed to determine next elapse for '\(text)'") {
          // systemd gives up after 1000 search rounds (MAX_CALENDAR_ITERATIONS), seen around
          // daylight saving changes; ibex's answer is checked by the unit tables instead.
          systemdGaveUp += 1
          continue
        }
        guard let block = blocks.first(where: { $0.original == text }) else {
          mismatches.append("\(text): no systemd output (\(errors))")
          continue
        }
        guard let event else {
          mismatches.append("\(text): ibex rejects it, systemd accepts it (\(block.normalized))")
          continue
        }
        compared += 1
        if event.normalized != block.normalized {
          mismatches.append("\(text): normalized \(event.normalized), systemd \(block.normalized)")
          continue
        }
        let zoneName = event.zoneName ?? "UTC"
        if zoneCache[zoneName] == nil { zoneCache[zoneName] = try zoneRules(zoneName) }
        let zone = zoneCache[zoneName]!
        var mine: [Int64] = []
        var after = start
        while mine.count < iterations, let next = event.nextElapse(after: after, zone: zone) {
          mine.append(next)
          after = next
        }
        elapses += block.elapses.count
        if mine != block.elapses {
          mismatches.append("\(text) from @\(start): ibex \(mine), systemd \(block.elapses)")
        }
      }
    }
    print("systemd oracle: \(compared) events compared (\(elapses) elapses), \(rejectedByBoth) rejected by both, \(systemdGaveUp) where systemd gives up (iteration limit), \(mismatches.count) disagreements")
    saveOracleLog("systemd", mismatches)
    #expect(compared > 1500)
    #expect(mismatches.isEmpty, "\(mismatches.prefix(20).joined(separator: "\n"))")
  }
}

enum CronGenerator {
  static let months = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]
  static let days = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"]

  static func field(_ g: inout SplitMix, low: Int, high: Int, names: [String] = [], nameBase: Int = 0) -> String {
    func value() -> String {
      let v = low + g.below(high - low + 1)
      if !names.isEmpty, g.chance(30), v - nameBase >= 0, v - nameBase < names.count {
        let name = names[v - nameBase]
        return g.chance(50) ? name : name.uppercased()
      }
      return "\(v)"
    }
    func element() -> String {
      switch g.below(9) {
      case 0, 1: return "*"
      case 2: return "*/\(1 + g.below(max(1, (high - low) / 2)))"
      case 3, 4: return value()
      // Ranges have two different ends: croniter 7 reads 'A-A' as '*' (a croniter bug).
      case 5:
        let a = low + g.below(high - low)
        return "\(a)-\(a + 1 + g.below(high - a))"
      case 6:
        let a = low + g.below(high - low)
        return "\(a)-\(a + 1 + g.below(high - a))/\(1 + g.below(5))"
      case 7: return "\(low + g.below(high - low + 1))/\(1 + g.below(10))"
      default: return value()
      }
    }
    if g.chance(25) {
      var parts: [String] = []
      for _ in 0...(1 + g.below(2)) {
        let part = element()
        parts.append(part.hasPrefix("*") ? value() : part)
      }
      return parts.joined(separator: ",")
    }
    return element()
  }

  static func expression(_ g: inout SplitMix) -> String {
    if g.chance(4) { return g.pick(["@hourly", "@daily", "@midnight", "@weekly", "@monthly", "@yearly", "@annually"]) }
    return [
      field(&g, low: 0, high: 59), field(&g, low: 0, high: 23), field(&g, low: 1, high: 31),
      field(&g, low: 1, high: 12, names: months, nameBase: 1), field(&g, low: 0, high: 7, names: days),
    ].joined(separator: " ")
  }
}

/// Reads `{"expression": ..., "start": SECONDS, "count": N}` lines and answers each with the next
/// N elapses in UTC (`{"elapses": [...]}`) or `{"error": ...}`.
let croniterScript = """
  import json, sys, datetime
  from croniter import croniter
  for line in sys.stdin:
      request = json.loads(line)
      try:
          base = datetime.datetime.fromtimestamp(request["start"], datetime.timezone.utc)
          it = croniter(request["expression"], base)
          print(json.dumps({"elapses": [int(it.get_next(float)) for _ in range(request["count"])]}))
      except Exception as error:
          print(json.dumps({"error": str(error)}))
  """

/// A python3 that can import croniter: the virtual environment of scripts/install-python-tools.sh
/// (IBEX_PYTHON_TOOLS_DIR, /opt/ibex-python-tools as root, ~/.local/share/ibex-python-tools),
/// else python3 on PATH.
let croniterPython: String? = {
  let environment = ProcessInfo.processInfo.environment
  var candidates: [String] = []
  if let directory = environment["IBEX_PYTHON_TOOLS_DIR"] { candidates.append(directory + "/bin/python3") }
  candidates.append("/opt/ibex-python-tools/bin/python3")
  if let home = environment["HOME"] { candidates.append(home + "/.local/share/ibex-python-tools/bin/python3") }
  if let python = findProgram("python3") { candidates.append(python) }
  for python in candidates where FileManager.default.isExecutableFile(atPath: python) {
    if let (_, errors) = try? runOracle(python, ["-c", "import croniter"], environment: ["PATH": "/usr/bin:/bin"]), errors.isEmpty {
      return python
    }
  }
  return nil
}()

@Suite(
  "Cron expressions agree with croniter",
  .enabled(if: croniterPython != nil, "Python's croniter is missing: scripts/install-python-tools.sh"))
struct CroniterOracleTests {
  @Test("thousands of generated expressions and start times, in UTC") func agreement() throws {
    var g = SplitMix(state: 14)
    let count = 3000
    let iterations = 5
    var requests: [(String, Int64)] = []
    var input = ""
    for _ in 0..<count {
      let expression = CronGenerator.expression(&g)
      let start = 946_684_800 + Int64(g.below(60 * 365 * 86400))
      requests.append((expression, start))
      let quoted = String(decoding: try JSONSerialization.data(withJSONObject: [expression]), as: UTF8.self)
      input += "{\"expression\": \(quoted.dropFirst().dropLast()), \"start\": \(start), \"count\": \(iterations)}\n"
    }
    let (output, errors) = try runOracle(
      croniterPython!, ["-c", croniterScript], environment: ["PATH": "/usr/bin:/bin", "TZ": "UTC"], input: input)
    let answers = output.split(separator: "\n")
    try #require(answers.count == count, "croniter answered \(answers.count) of \(count): \(errors)")
    var compared = 0
    // Documented divergences (docs/timers.md), by kind.
    var divergences: [String: Int] = [:]
    var mismatches: [String] = []
    for ((expression, start), answer) in zip(requests, answers) {
      let json = try #require(try JSONSerialization.jsonObject(with: Data(answer.utf8)) as? [String: Any])
      let mine = try? CronExpression.parse(expression)
      let fields = expression.split(separator: " ").map(String.init)
      guard let theirs = json["elapses"] as? [Int] else {
        let error = "\(json["error"] ?? "")"
        if let mine, error.contains("failed to find next date"), mine.nextElapse(after: start, zone: .utc) == nil {
          divergences["an impossible date is an error for croniter, never elapses for cron", default: 0] += 1
        } else if mine != nil {
          mismatches.append("\(expression): croniter rejects it (\(error)), ibex accepts it")
        }
        continue
      }
      guard let mine else {
        mismatches.append("\(expression): ibex rejects it, croniter accepts it")
        continue
      }
      var elapses: [Int64] = []
      var after = start
      while elapses.count < iterations, let next = mine.nextElapse(after: after, zone: .utc) {
        elapses.append(next)
        after = next
      }
      compared += 1
      if elapses == theirs.map(Int64.init) { continue }
      if fields.count == 5 {
        let (dom, dow) = (fields[2], fields[4])
        if dom != "*" && dow != "*" && (dom.hasPrefix("*") || dow.hasPrefix("*")) {
          divergences["a day field starting with '*/' is '*' for cron (AND), restricted for croniter (OR)", default: 0] += 1
          continue
        }
        let dowSteps = dow.split(separator: ",").contains { $0.contains("/") && !$0.contains("-") && !$0.hasPrefix("*") }
        if dowSteps {
          divergences["day-of-week N/S runs to 7 (Sunday) for cronie, to 6 for croniter", default: 0] += 1
          continue
        }
      }
      mismatches.append("\(expression) from @\(start): ibex \(elapses), croniter \(theirs)")
    }
    let documented = divergences.map { "\($0.value) (\($0.key))" }.sorted().joined(separator: ", ")
    print("croniter oracle: \(compared) expressions compared (\(compared * iterations) elapses), documented divergences: \(documented); \(mismatches.count) disagreements")
    saveOracleLog("croniter", mismatches)
    #expect(compared > 2500)
    #expect(mismatches.isEmpty, "\(mismatches.prefix(20).joined(separator: "\n"))")
  }
}
