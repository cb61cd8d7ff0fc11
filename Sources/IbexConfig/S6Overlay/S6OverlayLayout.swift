import IbexCore
import IbexRuntime

/// Loads the s6-overlay v3 layout of a container (`/etc/s6-overlay/s6-rc.d`, the user
/// bundles, `/etc/cont-init.d`, `/etc/services.d`, `/etc/cont-finish.d`, `/etc/fix-attrs.d`)
/// into ibex's model, and checks what can be checked before anything starts. Errors name the
/// file, with a line where there is one. See docs/s6-overlay.md, "What the loader reads".
public enum S6OverlayLayout {
  /// The built-in oneshot that runs `/etc/cont-finish.d` when it stops: everything else is
  /// ordered after it, so it starts first and stops last.
  public static let contFinishService = "legacy-cont-finish"
  /// The built-in oneshot that runs `/etc/cont-init.d` when it starts (s6-overlay's `base`).
  public static let contInitService = "legacy-cont-init"
  /// The built-in oneshot that is up once every services.d service is.
  public static let legacyServicesService = "legacy-services"

  /// Names no s6-rc.d directory may have (S6-LAYOUT-01; `user` and `user2` are accepted as
  /// bundles, S6-LAYOUT-03). `legacy-cont-finish` is ibex's.
  public static let reservedNames: [String] = [
    "base", "top", "fix-attrs", "legacy-cont-init", "legacy-services", "user", "user2", "legacy-cont-finish",
  ]

  /// Loads the layout under `root` (every path is prefixed with it; "" in a container).
  /// - Parameters:
  ///   - settings: the `S6_*` variables (`S6Settings.parse(environment:)`).
  ///   - searchPath: PATH, to check that every `up` program exists.
  /// - Returns: the services and what must be prepared before they start; an empty layout
  ///   with `isPresent == false` when no s6-overlay directory exists.
  public static func load(root: String, settings: S6Settings, searchPath: String) throws(ConfigError) -> S6Layout {
    var loader = S6Loader(paths: S6Paths(root: root, settings: settings), settings: settings, searchPath: searchPath)
    return try loader.load()
  }
}

/// One directory of s6-rc.d, read but not yet mapped.
struct S6Definition {
  enum Kind: Equatable { case oneshot, longrun, bundle }
  var name: String
  var directory: String
  var kind: Kind
  var dependencies: [S6Reference] = []
  var contents: [S6Reference] = []
  var producerFor: S6Reference?
  var consumerFor: [S6Reference] = []
  var pipelineName: S6Reference?
}

/// The state of one load: definitions read so far and the names they define.
struct S6Loader {
  let paths: S6Paths
  let settings: S6Settings
  let searchPath: String
  var layout: S6Layout

  /// s6-rc.d atomic services and bundles (not `user`/`user2`), by name order.
  var definitions: [S6Definition] = []
  /// Atomic s6-rc services: name → index in `definitions`.
  var atomics: [String: Int] = [:]
  /// Bundles: s6-rc.d ones, `user`, `user2`, pipeline names, `base` and `fix-attrs`.
  var bundles: [String: [S6Reference]] = [:]
  /// Where each name is defined, for clash messages.
  var sources: [String: String] = [:]
  /// The built-in atomic services.
  let builtins: [String]
  static let defaultUserSource = "s6-overlay's boot selection (the user and user2 bundles)"

  init(paths: S6Paths, settings: S6Settings, searchPath: String) {
    self.paths = paths
    self.settings = settings
    self.searchPath = searchPath
    self.layout = S6Layout(paths: paths)
    builtins = [S6OverlayLayout.contFinishService, S6OverlayLayout.contInitService, S6OverlayLayout.legacyServicesService]
    sources[S6OverlayLayout.contFinishService] = paths.contFinish + " (ibex's built-in legacy-cont-finish)"
    sources[S6OverlayLayout.contInitService] = paths.contInit + " (ibex's built-in legacy-cont-init)"
    sources[S6OverlayLayout.legacyServicesService] = paths.services + " (ibex's built-in legacy-services)"
    // `base` is fix-attrs + legacy-cont-init; fix-attrs.d is applied before boot, so a
    // dependency on `fix-attrs` is always met.
    bundles["base"] = [S6Reference(name: S6OverlayLayout.contInitService, file: paths.contInit, line: nil)]
    bundles["fix-attrs"] = []
    bundles["user"] = []
    bundles["user2"] = []
    sources["base"] = "s6-overlay's built-in bundle 'base'"
    sources["user"] = S6Loader.defaultUserSource
    sources["user2"] = S6Loader.defaultUserSource
    sources["fix-attrs"] = paths.fixAttrs + " (applied before boot)"
  }

  mutating func warn(_ text: String) {
    if settings.verbosity >= 1 { layout.warnings.append(text) }
  }

  mutating func load() throws(ConfigError) -> S6Layout {
    guard paths.isPresent else { return layout }
    layout.isPresent = true

    try readDefinitions()
    try readUserBundles()
    try checkPipelines()
    try checkReferences()
    let selected = selection()
    let userMembers = expand("user").filter { atomics[$0] != nil }

    var services: [ServiceDefinition] = []
    layout.contFinishScripts = try scripts(in: paths.contFinish)
    layout.contInitScripts = try scripts(in: paths.contInit)
    services.append(contFinishService())
    services.append(contInitService())
    for definition in definitions where definition.kind != .bundle {
      services.append(try atomicService(definition, autostart: selected.contains(definition.name)))
    }
    let legacy = try legacyServices(userMembers: userMembers)
    services += legacy
    services.append(legacyServicesService(legacy, userMembers: userMembers))
    layout.services = services

    try readFixAttrs()
    return layout
  }

  // MARK: - Reading s6-rc.d and the user bundles

  mutating func readDefinitions() throws(ConfigError) {
    guard S6SourceFiles.isDirectory(paths.definitions) else { return }
    var legacyBundles: [String] = []
    for name in try S6SourceFiles.list(paths.definitions) {
      let directory = paths.definitions + "/" + name
      guard S6SourceFiles.isDirectory(directory) else { continue }
      if name == "user" || name == "user2" {
        try readUserBundle(name, directory)
        legacyBundles.append(directory)
        continue
      }
      try checkName(name, directory)
      var definition = S6Definition(name: name, directory: directory, kind: try readType(directory))
      switch definition.kind {
      case .bundle:
        definition.contents = try S6SourceFiles.names(in: directory, "contents")
        bundles[name] = definition.contents
      case .oneshot:
        definition.dependencies = try S6SourceFiles.names(in: directory, "dependencies")
        atomics[name] = definitions.count
      case .longrun:
        definition.dependencies = try S6SourceFiles.names(in: directory, "dependencies")
        atomics[name] = definitions.count
        definition.producerFor = try singleName(directory + "/producer-for")
        let consumerFor = directory + "/consumer-for"
        if FileSystem.info(consumerFor)?.isRegularFile == true {
          definition.consumerFor = try S6SourceFiles.lines(consumerFor).map { S6Reference(name: $0.text, file: consumerFor, line: $0.line) }
        }
        definition.pipelineName = try singleName(directory + "/pipeline-name")
      }
      sources[name] = directory
      definitions.append(definition)
    }
    if !legacyBundles.isEmpty {
      var list = ""
      for (i, path) in legacyBundles.enumerated() { list += (i == 0 ? "" : " and ") + path }
      warn(
        "\(list): the user bundles in s6-rc.d are deprecated: move them to \(paths.userBundles)/ "
          + "(ibex merges both places and never writes to /etc)")
    }
  }

  mutating func readUserBundles() throws(ConfigError) {
    for name in ["user", "user2"] {
      let directory = paths.userBundles + "/" + name
      if S6SourceFiles.isDirectory(directory) { try readUserBundle(name, directory) }
    }
  }

  /// `user` or `user2`: a bundle whose `type` may be missing; its members add to the others.
  mutating func readUserBundle(_ name: String, _ directory: String) throws(ConfigError) {
    if S6SourceFiles.exists(directory + "/type"), try readType(directory) != .bundle {
      throw ConfigError("'\(name)' must be a bundle", at: SourceLocation(file: directory + "/type", line: 1))
    }
    bundles[name, default: []] += try S6SourceFiles.names(in: directory, "contents")
    let previous = sources[name] ?? S6Loader.defaultUserSource
    sources[name] = previous == S6Loader.defaultUserSource ? directory : previous + " and " + directory
  }

  /// S6-LAYOUT-01.
  func checkName(_ name: String, _ path: String) throws(ConfigError) {
    if name.isEmpty || name.contains("\n") || name.contains("/") || name == "." || name == ".." {
      throw ConfigError("\(path): '\(name)' is not a valid name (no '/', no newline)")
    }
    if name.hasPrefix("s6rc-") || name.hasPrefix("s6-rc-") {
      throw ConfigError("\(path): names starting with 's6rc-' or 's6-rc-' are reserved for s6-rc")
    }
    if S6OverlayLayout.reservedNames.contains(name) {
      var list = ""
      for (i, reserved) in S6OverlayLayout.reservedNames.enumerated() { list += (i == 0 ? "" : ", ") + reserved }
      throw ConfigError("\(path): '\(name)' is a reserved name (\(list))")
    }
  }

  func readType(_ directory: String) throws(ConfigError) -> S6Definition.Kind {
    let file = directory + "/type"
    guard let text = try S6SourceFiles.value(file) else {
      throw ConfigError("\(file): missing (every s6-rc.d directory needs a type: oneshot, longrun or bundle)")
    }
    switch text {
    case "oneshot": return .oneshot
    case "longrun": return .longrun
    case "bundle": return .bundle
    default: throw ConfigError("unknown type '\(text)' (oneshot, longrun or bundle)", at: SourceLocation(file: file, line: 1))
    }
  }

  /// A file holding one name (`producer-for`, `pipeline-name`), or nil when it does not exist.
  func singleName(_ file: String) throws(ConfigError) -> S6Reference? {
    guard FileSystem.info(file)?.isRegularFile == true else { return nil }
    let lines = try S6SourceFiles.lines(file)
    guard lines.count == 1 else { throw ConfigError("\(file): expected exactly one name, found \(lines.count)") }
    return S6Reference(name: lines[0].text, file: file, line: lines[0].line)
  }

  // MARK: - Pipelines (S6-LAYOUT-09)

  mutating func checkPipelines() throws(ConfigError) {
    for definition in definitions where definition.kind == .longrun {
      if let consumer = definition.producerFor {
        guard let j = atomics[consumer.name], definitions[j].kind == .longrun else {
          throw ConfigError("\(consumer.place): '\(consumer.name)' is not a longrun in \(paths.definitions)")
        }
        guard definitions[j].consumerFor.contains(where: { $0.name == definition.name }) else {
          throw ConfigError(
            "\(consumer.place): '\(consumer.name)' does not list '\(definition.name)' in its consumer-for (both sides of a pipeline must agree)")
        }
      }
      for producer in definition.consumerFor {
        guard let j = atomics[producer.name], definitions[j].kind == .longrun else {
          throw ConfigError("\(producer.place): '\(producer.name)' is not a longrun in \(paths.definitions)")
        }
        guard definitions[j].producerFor?.name == definition.name else {
          throw ConfigError(
            "\(producer.place): '\(producer.name)' does not name '\(definition.name)' in its producer-for (both sides of a pipeline must agree)")
        }
      }
      guard let pipelineName = definition.pipelineName else { continue }
      if definition.consumerFor.isEmpty || definition.producerFor != nil {
        warn("\(pipelineName.file): ignored: only the last consumer of a pipeline names it")
        continue
      }
      try checkName(pipelineName.name, pipelineName.file)
      if let other = sources[pipelineName.name] {
        throw ConfigError("\(pipelineName.file): pipeline name '\(pipelineName.name)' is also defined by \(other)")
      }
      // Every service of the chain that ends here.
      var members: [String] = []
      var stack = [definition.name]
      while let name = stack.popLast() {
        if members.contains(name) { continue }
        members.append(name)
        if let i = atomics[name] { stack += definitions[i].consumerFor.map { $0.name } }
      }
      bundles[pipelineName.name] = members.map { S6Reference(name: $0, file: pipelineName.file, line: pipelineName.line) }
      sources[pipelineName.name] = pipelineName.file
    }
  }

  // MARK: - Names

  /// Every name written anywhere must exist.
  func checkReferences() throws(ConfigError) {
    for definition in definitions {
      for reference in definition.dependencies + definition.contents where !isKnown(reference.name) {
        throw ConfigError("\(reference.place): no service or bundle named '\(reference.name)'")
      }
    }
    for name in ["user", "user2"] {
      for reference in bundles[name] ?? [] where !isKnown(reference.name) {
        throw ConfigError("\(reference.place): no service or bundle named '\(reference.name)'")
      }
    }
  }

  func isKnown(_ name: String) -> Bool { atomics[name] != nil || bundles[name] != nil || builtins.contains(name) }

  /// The atomic services a name stands for: itself, or a bundle's members, recursively
  /// (a bundle that contains itself is read once).
  func expand(_ name: String) -> [String] {
    var result: [String] = []
    var visited: [String] = []
    var stack = [name]
    while let next = stack.popLast() {
      if atomics[next] != nil || builtins.contains(next) {
        if !result.contains(next) { result.append(next) }
        continue
      }
      guard let members = bundles[next], !visited.contains(next) else { continue }
      visited.append(next)
      for member in members.reversed() { stack.append(member.name) }
    }
    return result
  }

  /// S6-LAYOUT-02: what `user` and `user2` reach through members, dependencies and pipelines.
  func selection() -> Set<String> {
    var selected: Set<String> = []
    var queue = expand("user") + expand("user2")
    while let name = queue.popLast() {
      guard selected.insert(name).inserted, let i = atomics[name] else { continue }
      let definition = definitions[i]
      for dependency in definition.dependencies { queue += expand(dependency.name) }
      if let consumer = definition.producerFor { queue.append(consumer.name) }
      queue += definition.consumerFor.map { $0.name }
    }
    return selected
  }

  // MARK: - Mapping

  /// Dependencies on what `references` stand for, without duplicates.
  func requirements(_ references: [S6Reference], of service: inout ServiceDefinition) {
    for reference in references {
      for name in expand(reference.name) where !service.dependencies.contains(where: { $0.name == name && $0.kind == .requires }) {
        service.dependencies.append(Dependency(name: name, kind: .requires, location: reference.location))
      }
    }
  }

  mutating func atomicService(_ definition: S6Definition, autostart: Bool) throws(ConfigError) -> ServiceDefinition {
    var service = s6Service(definition.name, location: SourceLocation(file: definition.directory + "/type", line: 1))
    service.autostart = autostart
    service.logsAsS6RC = true
    service.dependencies = [Dependency(name: S6OverlayLayout.contFinishService, kind: .after, location: service.location)]
    requirements(definition.dependencies, of: &service)
    switch definition.kind {
    case .longrun:
      let live = paths.liveDefinitions + "/" + definition.name
      try applyLongrun(&service, source: definition.directory, live: live, keepsModes: false)
      if let consumer = definition.producerFor {
        service.outputConsumer = consumer.name
        service.dependencies.append(Dependency(name: consumer.name, kind: .after, location: consumer.location))
      }
      layout.liveDirectories.append(
        LiveDirectory(name: definition.name, source: definition.directory, path: live, keepsModes: false, link: paths.serviceLinks + "/" + definition.name))
    case .oneshot:
      try applyOneshot(&service, source: definition.directory)
    case .bundle:
      fatalError("ibex bug: a bundle mapped to a service")
    }
    return service
  }

  /// The s6 servicedir files of a longrun (S6-LAYOUT-08). `keepsModes`: services.d, whose
  /// programs must be executable as they are.
  mutating func applyLongrun(_ service: inout ServiceDefinition, source: String, live: String, keepsModes: Bool) throws(ConfigError) {
    service.type = .simple
    let run = source + "/run"
    guard let info = FileSystem.info(run), info.isRegularFile else {
      throw ConfigError("\(run): missing: a longrun needs a run program")
    }
    try checkProgramFile(run, info: info, keepsModes: keepsModes)
    service.start = [Command(program: live + "/run", arguments: [live + "/run"], location: SourceLocation(file: run, line: 1))]
    service.workingDirectory = live
    service.restart = .always
    service.restartDelay = .seconds(1)
    service.restartMaxDelay = nil
    service.startLimitBurst = 0

    let notificationFile = source + "/notification-fd"
    if let text = try S6SourceFiles.value(notificationFile) {
      guard let fd = S6Settings.digits(text) else {
        throw ConfigError("'\(text)' is not a file descriptor number", at: SourceLocation(file: notificationFile, line: 1))
      }
      if fd < 3 {
        warn("\(notificationFile): fd \(fd) would replace a standard stream of the service: use 3 or more")
      }
      service.notificationFD = Int32(fd)
    }
    let up = try S6SourceFiles.milliseconds(source + "/timeout-up") ?? 0
    service.startTimeout = up > 0 ? .milliseconds(up) : nil
    let kill = try S6SourceFiles.milliseconds(source + "/timeout-kill") ?? 0
    let down = try S6SourceFiles.milliseconds(source + "/timeout-down") ?? 0
    service.stopTimeout = kill > 0 ? .milliseconds(kill) : down > 0 ? .milliseconds(down) : .seconds(10)
    let signalFile = source + "/down-signal"
    if let text = try S6SourceFiles.value(signalFile) {
      guard let signal = Signal(parsing: text) else {
        throw ConfigError("unknown signal '\(text)' (SIGTERM, TERM or a number)", at: SourceLocation(file: signalFile, line: 1))
      }
      service.killSignal = signal
    }
    let finish = source + "/finish"
    if let info = FileSystem.info(finish), info.isRegularFile {
      try checkProgramFile(finish, info: info, keepsModes: keepsModes)
      service.finish = Command(program: live + "/finish", arguments: [live + "/finish"], location: SourceLocation(file: finish, line: 1))
    }
    // s6-supervise: 0 lets finish run forever; the model has no "forever", so a year.
    let finishTimeout = try S6SourceFiles.milliseconds(source + "/timeout-finish") ?? 5000
    service.finishTimeout = finishTimeout == 0 ? .seconds(365 * 86400) : .milliseconds(finishTimeout)
    service.stopsLast = S6SourceFiles.exists(source + "/flag-essential")
    service.environment = try readEnvironment(source + "/env", service: service.name)
  }

  /// `run`, `finish`, `log/run`: services.d ones must be executable; a `#!` interpreter must exist.
  func checkProgramFile(_ file: String, info: FileInfo, keepsModes: Bool) throws(ConfigError) {
    if keepsModes && !info.isExecutable {
      throw ConfigError("\(file): not executable (services.d programs run as they are: chmod +x it)")
    }
    if let interpreter = S6SourceFiles.interpreter(of: file), interpreter.hasPrefix("/"),
      ServiceDirectory.resolveProgram(interpreter, searchPath: searchPath) == nil
    {
      throw ConfigError(
        "\(interpreter): no such executable (named by the #! line)\(S6Loader.execlineHint(interpreter))", at: SourceLocation(file: file, line: 1))
    }
  }

  /// execline's programs, which ibex does not provide: a hint when one is missing.
  static func execlineHint(_ program: String) -> String {
    let name = program.split(separator: "/").last.map(String.init) ?? program
    let execline = [
      "execlineb", "foreground", "background", "if", "ifelse", "ifte", "ifthenelse", "fdmove", "fdclose", "redirfd",
      "importas", "multisubstitute", "backtick", "pipeline", "piperw", "exec", "define", "export", "unexport", "elglob",
      "forx", "forbacktickx", "loopwhilex", "emptyenv", "withstdinas", "heredoc", "wait", "trap", "eltest", "s6-envdir",
    ]
    guard execline.contains(name) else { return "" }
    return " (\(name) is an execline program: install Alpine's execline package and link its programs into /command, or write the line as a script; docs/s6-overlay.md)"
  }

  /// An s6-rc oneshot: `up` and `down` are each ONE command line (S6-LAYOUT-06).
  mutating func applyOneshot(_ service: inout ServiceDefinition, source: String) throws(ConfigError) {
    service.type = .oneshot
    service.remainAfterExit = true
    let up = source + "/up"
    guard FileSystem.info(up)?.isRegularFile == true else {
      throw ConfigError("\(up): missing: a oneshot needs an up file")
    }
    service.start = try commandLine(up, role: "up")
    if let program = service.start.first?.program, ServiceDirectory.resolveProgram(program, searchPath: searchPath) == nil {
      throw ConfigError(
        "\(program): no such executable" + (program.contains("/") ? "" : " in PATH (\(searchPath))") + S6Loader.execlineHint(program),
        at: SourceLocation(file: up, line: 1))
    }
    let down = source + "/down"
    if FileSystem.info(down)?.isRegularFile == true {
      service.stop = try commandLine(down, role: "down")
      if let program = service.stop.first?.program, ServiceDirectory.resolveProgram(program, searchPath: searchPath) == nil {
        warn("\(down): \(program): no such executable" + (program.contains("/") ? "" : " in PATH (\(searchPath))") + ": stopping will fail")
      }
    }
    let upTimeout = try S6SourceFiles.milliseconds(source + "/timeout-up") ?? 0
    service.startTimeout = upTimeout > 0 ? .milliseconds(upTimeout) : nil
    let downTimeout = try S6SourceFiles.milliseconds(source + "/timeout-down") ?? 0
    service.stopTimeout = downTimeout > 0 ? .milliseconds(downTimeout) : .seconds(10)
  }

  mutating func commandLine(_ file: String, role: String) throws(ConfigError) -> [Command] {
    let result = try ExeclineLexer.lex(try S6SourceFiles.read(file), file: file)
    if result.looksLikeScript {
      warn(
        "\(file): '\(role)' is not a script: its lines are joined into ONE command (\(ExeclineLexer.display(result.words))); "
          + "put the script in a file and write its path in '\(role)'")
    }
    guard let program = result.words.first else { return [] }
    return [Command(program: program, arguments: result.words, location: SourceLocation(file: file, line: 1))]
  }

  /// An `env/` directory, with s6-envdir's rules: a file's first line, trailing spaces and
  /// tabs removed, NUL bytes turned into newlines; an empty file unsets the variable.
  mutating func readEnvironment(_ directory: String, service: String) throws(ConfigError) -> [String] {
    guard S6SourceFiles.isDirectory(directory) else { return [] }
    var environment: [String] = []
    for name in try S6SourceFiles.list(directory) where !name.contains("=") {
      let file = directory + "/" + name
      // Subdirectories are skipped, as s6-envdir does; a FIFO or device is refused by read.
      guard let info = FileSystem.info(file), !info.isDirectory else { continue }
      let bytes: [UInt8]
      do {
        bytes = try FileSystem.read(file)
      } catch {
        throw ConfigError("unable to read \(file): \(error.description)")
      }
      if bytes.isEmpty {
        layout.environmentUnsets.append(EnvironmentUnset(service: service, name: name))
        continue
      }
      var value = Array(bytes.prefix(while: { $0 != 0x0A }))
      while let last = value.last, last == 0x20 || last == 0x09 { value.removeLast() }
      for i in value.indices where value[i] == 0 { value[i] = 0x0A }
      environment.append(name + "=" + String(decoding: value, as: UTF8.self))
    }
    return environment
  }

  // MARK: - services.d (S6-LAYOUT-11)

  /// A services.d service gets SIGKILL after its own `timeout-kill`, and at the latest after
  /// `S6_SERVICES_GRACETIME`, which s6-overlay waits for them all at stop.
  func legacyStopTimeout(_ directory: String) throws(ConfigError) -> TimeSpan {
    let kill = try S6SourceFiles.milliseconds(directory + "/timeout-kill") ?? 0
    return kill > 0 ? min(.milliseconds(kill), settings.servicesGraceTime) : settings.servicesGraceTime
  }

  mutating func legacyServices(userMembers: [String]) throws(ConfigError) -> [ServiceDefinition] {
    guard S6SourceFiles.isDirectory(paths.services) else { return [] }
    var services: [ServiceDefinition] = []
    for name in try S6SourceFiles.list(paths.services) {
      let directory = paths.services + "/" + name
      guard S6SourceFiles.isDirectory(directory) else { continue }
      if name.contains("\n") { throw ConfigError("\(directory): '\(name)' is not a valid name (no newline)") }
      try claim(name, directory)
      let live = paths.liveLegacyServices + "/" + name
      var service = legacyService(name, directory, userMembers: userMembers)
      try applyLongrun(&service, source: directory, live: live, keepsModes: true)
      service.autostart = !S6SourceFiles.exists(directory + "/down")
      service.stopTimeout = try legacyStopTimeout(directory)
      layout.liveDirectories.append(LiveDirectory(name: name, source: directory, path: live, keepsModes: true, link: paths.serviceLinks + "/" + name))
      let logDirectory = directory + "/log"
      guard S6SourceFiles.isDirectory(logDirectory) else {
        services.append(service)
        continue
      }
      let logName = name + "-log"
      try claim(logName, logDirectory)
      var logger = legacyService(logName, logDirectory, userMembers: userMembers)
      try applyLongrun(&logger, source: logDirectory, live: live + "/log", keepsModes: true)
      logger.stopTimeout = try legacyStopTimeout(logDirectory)
      service.outputConsumer = logName
      service.dependencies.append(Dependency(name: logName, kind: .after, location: logger.location))
      layout.liveDirectories.append(LiveDirectory(name: logName, source: logDirectory, path: live + "/log", keepsModes: true, link: nil))
      services.append(service)
      services.append(logger)
    }
    return services
  }

  /// Records that `path` defines `name`; a name defined twice is an error naming both.
  mutating func claim(_ name: String, _ path: String) throws(ConfigError) {
    if let other = sources[name] { throw ConfigError("\(path): '\(name)' is also defined by \(other)") }
    sources[name] = path
  }

  /// A service with s6's rules: only PATH from the environment (unless S6_KEEP_ENV), command
  /// lines as written (no `$VAR`), and what it leaves in the background left alone until the
  /// final sweep, as s6-supervise does.
  func s6Service(_ name: String, location: SourceLocation) -> ServiceDefinition {
    var service = ServiceDefinition(name: name, location: location)
    service.inheritsEnvironment = settings.keepEnvironment
    service.expandsVariables = false
    service.killsLeftovers = false
    return service
  }

  func legacyService(_ name: String, _ directory: String, userMembers: [String]) -> ServiceDefinition {
    var service = s6Service(name, location: SourceLocation(file: directory + "/run", line: 1))
    // CMD, and what depends on legacy-services, wait for services.d services to be started,
    // not ready, unless S6_CMD_WAIT_FOR_SERVICES (S6-ORDER-04, S6-ENV-15).
    service.dependentsWaitForReady = settings.waitForServices
    service.dependencies = [
      Dependency(name: S6OverlayLayout.contFinishService, kind: .after, location: service.location),
      Dependency(name: S6OverlayLayout.contInitService, kind: .requires, location: service.location),
    ]
    for member in userMembers { service.dependencies.append(Dependency(name: member, kind: .requires, location: service.location)) }
    return service
  }

  // MARK: - Built-ins (S6-ORDER-01/02, S6-STOP-02)

  /// The programs of cont-init.d or cont-finish.d, byte-sorted, dotfiles skipped.
  func scripts(in directory: String) throws(ConfigError) -> [String] {
    guard S6SourceFiles.isDirectory(directory) else { return [] }
    return try S6SourceFiles.list(directory).map { directory + "/" + $0 }
  }

  func builtinOneshot(_ name: String, _ path: String) -> ServiceDefinition {
    var service = s6Service(name, location: SourceLocation(file: path, line: 1))
    service.type = .oneshot
    service.remainAfterExit = true
    service.startTimeout = nil
    if name != S6OverlayLayout.contFinishService {
      service.dependencies = [Dependency(name: S6OverlayLayout.contFinishService, kind: .after, location: service.location)]
    }
    return service
  }

  func contFinishService() -> ServiceDefinition {
    var service = builtinOneshot(S6OverlayLayout.contFinishService, paths.contFinish)
    service.stop = layout.contFinishScripts.map {
      Command(program: $0, arguments: [$0], ignoresFailure: true, location: SourceLocation(file: $0, line: 1))
    }
    service.stopTimeout = settings.killFinishMaxTime ?? .seconds(3600)
    return service
  }

  func contInitService() -> ServiceDefinition {
    var service = builtinOneshot(S6OverlayLayout.contInitService, paths.contInit)
    service.logsAsS6RC = true
    service.startPre = layout.contInitScripts.map {
      Command(program: $0, arguments: [$0], ignoresFailure: settings.failurePolicy < 2, location: SourceLocation(file: $0, line: 1))
    }
    return service
  }

  func legacyServicesService(_ legacy: [ServiceDefinition], userMembers: [String]) -> ServiceDefinition {
    var service = builtinOneshot(S6OverlayLayout.legacyServicesService, paths.services)
    service.logsAsS6RC = true
    service.dependencies.append(Dependency(name: S6OverlayLayout.contInitService, kind: .requires, location: service.location))
    for member in userMembers { service.dependencies.append(Dependency(name: member, kind: .requires, location: service.location)) }
    for other in legacy where other.autostart {
      service.dependencies.append(Dependency(name: other.name, kind: .requires, location: other.location))
    }
    return service
  }

  // MARK: - fix-attrs.d (S6-LAYOUT-13)

  mutating func readFixAttrs() throws(ConfigError) {
    guard S6SourceFiles.isDirectory(paths.fixAttrs) else { return }
    let files = try S6SourceFiles.list(paths.fixAttrs)
    guard !files.isEmpty else { return }
    warn(
      "\(paths.fixAttrs) is deprecated: set owners and modes in the image (COPY --chown, RUN chmod) "
        + "or in a cont-init.d script; ibex still applies it before boot")
    for name in files {
      let file = paths.fixAttrs + "/" + name
      guard FileSystem.info(file)?.isRegularFile == true else { continue }
      let parsed = try FixAttrsRule.parse(try S6SourceFiles.read(file), file: file)
      layout.fixAttrs += parsed.rules
      for warning in parsed.warnings { warn(warning) }
    }
  }
}
