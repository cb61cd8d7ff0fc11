import IbexCore

/// One job line of a crontab.
public struct CrontabEntry: Equatable, Sendable {
  public enum Schedule: Equatable, Sendable {
    /// Five cron fields (`@hourly` and friends are written out: `0 * * * *`).
    case cron(String)
    /// `@reboot`: once, when ibex starts.
    case reboot
  }
  public var schedule: Schedule
  /// The user field (system crontabs), nil when the line has none.
  public var user: String?
  /// What `/bin/sh -c` runs, byte for byte as written.
  public var command: String
  /// `NAME=value` lines above it, in order.
  public var environment: [String]
  /// `CRON_TZ=` above it.
  public var zone: String?
  public var location: SourceLocation
}

/// The crontab format of Vixie cron (`/etc/ibex/crontab`, `/etc/ibex/crontab.d/*`): job lines
/// `m h dom mon dow [user] command` or `@reboot|@hourly|... [user] command`, `NAME=value`
/// lines (for the jobs below them; `CRON_TZ=` sets their zone, `SHELL=` their shell), `#`
/// comments. The user field is optional: the sixth word is a user when it names an account
/// and a command follows it.
public enum Crontab {
  static let nicknames: [(String, String)] = [
    ("@yearly", "0 0 1 1 *"), ("@annually", "0 0 1 1 *"), ("@monthly", "0 0 1 * *"), ("@weekly", "0 0 * * 0"),
    ("@daily", "0 0 * * *"), ("@midnight", "0 0 * * *"), ("@hourly", "0 * * * *"),
  ]

  public static func parse(_ text: String, file: String, isUser: (String) -> Bool) throws(ConfigError) -> [CrontabEntry] {
    var entries: [CrontabEntry] = []
    var environment: [String] = []
    var zone: String?
    var number = 0
    for raw in text.split(separator: "\n", omittingEmptySubsequences: false) {
      number += 1
      var line = Substring(raw)
      if line.hasSuffix("\r") { line = line.dropLast() }
      let location = SourceLocation(file: file, line: number)
      let content = line.drop { $0 == " " || $0 == "\t" }
      if content.isEmpty || content.hasPrefix("#") { continue }
      if let assignment = assignment(content) {
        if assignment.name == "CRON_TZ" {
          zone = assignment.value.isEmpty ? nil : assignment.value
        } else {
          environment = Environment.merge(environment, [assignment.name + "=" + assignment.value])
        }
        continue
      }
      do throws(ConfigError.Message) {
        var entry = try job(content, isUser: isUser, allowUser: true)
        entry.environment = environment
        entry.zone = zone
        entry.location = location
        entries.append(entry)
      } catch {
        throw ConfigError(error.text, at: location)
      }
    }
    return entries
  }

  /// A job line without environment: `m h dom mon dow [user] command`, `@daily command`.
  /// `allowUser` false: everything after the schedule is the command (`CRON_*` values).
  public static func job(_ text: Substring, isUser: (String) -> Bool, allowUser: Bool) throws(ConfigError.Message) -> CrontabEntry {
    var rest = text
    let schedule: CrontabEntry.Schedule
    if rest.hasPrefix("@") {
      let word = String(takeWord(&rest))
      if word == "@reboot" {
        schedule = .reboot
      } else if let expansion = nicknames.first(where: { $0.0 == word })?.1 {
        schedule = .cron(expansion)
      } else {
        throw .init("unknown schedule '\(word)' (use five fields, @reboot, @hourly, @daily, @weekly, @monthly or @yearly)")
      }
    } else {
      var fields: [Substring] = []
      for _ in 0..<5 {
        let field = takeWord(&rest)
        if field.isEmpty { break }
        fields.append(field)
      }
      guard fields.count == 5 else {
        throw .init("expected five time fields (minute hour day-of-month month day-of-week) and a command")
      }
      var joined = ""
      for (k, field) in fields.enumerated() { joined += (k == 0 ? "" : " ") + field }
      schedule = .cron(joined)
    }
    var user: String?
    if allowUser {
      var lookahead = rest
      let word = takeWord(&lookahead)
      let afterUser = lookahead.drop { $0 == " " || $0 == "\t" }
      if !word.isEmpty && !afterUser.isEmpty && isUser(String(word)) {
        user = String(word)
        rest = lookahead
      }
    }
    let command = rest.drop { $0 == " " || $0 == "\t" }
    if command.isEmpty { throw .init("no command after the schedule") }
    return CrontabEntry(
      schedule: schedule, user: user, command: String(command), environment: [], zone: nil,
      location: SourceLocation(file: "", line: 0))
  }

  /// `NAME=value` or `NAME = value`; a value in matching quotes loses them (as cron does).
  static func assignment(_ line: Substring) -> (name: String, value: String)? {
    guard let first = line.utf8.first, first == UInt8(ascii: "_") || (first | 0x20 >= 0x61 && first | 0x20 <= 0x7a) else {
      return nil
    }
    guard let equals = line.firstIndex(of: "=") else { return nil }
    let name = line[..<equals].reversed().drop { $0 == " " || $0 == "\t" }.reversed()
    let isNameByte = { (b: UInt8) in b == UInt8(ascii: "_") || (b >= 0x30 && b <= 0x39) || (b | 0x20 >= 0x61 && b | 0x20 <= 0x7a) }
    guard String(name).utf8.allSatisfy(isNameByte) else { return nil }
    var value = line[line.index(after: equals)...].drop { $0 == " " || $0 == "\t" }
    while let last = value.last, last == " " || last == "\t" { value = value.dropLast() }
    if value.count >= 2, let q = value.first, q == "\"" || q == "'", value.last == q {
      value = value.dropFirst().dropLast()
    }
    return (String(name), String(value))
  }

  /// Removes and returns the first blank-separated word of `text`.
  private static func takeWord(_ text: inout Substring) -> Substring {
    text = text.drop { $0 == " " || $0 == "\t" }
    let end = text.firstIndex { $0 == " " || $0 == "\t" } ?? text.endIndex
    let word = text[..<end]
    text = text[end...]
    return word
  }
}
