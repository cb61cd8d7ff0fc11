import IbexCore

/// Turns the entries of a native service file (`NAME.service` plus its drop-ins) into a
/// `ServiceDefinition`. Every directive is checked; an unknown one is an error with its line,
/// and a close match is suggested.
public struct ServiceFileParser {
  public let name: String
  private var definition: ServiceDefinition
  private var startTimeoutSet = false
  private var healthCommand: Command?
  private var health = HealthCheck(command: Command(program: "", arguments: []))
  private var healthSettingLocation: SourceLocation?
  private var essentialExitCodeSet = false
  private var runtimeMax: TimeSpan?

  /// Directives per section, for validation and "did you mean".
  public static let directives: [String: [String]] = [
    "Unit": [
      "Description", "Documentation", "Requires", "Wants", "After", "Before", "StartLimitBurst",
      "StartLimitIntervalSec",
    ],
    "Service": [
      "Type", "ExecStart", "ExecStartPre", "ExecStartPost", "ExecStop", "ExecStopPost", "RemainAfterExit", "Restart",
      "RestartSec", "RestartMaxDelaySec", "StartLimitBurst", "StartLimitIntervalSec", "TimeoutStartSec",
      "TimeoutStopSec", "TimeoutSec", "RuntimeMaxSec", "KillSignal", "User", "Group", "SupplementaryGroups", "Environment",
      "EnvironmentFile", "WorkingDirectory", "UMask", "CapabilityBoundingSet", "AmbientCapabilities",
      "NoNewPrivileges", "Essential", "EssentialExitCode", "NotificationFD", "LoadCredential", "SetCredential",
    ] + ServiceFileParser.limitNames.map { $0.0 }
      + ManagedDirectory.Kind.allCases.flatMap { [$0.name + "Directory", $0.name + "DirectoryMode"] },
    "Health": ["Exec", "IntervalSec", "TimeoutSec", "Retries", "StartPeriodSec", "StartIntervalSec", "InitialDelaySec"],
    "Log": ["Console", "Format", "Prefix", "Timestamps", "Directory", "MaxFileSize", "MaxFiles", "MaxTotalSize"],
    "Install": ["WantedBy", "RequiredBy", "Alias"],
  ]

  static let limitNames: [(String, Int32)] = [
    ("LimitCPU", 0), ("LimitFSIZE", 1), ("LimitDATA", 2), ("LimitSTACK", 3), ("LimitCORE", 4), ("LimitRSS", 5),
    ("LimitNPROC", 6), ("LimitNOFILE", 7), ("LimitMEMLOCK", 8), ("LimitAS", 9), ("LimitLOCKS", 10),
    ("LimitSIGPENDING", 11), ("LimitMSGQUEUE", 12), ("LimitNICE", 13), ("LimitRTPRIO", 14), ("LimitRTTIME", 15),
  ]

  /// Parses `entries` (main file first, then drop-ins in order) for the service `name`.
  public static func parse(name: String, entries: [UnitEntry], location: SourceLocation) throws(ConfigError)
    -> ServiceDefinition
  {
    var parser = ServiceFileParser(name: name, definition: ServiceDefinition(name: name, location: location))
    // Every wrong line is reported; the checks of the whole file only when each line was right.
    var errors = ConfigErrorCollector()
    for entry in entries { errors.attempt { () throws(ConfigError) in try parser.apply(entry) } }
    try errors.check()
    return try parser.finish()
  }

  private init(name: String, definition: ServiceDefinition) {
    self.name = name
    self.definition = definition
  }

  private mutating func apply(_ entry: UnitEntry) throws(ConfigError) {
    guard let known = ServiceFileParser.directives[entry.section] else {
      throw ConfigError("unknown section [\(entry.section)] (sections: [Unit], [Service], [Health], [Log], [Install])", at: entry.location)
    }
    guard known.contains(entry.key) else {
      var message = "unknown directive '\(entry.key)' in [\(entry.section)]"
      if let suggestion = closestWord(to: entry.key, in: known) { message += " (did you mean '\(suggestion)'?)" }
      throw ConfigError(message, at: entry.location)
    }
    do throws(ConfigError.Message) {
      let value = try expandSpecifiers(entry.value)
      try apply(section: entry.section, key: entry.key, value: value, location: entry.location)
      definition.directiveLocations.append(DirectiveLocation(entry.key, entry.location))
    } catch {
      // A SetCredential= value is a secret: only its name is shown.
      let shown = entry.key == "SetCredential" ? String(entry.value.prefix { $0 != ":" }) + ":…" : entry.value
      throw ConfigError("\(entry.key)=\(shown): \(error.text)", at: entry.location)
    }
  }

  private mutating func apply(section: String, key: String, value: String, location: SourceLocation) throws(ConfigError.Message) {
    switch (section, key) {
    case ("Unit", "Description"): definition.description = value
    case ("Unit", "Documentation"): break
    case ("Unit", "Requires"): try addDependencies(value, .requires, location)
    case ("Unit", "Wants"): try addDependencies(value, .wants, location)
    case ("Unit", "After"): try addDependencies(value, .after, location)
    case ("Unit", "Before"): try addDependencies(value, .before, location)
    case (_, "StartLimitBurst"): definition.startLimitBurst = try integer(value, in: 0...1_000_000)
    case (_, "StartLimitIntervalSec"): definition.startLimitInterval = try span(value)
    case ("Service", "Type"):
      guard let type = ServiceType(rawValue: value) else { throw .init("use simple, notify or oneshot") }
      definition.type = type
    case ("Service", "ExecStart"): try addCommand(value, location, to: &definition.start)
    case ("Service", "ExecStartPre"): try addCommand(value, location, to: &definition.startPre)
    case ("Service", "ExecStartPost"): try addCommand(value, location, to: &definition.startPost)
    case ("Service", "ExecStop"): try addCommand(value, location, to: &definition.stop)
    case ("Service", "ExecStopPost"): try addCommand(value, location, to: &definition.stopPost)
    case ("Service", "RemainAfterExit"): definition.remainAfterExit = try boolean(value)
    case ("Service", "Restart"):
      guard let policy = RestartPolicy(rawValue: value) else { throw .init("use no, on-failure or always") }
      definition.restart = policy
    case ("Service", "RestartSec"): definition.restartDelay = try span(value)
    case ("Service", "RestartMaxDelaySec"): definition.restartMaxDelay = try span(value)
    case ("Service", "TimeoutStartSec"):
      definition.startTimeout = try optionalSpan(value)
      startTimeoutSet = true
    case ("Service", "TimeoutStopSec"): definition.stopTimeout = try span(value)
    case ("Service", "TimeoutSec"):
      definition.startTimeout = try optionalSpan(value)
      definition.stopTimeout = try span(value)
      startTimeoutSet = true
    case ("Service", "RuntimeMaxSec"): runtimeMax = try optionalSpan(value)
    case ("Service", "KillSignal"):
      guard let signal = Signal(parsing: value), signal != .stop else { throw .init("not a signal name or number") }
      definition.killSignal = signal
    case ("Service", "User"): definition.user = try nonEmpty(value)
    case ("Service", "Group"): definition.group = try nonEmpty(value)
    case ("Service", "SupplementaryGroups"):
      if value.isEmpty { definition.supplementaryGroups = [] } else { definition.supplementaryGroups += try UnitFile.words(value) }
    case ("Service", "Environment"):
      if value.isEmpty { definition.environment = [] }
      for word in try UnitFile.words(value) {
        guard let equals = word.firstIndex(of: "="), equals != word.startIndex else {
          throw .init("'\(word)' is not NAME=VALUE")
        }
        definition.environment.append(word)
      }
    case ("Service", "EnvironmentFile"):
      if value.isEmpty {
        definition.environmentFiles = []
      } else {
        let optional = value.hasPrefix("-")
        let path = optional ? String(value.dropFirst()) : value
        guard path.hasPrefix("/") else { throw .init("the path must be absolute") }
        definition.environmentFiles.append(EnvironmentFile(path: path, optional: optional))
      }
    case ("Service", "WorkingDirectory"):
      guard value.hasPrefix("/") || value == "~" else { throw .init("the path must be absolute") }
      definition.workingDirectory = value
    case ("Service", "UMask"):
      guard let mask = UInt32(value, radix: 8), mask <= 0o777 else { throw .init("use an octal mask such as 0027") }
      definition.umask = mask
    case ("Service", "CapabilityBoundingSet"): definition.capabilityBoundingSet = try capabilitySet(value)
    case ("Service", "AmbientCapabilities"):
      definition.ambientCapabilities = value.isEmpty ? 0 : definition.ambientCapabilities | (try capabilitySet(value))
    case ("Service", "NoNewPrivileges"): definition.noNewPrivileges = try boolean(value)
    case ("Service", "Essential"): definition.essential = try boolean(value)
    case ("Service", "EssentialExitCode"):
      definition.essentialExitCode = Int32(try integer(value, in: 0...255))
      essentialExitCodeSet = true
    case ("Service", "NotificationFD"): definition.notificationFD = Int32(try integer(value, in: 3...1023))
    case ("Service", _) where key.hasSuffix("DirectoryMode"):
      let kind = ManagedDirectory.Kind.allCases.first { $0.name + "DirectoryMode" == key }!
      guard let mode = UInt32(value, radix: 8), mode <= 0o7777 else { throw .init("use an octal mode such as 0750") }
      definition.directoryModes[kind.rawValue] = mode
    case ("Service", _) where key.hasSuffix("Directory") && key != "WorkingDirectory":
      let kind = ManagedDirectory.Kind.allCases.first { $0.name + "Directory" == key }!
      if value.isEmpty {
        definition.directories.removeAll { $0.kind == kind }
      }
      for word in try UnitFile.words(value) {
        guard ManagedDirectory.isRelativePath(word) else {
          throw .init("'\(word)' must be a relative path below \(kind.base) (no '..')")
        }
        definition.directories.append(ManagedDirectory(kind: kind, path: word))
      }
    case ("Service", "LoadCredential"), ("Service", "SetCredential"):
      if value.isEmpty {
        definition.credentials = []
        return
      }
      guard let colon = value.firstIndex(of: ":") else { throw .init("use ID:\(key == "SetCredential" ? "VALUE" : "PATH")") }
      let id = String(value[..<colon]), rest = String(value[value.index(after: colon)...])
      guard ManagedDirectory.isCredentialID(id) else { throw .init("'\(id)' is not a credential name (no '/')") }
      if key == "LoadCredential" {
        guard rest.hasPrefix("/") else { throw .init("the path must be absolute") }
      }
      definition.credentials.removeAll { $0.id == id }
      definition.credentials.append(Credential(id: id, source: key == "LoadCredential" ? .file(rest) : .value(rest)))
    case ("Service", _) where key.hasPrefix("Limit"):
      let resource = ServiceFileParser.limitNames.first { $0.0 == key }!.1
      definition.limits.removeAll { $0.resource == resource }
      definition.limits.append(try limit(value, resource: resource))
    case ("Health", "Exec"):
      var commands: [Command] = []
      try addCommand(value, location, to: &commands)
      healthCommand = commands.last
      healthSettingLocation = location
    case ("Health", "IntervalSec"): health.interval = try positiveSpan(value)
    case ("Health", "TimeoutSec"): health.timeout = try positiveSpan(value)
    case ("Health", "Retries"): health.retries = try integer(value, in: 1...1000)
    case ("Health", "StartPeriodSec"): health.startPeriod = try span(value)
    case ("Health", "StartIntervalSec"): health.startInterval = try positiveSpan(value)
    case ("Health", "InitialDelaySec"): health.initialDelay = try span(value)
    case ("Log", "Console"): definition.log.console = try boolean(value)
    case ("Log", "Format"):
      guard let format = LogSettings.Format(rawValue: value) else { throw .init("use text or json") }
      definition.log.format = format
    case ("Log", "Prefix"): definition.log.prefix = try boolean(value)
    case ("Log", "Timestamps"):
      guard let stamps = LogSettings.Timestamps(rawValue: value) else { throw .init("use none, rfc3339 or tai64n") }
      definition.log.timestamps = stamps
    case ("Log", "Directory"):
      guard value.hasPrefix("/") else { throw .init("the path must be absolute") }
      definition.log.directory = value
    case ("Log", "MaxFileSize"): definition.log.maxFileSize = Int(try byteCount(value, in: 4096...(1 << 30)))
    case ("Log", "MaxFiles"): definition.log.maxFiles = try integer(value, in: 1...10000)
    case ("Log", "MaxTotalSize"): definition.log.maxTotalSize = Int(try byteCount(value, in: 0...(1 << 40)))
    case ("Install", _): break  // every service in the directory is started; [Install] is accepted as is
    default: throw .init("not valid in [\(section)]")
    }
    if section == "Health" { healthSettingLocation = healthSettingLocation ?? location }
  }

  private mutating func finish() throws(ConfigError) -> ServiceDefinition {
    let location = definition.location
    if definition.start.isEmpty { throw ConfigError("ExecStart= is missing", at: location) }
    if definition.type != .oneshot && definition.start.count > 1 {
      throw ConfigError("only a Type=oneshot service may have more than one ExecStart=", at: definition.start[1].location)
    }
    if definition.type == .oneshot && definition.start.count > 1 {
      // The first ExecStart= is the main process; the others run after it, in order, and a
      // failure of any of them is the service's failure, as ExecStartPost= commands are.
      definition.startPost = Array(definition.start.dropFirst()) + definition.startPost
      definition.start = [definition.start[0]]
    }
    if definition.type == .oneshot && !startTimeoutSet { definition.startTimeout = nil }
    if let runtimeMax {
      // A oneshot (a timer's job) runs while it starts: its run is bounded like its start.
      guard definition.type == .oneshot else {
        throw ConfigError("RuntimeMaxSec= is supported for Type=oneshot services (jobs) only", at: definition.location(of: "RuntimeMaxSec"))
      }
      definition.startTimeout = min(definition.startTimeout ?? runtimeMax, runtimeMax)
    }
    if definition.type == .oneshot && definition.health != nil {
      throw ConfigError("a Type=oneshot service cannot have a [Health] check", at: definition.location(of: "Type"))
    }
    if let healthSettingLocation {
      guard let healthCommand else { throw ConfigError("[Health] needs Exec=", at: healthSettingLocation) }
      if definition.type == .oneshot { throw ConfigError("a Type=oneshot service cannot have a [Health] check", at: healthSettingLocation) }
      health.command = healthCommand
      definition.health = health
    }
    if essentialExitCodeSet && !definition.essential {
      throw ConfigError("EssentialExitCode= needs Essential=yes", at: definition.location(of: "EssentialExitCode"))
    }
    if let bounding = definition.capabilityBoundingSet, definition.ambientCapabilities & ~bounding != 0 {
      throw ConfigError("AmbientCapabilities= must be within CapabilityBoundingSet=", at: definition.location(of: "AmbientCapabilities"))
    }
    return definition
  }

  // MARK: - Values

  private mutating func addDependencies(_ value: String, _ kind: Dependency.Kind, _ location: SourceLocation) throws(ConfigError.Message) {
    for word in try UnitFile.words(value) {
      var name = word
      if name.hasSuffix(".service") { name = String(name.dropLast(8)) }
      guard ServiceFileParser.isValidName(name) else { throw .init("'\(word)' is not a service name") }
      definition.dependencies.append(Dependency(name: name, kind: kind, location: location))
    }
  }

  private func addCommand(_ value: String, _ location: SourceLocation, to commands: inout [Command]) throws(ConfigError.Message) {
    if value.isEmpty {
      commands = []  // an empty assignment resets the list (useful in drop-ins)
      return
    }
    var text = Substring(value)
    var ignoresFailure = false
    var ownArgv0 = false
    while let first = text.first, first == "-" || first == "@" || first == ":" || first == "+" || first == "!" {
      switch first {
      case "-": ignoresFailure = true
      case "@": ownArgv0 = true
      default: throw .init("the '\(first)' prefix is not supported")
      }
      text = text.dropFirst()
    }
    var words = try UnitFile.words(String(text))
    guard let program = words.first, !program.isEmpty else { throw .init("no command") }
    // Never run something the user did not write: a `${...}` ibex cannot expand is refused.
    for word in words {
      if let form = Environment.unsupportedExpansion(in: word) {
        throw .init(
          "\(form): ibex expands ${NAME}, ${NAME:-default}, ${NAME-default}, ${NAME:+alt} and ${NAME+alt}; write $\(form) to pass it to a shell")
      }
    }
    words.removeFirst()
    if ownArgv0 {
      guard !words.isEmpty else { throw .init("'@' needs the program and then argv[0]") }
    } else {
      words.insert(program, at: 0)
    }
    commands.append(Command(program: program, arguments: words, ignoresFailure: ignoresFailure, location: location))
  }

  /// systemd specifiers: `%n` (NAME.service), `%N` and `%p` (NAME), `%t` (/run), `%%`.
  private func expandSpecifiers(_ value: String) throws(ConfigError.Message) -> String {
    guard value.contains("%") else { return value }
    var result = ""
    var iterator = value.makeIterator()
    while let character = iterator.next() {
      guard character == "%" else {
        result.append(character)
        continue
      }
      switch iterator.next() {
      case "n": result += name + ".service"
      case "N", "p": result += name
      case "t": result += "/run"
      case "%": result += "%"
      case .some(let other): throw .init("unsupported specifier '%\(other)' (supported: %n %N %p %t %%)")
      case .none: throw .init("a lone '%' at the end (write %% for a percent sign)")
      }
    }
    return result
  }

  private func boolean(_ value: String) throws(ConfigError.Message) -> Bool { try ServiceFileParser.boolean(value) }

  /// systemd's booleans (yes/no, true/false, on/off, 1/0, any case): IbexCore's one parser.
  static func boolean(_ value: String) throws(ConfigError.Message) -> Bool {
    guard let result = Boolean.parse(value) else { throw .init("use yes or no") }
    return result
  }

  private func integer(_ value: String, in range: ClosedRange<Int>) throws(ConfigError.Message) -> Int {
    guard let number = Int(value), range.contains(number) else {
      throw .init("use a whole number from \(range.lowerBound) to \(range.upperBound)")
    }
    return number
  }

  private func span(_ value: String) throws(ConfigError.Message) -> TimeSpan { try ServiceFileParser.span(value) }

  static func span(_ value: String) throws(ConfigError.Message) -> TimeSpan {
    do {
      return try TimeSpan(parsing: value)
    } catch {
      throw .init(error.description)
    }
  }

  private func positiveSpan(_ value: String) throws(ConfigError.Message) -> TimeSpan {
    let result = try span(value)
    if result == .zero { throw .init("must be more than 0") }
    return result
  }

  /// `infinity` (or 0 for the timeouts that allow it) means no limit.
  private func optionalSpan(_ value: String) throws(ConfigError.Message) -> TimeSpan? {
    if value == "infinity" { return nil }
    let result = try span(value)
    return result == .zero ? nil : result
  }

  private func nonEmpty(_ value: String) throws(ConfigError.Message) -> String {
    if value.isEmpty { throw .init("must not be empty") }
    return value
  }

  /// `4096`, `64K`, `10M`, `1G` (powers of 1024) within `range`.
  private func byteCount(_ value: String, in range: ClosedRange<UInt64>) throws(ConfigError.Message) -> UInt64 {
    guard value != "infinity", let bytes = try limitValue(value), range.contains(bytes) else {
      throw .init("use a size from \(range.lowerBound) to \(range.upperBound) bytes (K, M and G suffixes allowed)")
    }
    return bytes
  }

  /// `1024`, `1024:4096`, `infinity`, `64K`, `infinity:infinity`.
  private func limit(_ value: String, resource: Int32) throws(ConfigError.Message) -> LimitSetting {
    let parts = value.split(separator: ":", omittingEmptySubsequences: false)
    guard parts.count == 1 || parts.count == 2 else { throw .init("use SOFT or SOFT:HARD") }
    let soft = try limitValue(String(parts[0]))
    let hard = parts.count == 2 ? try limitValue(String(parts[1])) : soft
    if let soft, let hard, soft > hard { throw .init("the soft limit is above the hard limit") }
    if soft == nil && hard != nil { throw .init("the soft limit is above the hard limit") }
    return LimitSetting(resource: resource, soft: soft, hard: hard)
  }

  private func limitValue(_ text: String) throws(ConfigError.Message) -> UInt64? {
    if text == "infinity" { return nil }
    var digits = text
    var multiplier: UInt64 = 1
    if let last = digits.last, let power = ["K": 1, "M": 2, "G": 3, "T": 4][String(last)] {
      digits.removeLast()
      for _ in 0..<power { multiplier *= 1024 }
    }
    guard let number = UInt64(digits) else { throw .init("'\(text)' is not a number or infinity") }
    let (product, overflow) = number.multipliedReportingOverflow(by: multiplier)
    if overflow { throw .init("'\(text)' is too large") }
    return product
  }

  /// A space-separated list of `CAP_*` names; a leading `~` means all but these.
  private func capabilitySet(_ value: String) throws(ConfigError.Message) -> UInt64 {
    var text = value
    let inverted = text.hasPrefix("~")
    if inverted { text.removeFirst() }
    var bits: UInt64 = 0
    for word in try UnitFile.words(text) {
      guard let index = Capabilities.number(of: word) else { throw .init("unknown capability '\(word)'") }
      bits |= 1 << UInt64(index)
    }
    return inverted ? Capabilities.all & ~bits : bits
  }

  // MARK: - Names

  /// Service names: letters, digits and `-_.@:`, at most 255 bytes, not starting with a dot.
  public static func isValidName(_ name: String) -> Bool {
    guard !name.isEmpty, name.utf8.count <= 255, !name.hasPrefix(".") else { return false }
    return name.utf8.allSatisfy { byte in
      (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5a) || (byte >= 0x61 && byte <= 0x7a)
        || byte == UInt8(ascii: "-") || byte == UInt8(ascii: "_") || byte == UInt8(ascii: ".")
        || byte == UInt8(ascii: "@") || byte == UInt8(ascii: ":")
    }
  }
}
