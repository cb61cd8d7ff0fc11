import IbexCore
import IbexRuntime

/// `ibex calendar`: like `systemd-analyze calendar`, the normalized form and the next elapses
/// of calendar events and 5-field cron expressions.
enum CalendarProgram {
  static let help = """
    Usage: ibex calendar [--iterations N] [--from TIME] [--json] EXPRESSION...

    Print the normalized form and the next elapse times (RFC 3339 with the UTC offset) of
    systemd calendar events ('daily', 'Mon..Fri 09:00', '*-*-* *:0/15:00',
    '2026-*-01 03:00 Europe/Berlin') and 5-field cron expressions ('*/15 * * * *', '@daily'),
    as timers and crontab lines use them. Quote each expression.

    Times are in the zone the expression names, else TZ, else /etc/localtime, else UTC.

    Options:
      --iterations N   print the next N elapses (default 1)
      --from TIME      start after TIME instead of now: @SECONDS, RFC 3339
                       (2026-03-29T01:30:00+01:00, ...Z), or 'YYYY-MM-DD HH:MM[:SS]' in the
                       default zone
      --json           one line of JSON: {"expressions":[{"original":...,"normalized":...,
                       "kind":"calendar"|"cron","zone":...,"elapses":[...]}]}
      -h, --help       show this help

    Exit status: 0, or 2 if an expression, a zone or an option is invalid (nothing is printed
    on standard output then). See docs/timers.md.

    """

  struct Options {
    var iterations = 1
    var from: String?
    var json = false
    var expressions: [String] = []
  }

  static func parseOptions(_ arguments: [String]) throws(UsageError) -> Options? {
    var options = Options()
    // Options may come before or after the expressions (none of which starts with '-').
    var index = 0
    var operandsOnly = false
    func value(_ name: String, inline: String?) throws(UsageError) -> String {
      if let inline { return inline }
      index += 1
      guard index < arguments.count else { throw UsageError("option \(name) needs a value") }
      return arguments[index]
    }
    while index < arguments.count {
      let word = arguments[index]
      guard !operandsOnly, word.hasPrefix("-"), word != "-" else {
        options.expressions.append(word)
        index += 1
        continue
      }
      var name = word
      var inline: String? = nil
      if let equals = word.firstIndex(of: "=") {
        name = String(word[..<equals])
        inline = String(word[word.index(after: equals)...])
      }
      switch name {
      case "--": operandsOnly = true
      case "-h", "--help": return nil
      case "--json":
        guard inline == nil else { throw UsageError("option --json takes no value") }
        options.json = true
      case "--iterations", "-n":
        let text = try value(name, inline: inline)
        guard let count = Int(text), count >= 1, count <= 10_000 else {
          throw UsageError("--iterations needs a number from 1 to 10000, got '\(text)'")
        }
        options.iterations = count
      case "--from", "--base-time":
        options.from = try value(name, inline: inline)
      default:
        throw UsageError("unknown option '\(word)'")
      }
      index += 1
    }
    guard !options.expressions.isEmpty else { throw UsageError("no expression given") }
    return options
  }

  static func main(arguments: [String]) -> Int32 {
    let options: Options
    do {
      guard let parsed = try parseOptions(arguments) else {
        Console.output(help)
        return ExitCode.success
      }
      options = parsed
    } catch {
      Console.emit("usage error: \(error.message) (see 'ibex calendar --help')")
      return ExitCode.usage
    }
    let environment = ThisProcess.environmentStrings
    let defaultZone: (rules: TimeZoneRules, name: String)
    do {
      defaultZone = try TimeZoneFiles.defaultZone(tz: Environment.value(of: "TZ", in: environment))
    } catch {
      Console.emit(error.message)
      return ExitCode.usage
    }
    var start = WallTime.now().seconds
    if let from = options.from {
      guard let time = ScheduleExpression.parseTime(from, zone: defaultZone.rules) else {
        Console.emit(
          "usage error: --from '\(from)' is not a time (use @SECONDS, 2026-03-29T01:30:00+01:00 or '2026-03-29 01:30:00')")
        return ExitCode.usage
      }
      start = time
    }
    var failed = false
    var parsed: [(String, ScheduleExpression, TimeZoneRules, String)] = []
    for text in options.expressions {
      let expression: ScheduleExpression
      do {
        expression = try ScheduleExpression.parse(text)
      } catch {
        Console.emit(error.description)
        failed = true
        continue
      }
      var zone = defaultZone
      if let name = expression.zoneName {
        do {
          zone = (name == "UTC" ? TimeZoneRules.utc : try TimeZoneFiles.load(named: name), name)
        } catch {
          Console.emit("'\(text)': \(error.message)")
          failed = true
          continue
        }
      }
      parsed.append((text, expression, zone.rules, zone.name))
    }
    if failed { return ExitCode.usage }
    var blocks: [JSONValue] = []
    var text = ""
    for (index, (original, expression, zone, zoneName)) in parsed.enumerated() {
      var elapses: [String] = []
      var after = start
      for _ in 0..<options.iterations {
        guard let next = expression.nextElapse(after: after, zone: zone) else { break }
        elapses.append(CivilDateTime.rfc3339(utc: next, offset: zone.offset(atUTC: next).seconds))
        after = next
      }
      let kind: String
      if case .cron = expression { kind = "cron" } else { kind = "calendar" }
      if options.json {
        blocks.append(
          .object([
            ("original", .string(original)), ("normalized", .string(expression.normalized)),
            ("kind", .string(kind)), ("zone", .string(zoneName)), ("elapses", .array(elapses.map { .string($0) })),
          ]))
        continue
      }
      if index > 0 { text += "\n" }
      text += "  Original form: \(original)\n"
      text += "Normalized form: \(expression.normalized)\n"
      text += "      Time zone: \(zoneName)\n"
      if elapses.isEmpty { text += "    Next elapse: never\n" }
      for (number, elapse) in elapses.enumerated() {
        text += number == 0 ? "    Next elapse: \(elapse)\n" : pad("Iter. #\(number + 1)") + ": \(elapse)\n"
      }
    }
    if options.json {
      Console.output(JSONValue.object([("expressions", .array(blocks))]).encoded + "\n")
    } else {
      Console.output(text)
    }
    return ExitCode.success
  }

  /// Right-aligned to the width of "Normalized form".
  static func pad(_ label: String) -> String {
    var out = label
    while out.utf8.count < 15 { out = " " + out }
    return out
  }
}
