import IbexCore
import IbexRuntime

/// Everything that is scheduled: timers, and the services made for crontab lines and `CRON_*`
/// variables (a job is an ordinary oneshot service).
public struct LoadedSchedule: Sendable {
  public var timers: [TimerDefinition] = []
  public var services: [ServiceDefinition] = []
  public var identities: [Identity?] = []
  public var warnings: [String] = []
  /// The services timers start (also with scheduling off): they do not start at boot.
  public var units: Set<String> = []
  public init() {}
}

/// Loads `/etc/ibex/services/NAME.timer`, `/etc/ibex/crontab`, `/etc/ibex/crontab.d/*` and the
/// `CRON_<NAME>` variables (docs/timers.md), and checks them before anything starts.
public enum ScheduleLoader {
  public static let crontab = "/etc/ibex/crontab"
  public static let crontabDirectory = "/etc/ibex/crontab.d"

  /// `services`: the services already loaded (timers must name one of them).
  public static func load(
    root: String, environment: [String], services: [ServiceDefinition], users: UserDatabase, searchPath: String
  ) throws(ConfigError) -> LoadedSchedule {
    var zones = TimeZones(root: root, environment: environment)
    var loaded = LoadedSchedule()
    loaded.warnings = zones.warnings
    var names = Set(services.map { $0.name })
    loaded.timers = try loadTimerFiles(root: root, services: services, zones: &zones)
    loaded.units = Set(loaded.timers.map { $0.unit })
    if !isSchedulingEnabled(environment) {
      // The timers' services stay down (they are not started at boot either).
      loaded.timers = []
      return loaded
    }
    var jobs: [(name: String, entry: CrontabEntry)] = []
    let isUser = { (name: String) in users.account(name) != nil }
    let disabled = disabledNames(environment)
    if let text = try readIfPresent(root + crontab) {
      for entry in try Crontab.parse(text, file: root + crontab, isUser: isUser) {
        jobs.append(("cron-crontab-\(entry.location.line)", entry))
      }
    }
    let directory = root + crontabDirectory
    if FileSystem.info(directory)?.isDirectory == true {
      let files: [String]
      do {
        files = try FileSystem.list(directory)
      } catch {
        throw ConfigError("unable to read \(directory): \(error.description)")
      }
      // Files cron itself skips: hidden, editor backups, package manager leftovers.
      for file in files where !file.hasPrefix(".") && !file.hasSuffix("~") && !file.split(separator: ".").contains(where: { $0.hasPrefix("dpkg-") }) {
        let path = directory + "/" + file
        guard ServiceFileParser.isValidName("cron-" + file) else {
          throw ConfigError("\(path): file names in \(crontabDirectory) are letters, digits, - _ . @ :")
        }
        if disabled.contains(file.lowercasedASCII) { continue }
        guard let text = try readIfPresent(path) else { continue }
        for entry in try Crontab.parse(text, file: path, isUser: isUser) { jobs.append(("cron-\(file)-\(entry.location.line)", entry)) }
      }
    }
    jobs += try environmentJobs(environment, disabled: disabled)
    for (name, entry) in jobs {
      // Jobs of CRON_* variables have the variable as their file and no line.
      let position = entry.location.line == 0 ? entry.location.file : entry.location.description
      guard !names.contains(name) else { throw ConfigError("\(position): job \(name): a service of that name exists already") }
      names.insert(name)
      let service = cronService(name, entry)
      try ServiceDirectory.checkPrograms(service, searchPath: searchPath)
      let identity = try ServiceDirectory.resolveIdentity(service, users)
      var timer = TimerDefinition(name: name, unit: name, location: entry.location)
      switch entry.schedule {
      case .reboot: timer.afterBoot = [.zero]
      case .cron(let fields):
        do throws(ConfigError.Message) {
          timer.calendars = [try zones.cronTrigger(fields, zone: entry.zone)]
        } catch {
          throw ConfigError("\(position): \(error.text)")
        }
      }
      loaded.timers.append(timer)
      loaded.units.insert(name)
      loaded.services.append(service)
      loaded.identities.append(identity)
    }
    return loaded
  }

  /// `CONTAINER_ENABLE_SCHEDULING=FALSE` (any case, also NO, OFF, 0) turns scheduling off.
  public static func isSchedulingEnabled(_ environment: [String]) -> Bool {
    guard let value = Environment.value(of: "CONTAINER_ENABLE_SCHEDULING", in: environment) else { return true }
    return !isFalse(value)
  }

  static func isFalse(_ value: String) -> Bool { Boolean.parse(value) == false }

  /// Names (lowercase) whose `CRON_<NAME>` is FALSE.
  static func disabledNames(_ environment: [String]) -> Set<String> {
    var names: Set<String> = []
    for (name, value) in cronVariables(environment) where isFalse(value) { names.insert(name) }
    return names
  }

  /// `CRON_<NAME>=value` pairs (name lowercased), without `CRON_TZ` and the seed's `CRON_PERIOD*`.
  static func cronVariables(_ environment: [String]) -> [(name: String, value: String)] {
    var pairs: [(name: String, value: String)] = []
    for assignment in environment where assignment.hasPrefix("CRON_") {
      guard let equals = assignment.firstIndex(of: "=") else { continue }
      let variable = String(assignment[..<equals])
      if variable == "CRON_TZ" || variable.hasPrefix("CRON_PERIOD") { continue }
      pairs.append((String(variable.dropFirst(5)).lowercasedASCII, String(assignment[assignment.index(after: equals)...])))
    }
    return pairs
  }

  /// The jobs of `CRON_<NAME>` variables: `cron-<name>`, the value byte for byte.
  static func environmentJobs(_ environment: [String], disabled: Set<String>) throws(ConfigError) -> [(name: String, entry: CrontabEntry)] {
    var jobs: [(name: String, entry: CrontabEntry)] = []
    let zone = Environment.value(of: "CRON_TZ", in: environment)
    for (name, value) in cronVariables(environment) where !disabled.contains(name) {
      let variable = "CRON_" + name.uppercasedASCII
      guard ServiceFileParser.isValidName("cron-" + name) else {
        throw ConfigError("\(variable): the job name '\(name)' may only have letters, digits, - _ . @ :")
      }
      do throws(ConfigError.Message) {
        var entry = try Crontab.job(Substring(value), isUser: { _ in false }, allowUser: false)
        entry.zone = zone
        entry.location = SourceLocation(file: variable, line: 0)
        jobs.append(("cron-" + name, entry))
      } catch {
        // The value is not repeated: commands may hold secrets.
        throw ConfigError("\(variable): \(error.text) (write \"<5 fields> <command>\", or FALSE to remove the job)")
      }
    }
    return jobs
  }

  /// The oneshot service that runs a crontab line: `/bin/sh -c COMMAND` (or `SHELL=`), as
  /// the line's user, with the line's environment, never at boot.
  static func cronService(_ name: String, _ entry: CrontabEntry) -> ServiceDefinition {
    var service = ServiceDefinition(name: name, location: entry.location)
    let shell = Environment.value(of: "SHELL", in: entry.environment) ?? "/bin/sh"
    service.type = .oneshot
    service.startTimeout = nil
    service.start = [Command(program: shell, arguments: [shell, "-c", entry.command], location: entry.location)]
    if let user = entry.user, user != "root" { service.user = user }
    service.environment = entry.environment
    service.autostart = false
    service.expandsVariables = false
    return service
  }

  private static func readIfPresent(_ path: String) throws(ConfigError) -> String? {
    guard let info = FileSystem.info(path) else { return nil }
    guard info.isRegularFile else { throw ConfigError("\(path) is not a regular file") }
    do {
      return try FileSystem.readText(path)
    } catch {
      throw ConfigError("unable to read \(path): \(error.description)")
    }
  }

  // MARK: - Timer files

  static func loadTimerFiles(root: String, services: [ServiceDefinition], zones: inout TimeZones) throws(ConfigError) -> [TimerDefinition] {
    let directory = root + ServiceDirectory.path
    guard FileSystem.info(directory)?.isDirectory == true else { return [] }
    let files: [String]
    do {
      files = try FileSystem.list(directory)
    } catch {
      throw ConfigError("unable to read \(directory): \(error.description)")
    }
    var timers: [TimerDefinition] = []
    for file in files where file.hasSuffix(".timer") && !file.hasPrefix(".") {
      let path = directory + "/" + file
      let name = String(file.dropLast(6))
      guard ServiceFileParser.isValidName(name) else {
        throw ConfigError("\(path): '\(name)' is not a valid timer name (letters, digits, - _ . @ :)")
      }
      let text: String
      do {
        text = try FileSystem.readText(path)
      } catch {
        throw ConfigError("unable to read \(path): \(error.description)")
      }
      let timer = try TimerFileParser.parse(
        name: name, entries: try UnitFile.parse(text, file: path), location: SourceLocation(file: path, line: 1), zones: &zones)
      guard services.contains(where: { $0.name == timer.unit }) else {
        throw ConfigError(
          "the timer starts \(timer.unit).service, which does not exist (write \(directory)/\(timer.unit).service, or set Unit=)",
          at: timer.location)
      }
      timers.append(timer)
    }
    return timers
  }
}

/// `[Timer]` of a `NAME.timer` file, systemd's syntax (docs/timers.md).
public enum TimerFileParser {
  public static let directives: [String: [String]] = [
    "Unit": ["Description", "Documentation"],
    "Timer": [
      "OnCalendar", "OnActiveSec", "OnBootSec", "OnStartupSec", "OnUnitActiveSec", "OnUnitInactiveSec",
      "RandomizedDelaySec", "FixedRandomDelay", "AccuracySec", "Persistent", "Unit",
    ],
    "Install": ["WantedBy", "RequiredBy", "Alias", "Also"],
  ]

  public static func parse(name: String, entries: [UnitEntry], location: SourceLocation, zones: inout TimeZones) throws(ConfigError)
    -> TimerDefinition
  {
    var timer = TimerDefinition(name: name, unit: name, location: location)
    for entry in entries {
      guard let known = directives[entry.section] else {
        throw ConfigError("unknown section [\(entry.section)] in a timer (sections: [Unit], [Timer], [Install])", at: entry.location)
      }
      guard known.contains(entry.key) else {
        var message = "unknown directive '\(entry.key)' in [\(entry.section)]"
        if let suggestion = closestWord(to: entry.key, in: known) { message += " (did you mean '\(suggestion)'?)" }
        throw ConfigError(message, at: entry.location)
      }
      guard entry.section == "Timer" else { continue }
      do throws(ConfigError.Message) {
        try apply(entry.key, entry.value, to: &timer, zones: &zones)
      } catch {
        throw ConfigError("\(entry.key)=\(entry.value): \(error.text)", at: entry.location)
      }
    }
    if timer.calendars.isEmpty && timer.afterBoot.isEmpty && timer.afterActive.isEmpty && timer.afterInactive.isEmpty {
      throw ConfigError("the timer has no trigger (OnCalendar=, OnBootSec=, OnUnitActiveSec=, ...)", at: location)
    }
    return timer
  }

  private static func apply(_ key: String, _ value: String, to timer: inout TimerDefinition, zones: inout TimeZones) throws(ConfigError.Message) {
    switch key {
    case "OnCalendar":
      if value.isEmpty { timer.calendars = [] } else { timer.calendars.append(try zones.calendarTrigger(value)) }
    case "OnActiveSec", "OnBootSec", "OnStartupSec":
      if value.isEmpty { timer.afterBoot = [] } else { timer.afterBoot.append(try ServiceFileParser.span(value)) }
    case "OnUnitActiveSec":
      if value.isEmpty { timer.afterActive = [] } else { timer.afterActive.append(try ServiceFileParser.span(value)) }
    case "OnUnitInactiveSec":
      if value.isEmpty { timer.afterInactive = [] } else { timer.afterInactive.append(try ServiceFileParser.span(value)) }
    case "RandomizedDelaySec": timer.randomizedDelay = try ServiceFileParser.span(value)
    case "FixedRandomDelay": timer.fixedRandomDelay = try ServiceFileParser.boolean(value)
    case "AccuracySec": _ = try ServiceFileParser.span(value)  // accepted: ibex fires on time
    case "Persistent": timer.persistent = try ServiceFileParser.boolean(value)
    case "Unit":
      let unit = value.hasSuffix(".service") ? String(value.dropLast(8)) : value
      guard ServiceFileParser.isValidName(unit), !value.hasSuffix(".timer") else { throw .init("not a service name") }
      timer.unit = unit
    default: throw .init("not valid in [Timer]")
    }
  }
}
