import IbexConfig
import IbexCore
import IbexLog
import IbexRuntime

/// `ibex init`: the supervisor of a container (the role of s6-overlay and supervisord).
///
/// The lifecycle, in order: take over signals, become the reaper, load and check every
/// service file (nothing starts if one is wrong), open the notify socket, then run the loop:
/// events from the kernel go to the `Supervisor` state machine, and its actions (spawn,
/// signal, arm the timer, log, exit) are carried out here.
public struct InitProgram: ~Copyable {
  var supervisor: Supervisor
  var loop: EventLoop
  /// Who each service runs as, by name (nil: as ibex).
  private var identities: [String: Identity]
  private let root: String
  private let searchPath: String
  private let baseEnvironment: [String]
  private let notifySocket: FileDescriptor?
  private let notifyPath: String
  private let devNull: FileDescriptor
  private let inherited: InheritedSignalState
  private let argv: UnsafePointer<UnsafeMutablePointer<CChar>?>
  private let commandIndex: Int?
  /// Where CMD's output goes when it is captured (nil: CMD keeps the container's stdout and
  /// stderr).
  private let commandLog: LogSettings?
  /// The open-file limit ibex had before it raised its own: services and CMD get it back.
  private let fileLimit: LimitSetting
  /// The services of the s6-overlay layout, read once at boot (as s6-overlay compiles it
  /// once); `ibex reload` reads the native files again beside them.
  private let s6Services: [ServiceDefinition]
  /// The s6-overlay rules, for an image with the s6 layout (nil: native rules only).
  private let s6: S6Settings?
  /// Pipes of s6 pipelines (`producer-for`, `log/`), by consumer name: ibex holds both ends
  /// for the container's life, so a restart on either side loses nothing.
  private var pipelines: [String: (read: FileDescriptor, write: FileDescriptor)] = [:]
  /// The services' stdout and stderr, on their way to the console and log directories.
  private var output: ServiceOutput
  /// Read ends of notification-fd pipes, by service name, and the loop tokens they report with.
  private var readinessPipes: [String: (fd: FileDescriptor, token: UInt64)] = [:]
  /// One loop token per service name, kept across restarts, so tokens never run into the
  /// control connections' range however often services restart.
  private var readinessTokens: [String: UInt64] = [:]
  private var control: ControlServer?
  /// The supervisor's own deadline; the loop's timer is the earlier of it and the control
  /// connections' deadlines.
  private var supervisorDeadline: Instant?
  /// Actions a control request produced, carried out once it has been answered.
  private var pendingActions: [SupervisorAction] = []
  /// The timers (InitProgram+Timers.swift, docs/timers.md): the scheduler, its monotonic
  /// deadline, which of their services run, and where `Persistent=` stamps go.
  var scheduler: Scheduler
  var schedulerDeadline: Instant?
  var jobActive: [String: Bool] = [:]
  let stampDirectory: String?
  var pendingTimerEvents: [SchedulerEvent] = []

  private static let notifyToken: UInt64 = EventLoop.firstUserToken
  private static let readinessTokenBase: UInt64 = 1 << 20

  public static func main(options: InitOptions, argv: UnsafePointer<UnsafeMutablePointer<CChar>?>) -> Int32 {
    guard let inherited = BecomeInit.takeOver() else { return ExitCode.systemFailure }
    // IBEX_POLICY: the container's posture is judged before anything starts (docs/doctor.md).
    if let code = BootPolicy.check(environment: ThisProcess.environmentStrings) { return code }
    let root = options.root ?? Environment.value(of: "IBEX_ROOT", in: ThisProcess.environmentStrings) ?? ""
    if !root.isEmpty && FileSystem.info(root)?.isDirectory != true {
      Console.fatal("\(root): no such directory (the root given with --root or IBEX_ROOT is the directory that holds etc/ibex/services)")
      return ExitCode.configError
    }
    if let refusal = lockRuntimeDirectory(root: root) {
      Console.fatal(refusal)
      return ExitCode.systemFailure
    }
    // The environment stage: defaults, secrets, time zone, ids (docs/environment.md).
    guard let stage = EnvironmentStep.run(root: root, environment: ThisProcess.environmentStrings) else {
      return ExitCode.configError
    }
    var environment = stage.environment
    var searchPath = Environment.value(of: "PATH", in: environment) ?? "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
    let users = InitProgram.userDatabase(root: root)

    // An s6-overlay image: its layout, its variables and its runtime paths (docs/s6-overlay.md).
    let (s6Settings, s6Warnings) = S6Settings.parse(environment: environment)
    let command = options.commandIndex.flatMap { argv[$0] }.map { String(cString: $0) }
    let isS6Image = S6Paths(root: root, settings: s6Settings).isPresent || S6Boot.showsS6Overlay(environment: environment, command: command)
    var s6 = isS6Image ? s6Settings : nil
    if let settings = s6, settings.logging >= 1, ThisProcess.effectiveUID == 0 {
      // S6-ENV-05: the catch-all log's owner must exist.
      guard let account = users.account(settings.catchAllUser) else {
        Console.fatal("S6_CATCHALL_USER=\(settings.catchAllUser): no such user in /etc/passwd")
        return ExitCode.configError
      }
      s6?.catchAllOwner = account
    }
    if let s6 {
      searchPath = S6Boot.searchPath(Environment.value(of: "PATH", in: environment))
      environment = Environment.merge(environment, ["PATH=" + searchPath])
      if s6.verbosity >= 1 { for warning in s6Warnings { Console.warning(warning) } }
      let warn = { (message: String) in if s6.verbosity >= 1 { Console.warning(message) } }
      if let refusal = S6Boot.checkRun(root: root, environment: environment, warn: warn) {
        Console.fatal(refusal)
        return ExitCode.configError
      }
      if let (path, error) = S6Boot.prepare(root: root, environment: environment, secrets: stage.secrets, settings: s6) {
        Console.fatal("unable to prepare \(path): \(error.description)")
        Console.emit("ibex needs a writable /run for an s6-overlay image: a tmpfs /run owned by the container's user (docs/s6-overlay.md)")
        return ExitCode.configError
      }
      if let code = S6Boot.runStage2Hook(s6, searchPath: searchPath) { return code }
    }

    // Four descriptors per service (its output pipes): a container's usual soft limit of 1024
    // would run out near 250 services. Services and CMD keep the limit they would have had.
    let limit = ThisProcess.raiseOpenFileLimit() ?? (soft: UInt64.max, hard: UInt64.max)
    let inheritedFileLimit = LimitSetting(resource: 7, soft: limit.soft, hard: limit.hard)  // RLIMIT_NOFILE
    var s6Services: [ServiceDefinition] = []
    var loaded: LoadedServices
    let schedule: LoadedSchedule
    let graph: ServiceGraph
    do throws(ConfigError) {
      if let s6 {
        let layout = try S6OverlayLayout.load(root: root, settings: s6, searchPath: searchPath)
        for warning in layout.warnings { Console.warning(warning) }
        if let code = S6Boot.prepareServices(layout, root: root, users: users, settings: s6) { return code }
        s6Services = InitProgram.withLimit(
          inheritedFileLimit, S6Boot.adapt(layout.services, environment: environment, settings: s6, root: root))
      }
      (loaded, schedule) = try InitProgram.loadNative(
        root: root, users: users, searchPath: searchPath, limit: inheritedFileLimit, beside: s6Services, environment: environment)
      graph = try ServiceGraph(loaded.services)
    } catch {
      for each in error.all { Console.fatal(each.description) }
      Console.emit("nothing was started: fix the service files and start again")
      return ExitCode.configError
    }
    if s6 == nil && graph.services.isEmpty && options.commandIndex == nil {
      Console.fatal(nothingToRun(root: root))
      return ExitCode.configError
    }

    // The notify socket, and with it a writable /run, is needed only for Type=notify services.
    let runDirectory = root + "/run/ibex"
    let notifyPath = runDirectory + "/notify"
    let needsNotifySocket = graph.services.contains { $0.type == .notify }
    let notifySocket: FileDescriptor?
    let devNull: FileDescriptor
    let loop: EventLoop
    do throws(Errno) {
      if needsNotifySocket {
        try FileSystem.makeDirectories(runDirectory)
        notifySocket = try NotifySocket.open(at: notifyPath)
      } else {
        notifySocket = nil
      }
      devNull = try FileSystem.openReadWrite("/dev/null")
      loop = try makeLoop(watching: notifySocket)
    } catch {
      Console.fatal("unable to prepare \(needsNotifySocket ? notifyPath : "the event loop"): \(error.description)")
      return ExitCode.systemFailure
    }

    var control: ControlServer?
    do throws(Errno) {
      try FileSystem.makeDirectories(runDirectory)
      var group: UInt32?
      if let name = Environment.value(of: "IBEX_CONTROL_GROUP", in: environment) {
        group = users.gid(of: name)
        if group == nil { Console.warning("IBEX_CONTROL_GROUP=\(name): no such group; the control socket is for root only") }
      }
      control = try ControlServer(path: runDirectory + "/control", readOnlyGroup: group)
    } catch {
      Console.warning("no control socket (\(runDirectory)/control: \(error.description)): ibex status, stop and check will not work; give ibex a writable /run")
    }
    let logDefaults = ServiceOutput.Defaults(environment: environment)
    for warning in logDefaults.warnings { Console.warning(warning) }
    var settings = SupervisorSettings()
    settings.hasCommand = options.commandIndex != nil
    if let s6 {
      settings.bootFailure = s6.bootFailure
      // No limit by default (S6_CMD_WAIT_FOR_SERVICES_MAXTIME=0); IBEX_WAIT_TIMEOUT still wins.
      settings.commandWaitTimeout = s6.waitMaxTime ?? .seconds(100 * 365 * 86400)
    }
    // Options win over their environment forms (containers are configured with ENV).
    for (option, variable, apply) in [
      (options.shutdownTimeout, "IBEX_SHUTDOWN_TIMEOUT", { (span: TimeSpan, s: inout SupervisorSettings) in s.shutdownTimeout = span }),
      (options.waitTimeout, "IBEX_WAIT_TIMEOUT", { (span: TimeSpan, s: inout SupervisorSettings) in s.commandWaitTimeout = span }),
    ] {
      if let option {
        apply(option, &settings)
      } else if let text = Environment.value(of: variable, in: environment) {
        do {
          apply(try TimeSpan(parsing: text), &settings)
        } catch {
          Console.emit("usage error: \(variable)=\(text): \(error.description)")
          return ExitCode.usage
        }
      }
    }
    for warning in loaded.warnings + schedule.warnings { Console.warning(warning) }
    var program = InitProgram(
      supervisor: Supervisor(graph: graph, settings: settings), scheduler: Scheduler(timers: schedule.timers, seed: randomSeed()),
      stampDirectory: InitProgram.prepareStampDirectory(root: root, timers: schedule.timers), loop: loop, control: control,
      identities: InitProgram.identitiesByName(loaded), root: root, searchPath: searchPath,
      baseEnvironment: environment, notifySocket: notifySocket, notifyPath: notifyPath, devNull: devNull,
      inherited: inherited, argv: argv, commandIndex: options.commandIndex, s6: s6, s6Services: s6Services,
      fileLimit: inheritedFileLimit, commandLog: InitProgram.commandLog(environment: environment, s6: s6, root: root),
      output: ServiceOutput(defaults: logDefaults))
    return program.run()
  }

  /// The accounts of `root`'s /etc/passwd and /etc/group (the files the environment stage
  /// edits), or the system's when `root` has none (a test root).
  private static func userDatabase(root: String) -> UserDatabase {
    let etc = FileSystem.info(root + "/etc/passwd") != nil ? root + "/etc" : "/etc"
    return UserDatabase(
      passwd: (try? FileSystem.readText(etc + "/passwd")) ?? "", group: (try? FileSystem.readText(etc + "/group")) ?? "")
  }

  /// One supervisor per root: a second one would take over the control socket and start a
  /// second copy of every service. The lock (flock on `run/ibex/lock`, held until ibex ends;
  /// the kernel drops it even after SIGKILL) is taken before anything else is touched.
  /// Returns the refusal; without a writable /run there is no lock (nor a control socket).
  private static func lockRuntimeDirectory(root: String) -> String? {
    let path = root + "/run/ibex/lock"
    guard (try? FileSystem.makeDirectories(root + "/run/ibex")) != nil,
      let lock = try? LogFiles.openAppend(path, mode: 0o600)
    else { return nil }
    do {
      try lock.lockExclusively()  // kept open (close-on-exec) for ibex's life
    } catch {
      lock.close()
      guard error == .wouldBlock else { return nil }
      return "another ibex init is already running with this root (it holds \(path)): stop it first, or give this one another --root"
    }
    return nil
  }

  /// Why an `ibex init` without a command has nothing to do: what was looked for, and where.
  private static func nothingToRun(root: String) -> String {
    let services = root + ServiceDirectory.path
    let found: String
    if FileSystem.info(services) == nil {
      found = "\(services) does not exist"
    } else {
      found = "\(services) has no NAME.service or NAME.timer files"
    }
    return "nothing to run: \(found), \(root + ScheduleLoader.crontab) and \(root + ScheduleLoader.crontabDirectory) have no jobs,"
      + " no CRON_* variable is set, there is no s6-overlay layout, and no command was given;"
      + " add service files (docs/service-files.md) or give a command (ibex init -- CMD ARGS)"
  }

  /// CMD's output is captured with `IBEX_LOG_CMD=yes` (labelled `cmd`, IBEX_LOG_* apply), or
  /// into the catch-all log with s6's `S6_LOGGING=2`.
  private static func commandLog(environment: [String], s6: S6Settings?, root: String) -> LogSettings? {
    if let s6, s6.logging >= 2 { return S6Boot.catchAll(LogSettings(), settings: s6, root: root) }
    // Checked by the environment stage: a bad value stopped the boot.
    return Environment.value(of: "IBEX_LOG_CMD", in: environment).flatMap { Boolean.parse($0) } == true ? LogSettings() : nil
  }

  /// The native service files, after `s6Services` (which run as ibex: no identity).
  /// Then the timers, crontabs and `CRON_*` jobs (docs/timers.md): their services join the
  /// others, and a service a timer starts does not start at boot.
  private static func loadNative(
    root: String, users: UserDatabase, searchPath: String, limit: LimitSetting, beside s6Services: [ServiceDefinition],
    environment: [String]
  ) throws(ConfigError) -> (LoadedServices, LoadedSchedule) {
    var loaded = try ServiceDirectory.load(root: root, users: users, searchPath: searchPath)
    loaded.services = s6Services + withLimit(limit, loaded.services)
    loaded.identities = Array(repeating: nil, count: s6Services.count) + loaded.identities
    let schedule = try ScheduleLoader.load(
      root: root, environment: environment, services: loaded.services, users: users, searchPath: searchPath)
    loaded.services += withLimit(limit, schedule.services)
    loaded.identities += schedule.identities
    for k in loaded.services.indices where schedule.units.contains(loaded.services[k].name) {
      loaded.services[k].autostart = false
    }
    return (loaded, schedule)
  }

  /// `services`, each with `limit` unless it sets that resource itself.
  /// Where a health check's output goes: apart from the service's own lines, labelled
  /// `NAME/health`, on the console only (the service's log directory is its own log).
  static func healthOutput(of service: ServiceDefinition) -> ServiceDefinition {
    var label = service
    label.name = service.name + "/health"
    label.log.directory = nil
    label.log.console = true
    return label
  }

  private static func withLimit(_ limit: LimitSetting, _ services: [ServiceDefinition]) -> [ServiceDefinition] {
    services.map { service in
      var service = service
      if !service.limits.contains(where: { $0.resource == limit.resource }) { service.limits.append(limit) }
      return service
    }
  }

  private static func identitiesByName(_ loaded: LoadedServices) -> [String: Identity] {
    var identities: [String: Identity] = [:]
    for (service, identity) in zip(loaded.services, loaded.identities) {
      if let identity { identities[service.name] = identity }
    }
    return identities
  }

  private static func makeLoop(watching notifySocket: FileDescriptor?) throws(Errno) -> EventLoop {
    var loop = try EventLoop(handling: .handled)
    if let notifySocket { try loop.watch(notifySocket, token: notifyToken, events: EventLoop.readable) }
    return loop
  }

  private init(
    supervisor: Supervisor, scheduler: Scheduler, stampDirectory: String?, loop: consuming EventLoop, control: ControlServer?, identities: [String: Identity],
    root: String, searchPath: String, baseEnvironment: [String],
    notifySocket: FileDescriptor?, notifyPath: String, devNull: FileDescriptor, inherited: InheritedSignalState,
    argv: UnsafePointer<UnsafeMutablePointer<CChar>?>, commandIndex: Int?, s6: S6Settings?,
    s6Services: [ServiceDefinition], fileLimit: LimitSetting, commandLog: LogSettings?, output: consuming ServiceOutput
  ) {
    self.s6Services = s6Services
    self.fileLimit = fileLimit
    self.commandLog = commandLog
    self.output = output
    self.supervisor = supervisor
    self.scheduler = scheduler
    self.stampDirectory = stampDirectory
    self.loop = loop
    self.control = control
    self.identities = identities
    self.root = root
    self.searchPath = searchPath
    self.baseEnvironment = baseEnvironment
    self.notifySocket = notifySocket
    self.notifyPath = notifyPath
    self.devNull = devNull
    self.inherited = inherited
    self.argv = argv
    self.commandIndex = commandIndex
    self.s6 = s6
  }

  private mutating func run() -> Int32 {
    if let listener = control?.listener {
      do {
        try loop.watch(listener, token: ControlServer.listenerToken, events: EventLoop.readable)
      } catch {
        output.emit("warning: control socket unusable: \(error.description)", loop: &loop)
      }
    }
    if let code = deliver(.boot) { return code }
    if let code = bootScheduler() { return code }
    var events: [LoopEvent] = []
    while true {
      loop.wait(into: &events)
      for event in events {
        if let code = dispatch(event) { return code }
      }
    }
  }

  /// Turns one loop event into supervisor events; returns the exit code once it is time.
  private mutating func dispatch(_ event: LoopEvent) -> Int32? {
    switch event {
    case .signal(.child, _):
      while let (pid, exit) = Reaper.reapOne() {
        // s6-overlay: CMD's code goes to the exit code file, for cont-finish scripts (S6-EXIT-02).
        if s6 != nil && pid == supervisor.commandPID {
          try? FileSystem.write(root + S6Boot.exitCodeFile, "\(exit.shellExitCode)\n")
        }
        // What the process wrote before it ended goes out first, unfinished last line included.
        if let owner = supervisor.owner(of: pid), case .service(let i) = owner.unit {
          let service = supervisor.graph.services[i]
          output.processEnded(service: owner.role == .health ? InitProgram.healthOutput(of: service).name : service.name, loop: &loop)
          reportOutputNotices()
        }
        let ended = supervisor.owner(of: pid)
        let code = deliver(.exited(pid: pid, exit))
        if case .service(let i)? = ended?.unit { cleanUpIfStopped(i) }
        if let code { return code }
      }
    case .signal(let signal, _) where s6 != nil:
      return s6Signal(signal)
    case .signal(let signal, _) where signal == .terminate || signal == .interrupt:
      return deliver(.shutdownSignal(signal))
    case .signal(let signal, _):
      // Other signals are for the main command, as with `ibex run`.
      if !signal.isJobControl, let pid = supervisor.commandPID { try? Reaper.send(signal, to: pid) }
    case .deadline:
      let now = EventLoop.now()
      control?.dropIdle(loop: &loop, now: now)
      reportOutputNotices()
      if let deadline = output.retryDeadline, deadline <= now {
        output.retry(loop: &loop)
        reportOutputNotices()
      }
      if let deadline = supervisorDeadline, deadline <= now {
        supervisorDeadline = nil
        if let code = deliver(.timerFired) { return code }
      }
      if let deadline = schedulerDeadline, deadline <= now {
        schedulerDeadline = nil
        if let code = feedScheduler(.tick) { return code }
      }
      rearm()
    case .wallClock(let changed):
      if let code = feedScheduler(changed ? .clockStepped : .tick) { return code }
    case .ready(ControlServer.listenerToken, _):
      control?.acceptAll(loop: &loop, now: EventLoop.now())
      reportOutputNotices()
      rearm()
    case .ready(let token, _) where ServiceOutput.owns(token):
      output.handle(token: token, loop: &loop)
      reportOutputNotices()
      rearm()
    case .ready(let token, _) where token >= ControlServer.firstConnectionToken:
      let lines = control?.readRequests(token: token, loop: &loop, now: EventLoop.now()) ?? []
      for line in lines {
        if let code = answer(line, token: token) { return code }
      }
      rearm()
    case .ready(InitProgram.notifyToken, _):
      while let socket = notifySocket, let (pid, message) = NotifySocket.receive(from: socket) {
        if let code = deliver(.notified(pid: pid, message: message)) { return code }
      }
    case .ready(let token, _):
      if let name = readinessPipes.first(where: { $0.value.token == token })?.key { return readinessData(service: name) }
    }
    return nil
  }

  /// Hands `event` to the supervisor and carries out its actions. Returns the exit code when
  /// the supervisor is done.
  mutating func deliver(_ event: SupervisorEvent) -> Int32? {
    if let code = perform(supervisor.handle(event, now: EventLoop.now())) { return code }
    return syncJobs()
  }

  /// Carries out actions, feeding what spawning reports back to the supervisor.
  private mutating func perform(_ first: [SupervisorAction]) -> Int32? {
    var actions = first
    var reports: [SupervisorEvent] = []
    while true {
      for action in actions {
        switch action {
        case .spawn(let ref):
          reports.append(spawn(ref))
        case .signal(let pid, let signal, let group):
          try? Reaper.send(signal, to: group ? -pid : pid)
        case .armTimer(let deadline):
          supervisorDeadline = deadline
          rearm()
        case .log(let line, let level):
          if level.rawValue <= (s6?.verbosity ?? LogLevel.info.rawValue) {
            // s6-rc's lines go out as s6-rc writes them, for the parsers that look for them.
            output.emit(level == .warning ? "warning: " + line : line, labelled: !line.hasPrefix("s6-rc: "), loop: &loop)
          }
        case .exit(let code):
          finish()
          return code
        }
      }
      guard !reports.isEmpty else { return nil }
      actions = supervisor.handle(reports.removeFirst(), now: EventLoop.now())
    }
  }

  mutating func rearm() {
    let deadlines = [supervisorDeadline, control?.nextDeadline, output.retryDeadline, schedulerDeadline].compactMap { $0 }
    loop.arm(at: deadlines.min())
  }

  // MARK: - Control requests

  /// Answers one request line from a control connection.
  private mutating func answer(_ line: String, token: UInt64) -> Int32? {
    var events: [SupervisorEvent] = []
    let response: JSONValue
    do throws(ControlFailure) {
      let request = try ControlRequest(parsing: line)
      if control?.isReadOnly(token) == true && !request.isReadOnly {
        throw ControlFailure(.notPermitted, "this connection may only ask for status and checks")
      }
      response = try answer(request, events: &events)
    } catch {
      response = error.response
    }
    control?.respond(response, token: token, loop: &loop)
    let actions = pendingActions
    pendingActions = []
    if let code = perform(actions) { return code }
    for event in events {
      if let code = deliver(event) { return code }
    }
    let timerEvents = pendingTimerEvents
    pendingTimerEvents = []
    for event in timerEvents {
      if let code = feedScheduler(event) { return code }
    }
    return nil
  }

  private mutating func answer(_ request: ControlRequest, events: inout [SupervisorEvent]) throws(ControlFailure) -> JSONValue {
    let ok: (String, JSONValue) = ("ok", .bool(true))
    switch request {
    case .status(let names):
      let now = EventLoop.now()
      let (timers, serviceNames) = try timerIndices(names)
      let services = names.isEmpty || !serviceNames.isEmpty ? try supervisor.serviceIndices(serviceNames).map { supervisor.status(of: $0, now: now) } : []
      let clock = schedulerClock()
      return .object([
        ok, ("shutting_down", .bool(supervisor.isShuttingDown)), ("services", .array(services)),
        ("timers", .array(timers.map { scheduler.status(of: $0, clock: clock) })),
      ])
    case .start(let names):
      let (timers, serviceNames) = try timerIndices(names)
      events = try supervisor.serviceIndices(serviceNames).map { .commanded(.start(service: $0)) }
      pendingTimerEvents += timers.map { .enable(timer: scheduler.timers[$0].name) }
    case .stop(let names):
      let (timers, serviceNames) = try timerIndices(names)
      events = try supervisor.serviceIndices(serviceNames).map { .commanded(.stop(service: $0)) }
      pendingTimerEvents += timers.map { .disable(timer: scheduler.timers[$0].name) }
    case .restart(let names):
      events = try supervisor.serviceIndices(names).map { .commanded(.restart(service: $0)) }
    case .signal(let name, let signal):
      let index = try supervisor.serviceIndices([name])[0]
      guard let pid = supervisor.mainPID(of: index) else { throw ControlFailure(.failed, "\(name) is not running") }
      do {
        try Reaper.send(signal, to: pid)
      } catch {
        throw ControlFailure(.failed, "unable to signal \(name): \(error.description)")
      }
    case .check(let kind, let names):
      let indices = names.isEmpty ? supervisor.checkedByDefault : try supervisor.serviceIndices(names)
      let failing = indices.filter { !supervisor.passes(kind, $0) }.map { supervisor.graph.services[$0].name }
      if !failing.isEmpty {
        var list = ""
        for (i, name) in failing.enumerated() { list += (i == 0 ? "" : ", ") + name }
        throw ControlFailure(.failed, "\(kind == .ready ? "not ready" : "not alive"): \(list)")
      }
    case .shutdown(let code):
      events = [.commanded(.shutdown(exitCode: code))]
    case .reload:
      return try reload()
    }
    return .object([ok])
  }

  /// Reads the service files again and hands them to the supervisor; an invalid set is an
  /// error and changes nothing.
  private mutating func reload() throws(ControlFailure) -> JSONValue {
    let users = InitProgram.userDatabase(root: root)
    let loaded: LoadedServices
    let schedule: LoadedSchedule
    let summary: Supervisor.ReloadSummary
    let actions: [SupervisorAction]
    do throws(ConfigError) {
      (loaded, schedule) = try InitProgram.loadNative(
        root: root, users: users, searchPath: searchPath, limit: fileLimit, beside: s6Services, environment: baseEnvironment)
      (summary, actions) = try supervisor.reload(loaded.services, now: EventLoop.now())
    } catch {
      throw ControlFailure(.failed, "the new configuration is invalid, nothing changed: \(error.description)")
    }
    for warning in loaded.warnings { output.emit("warning: " + warning, loop: &loop) }
    // Removed services keep their identity until they are down.
    let fresh = InitProgram.identitiesByName(loaded)
    for service in loaded.services { identities[service.name] = fresh[service.name] }
    output.emit("reloaded: \(summary.added.count) added, \(summary.changed.count) changed, \(summary.removed.count) removed", loop: &loop)
    pendingActions += actions
    reloadTimers(schedule.timers)
    func list(_ names: [String]) -> JSONValue { .array(names.map { .string($0) }) }
    return .object([("ok", .bool(true)), ("added", list(summary.added)), ("changed", list(summary.changed)), ("removed", list(summary.removed))])
  }

  // MARK: - Spawning

  private mutating func spawn(_ ref: ProcessRef) -> SupervisorEvent {
    guard case .service(let i) = ref.unit else { return spawnCommand(ref) }
    let service = supervisor.graph.services[i]
    var command: Command
    switch ref.role {
    case .main: command = service.start[0]
    case .startPre(let k): command = service.startPre[k]
    case .startPost(let k): command = service.startPost[k]
    case .stop(let k): command = service.stop[k]
    case .stopPost(let k): command = service.stopPost[k]
    case .health: command = service.health!.command
    case .finish:
      // s6's arguments: exit code (256 when killed), signal number, name, process group.
      command = service.finish!
      var code = "256", signal = "0"
      switch supervisor.lastExit(of: i) {
      case .exited(let value)?: code = "\(value)"
      case .signaled(let killer, _)?: signal = "\(killer.rawValue)"
      case nil: break
      }
      command.arguments += [code, signal, service.name, "\(supervisor.lastMainPID(of: i) ?? 0)"]
    }
    // Directories and credentials, before the first process of a start (systemd's order).
    if ServiceSetup.beginsStart(service, role: ref.role) {
      let identity = identities[service.name]
      let steps = ServiceSetup.beforeStart(
        service, uid: identity?.uid ?? ThisProcess.effectiveUID, gid: identity?.gid ?? ThisProcess.effectiveGID, root: root)
      if let reason = ServiceSetupStep.run(steps) {
        return .spawnFailed(ref, reason: reason, exitCode: ExitCode.cannotExecute)
      }
    }
    var environment: [String]
    switch serviceEnvironment(i, role: ref.role) {
    case .success(let value): environment = value
    case .failure(let failure): return .spawnFailed(ref, reason: failure.reason, exitCode: ExitCode.cannotExecute)
    }
    var arguments = command.arguments
    var program = command.program
    if service.expandsVariables {
      arguments = Environment.expand(arguments, in: environment)
      if program.contains("$") { program = Environment.expand([program], in: environment).first ?? "" }
    }
    if ref.role == .main && service.type == .notify { environment.append("NOTIFY_SOCKET=" + notifyPath) }

    var request = SpawnRequest(program: program, arguments: CStringArray(arguments), environment: CStringArray(environment))
    request.grouping = .newSession
    request.descriptors = [(from: devNull, to: 0)]
    do {
      let streams = try output.descriptors(for: ref.role == .health ? InitProgram.healthOutput(of: service) : service, loop: &loop)
      request.descriptors += [(from: streams.standardOutput, to: 1), (from: streams.standardError, to: 2)]
    } catch {
      return .forkFailed(ref, reason: "unable to create its output pipes: \(error.description)")
    }
    reportOutputNotices()
    if ref.role == .main || ref.role == .finish {
      if let consumer = service.outputConsumer, let pipe = pipeline(to: consumer) {
        request.descriptors[1] = (from: pipe.write, to: 1)
      }
      if ref.role == .main, let pipe = pipelines[service.name] { request.descriptors[0] = (from: pipe.read, to: 0) }
    }
    let identity = identities[service.name]
    if let identity {
      request.credentials = Credentials(uid: identity.uid, gid: identity.gid, supplementaryGroups: identity.groups)
    }
    request.limits = service.limits
    if let bounding = service.capabilityBoundingSet {
      request.dropBoundingSet = true
      request.capabilities = CapabilitySet(bits: bounding)
    }
    if service.ambientCapabilities != 0 {
      request.capabilities = CapabilitySet(bits: service.capabilityBoundingSet ?? service.ambientCapabilities)
      request.ambientCapabilities = CapabilitySet(bits: service.ambientCapabilities)
    }
    // The inheritable set is empty unless AmbientCapabilities= needs it (docs/service-files.md).
    request.clearInheritable = true
    request.noNewPrivileges = service.noNewPrivileges
    request.umask = service.umask
    if let directory = service.workingDirectory { request.workingDirectory = directory == "~" ? (identity?.home ?? "/root") : directory }

    var readinessWriteEnd: FileDescriptor?
    if ref.role == .main, let fd = service.notificationFD {
      do {
        let pipe = try FileSystem.pipe()
        request.descriptors.append((from: pipe.write, to: fd))
        readinessWriteEnd = pipe.write
        closeReadinessPipe(service.name)
        let token = readinessTokens[service.name] ?? InitProgram.readinessTokenBase + UInt64(readinessTokens.count)
        readinessTokens[service.name] = token
        readinessPipes[service.name] = (pipe.read, token)
        try loop.watch(pipe.read, token: token, events: EventLoop.readable)
      } catch {
        return .forkFailed(ref, reason: "unable to create its notification pipe: \(error.description)")
      }
    }
    defer { readinessWriteEnd?.close() }
    do {
      return .spawned(ref, pid: try Spawner.spawn(request))
    } catch {
      // No process at all (EAGAIN from a pids limit, ENOMEM): a shortage, not the service's fault.
      if error.step == .clone { return .forkFailed(ref, reason: error.description) }
      return .spawnFailed(ref, reason: error.description, exitCode: error.exitCode)
    }
  }

  /// ibex's environment, then `Environment=`, then the `EnvironmentFile=`s, then what ibex
  /// sets: HOME, USER and LOGNAME for a `User=`, MAINPID for stop commands.
  private func serviceEnvironment(_ i: Int, role: ProcessRef.Role) -> Result<[String], SpawnFailure> {
    let service = supervisor.graph.services[i]
    let inherited = service.inheritsEnvironment ? baseEnvironment : ["PATH=" + searchPath]
    var environment = Environment.merge(inherited, service.environment)
    for file in service.environmentFiles {
      let text: String
      do {
        text = try FileSystem.readText(file.path)
      } catch {
        if file.optional && error == .noSuchFileOrDirectory { continue }
        return .failure(SpawnFailure("unable to read EnvironmentFile=\(file.path): \(error.description)"))
      }
      switch Environment.parseFile(text) {
      case .success(let assignments): environment = Environment.merge(environment, assignments)
      case .failure(let bad): return .failure(SpawnFailure("\(file.path):\(bad.line): \(bad.reason)"))
      }
    }
    if let identity = identities[service.name] {
      environment = Environment.merge(environment, ["HOME=" + identity.home, "USER=" + identity.name, "LOGNAME=" + identity.name])
    }
    environment = Environment.merge(environment, ServiceSetup.environment(service, root: root))
    switch role {
    case .stop, .stopPost:
      if let pid = supervisor.mainPID(of: i) { environment = Environment.merge(environment, ["MAINPID=\(pid)"]) }
    default: break
    }
    return .success(environment)
  }

  private mutating func spawnCommand(_ ref: ProcessRef) -> SupervisorEvent {
    let arguments = argv + commandIndex!
    var request: SpawnRequest
    if let s6 {
      // s6-overlay: S6_CMD_ARG0 in front, and only PATH unless S6_KEEP_ENV (S6-ENV-02/12).
      var words = s6.commandPrefix
      var k = 0
      while let word = arguments[k] {
        words.append(String(cString: word))
        k += 1
      }
      let environment = s6.keepEnvironment ? baseEnvironment : ["PATH=" + searchPath]
      request = SpawnRequest(program: words[0], arguments: CStringArray(words), environment: CStringArray(environment))
    } else {
      request = SpawnRequest(
        program: String(cString: arguments[0]!), arguments: CStringArray(borrowing: arguments),
        environment: CStringArray(baseEnvironment))
    }
    request.limits = [fileLimit]
    request.ignoredSignals = inherited.ignored
    request.signalMask = inherited.mask
    request.grouping = .newGroup
    request.foregroundTerminal = FileDescriptor.standardInput.isTerminal ? .standardInput : nil
    request.closeOtherDescriptors = false
    // s6-overlay: scripts find CMD's pid in /run/s6/cmdpid (S6-PATH-01), written by CMD's
    // process itself so that it is there before CMD runs.
    if s6 != nil { request.pidFile = root + "/run/s6/cmdpid" }
    if let log = commandLog {
      // Captured like a service's output (IBEX_LOG_CMD, or s6's S6_LOGGING=2), as `cmd`.
      var cmd = ServiceDefinition(name: "cmd", location: SourceLocation(file: "CMD", line: 1))
      cmd.log = log
      if let streams = try? output.descriptors(for: cmd, loop: &loop) {
        request.descriptors = [(from: streams.standardOutput, to: 1), (from: streams.standardError, to: 2)]
      }
    }
    do {
      return .spawned(ref, pid: try Spawner.spawn(request))
    } catch {
      return .spawnFailed(ref, reason: error.description, exitCode: error.exitCode)
    }
  }

  /// `RuntimeDirectory=` and credentials go once their service has stopped.
  private func cleanUpIfStopped(_ i: Int) {
    let service = supervisor.graph.services[i]
    guard !service.credentials.isEmpty || service.directories.contains(where: { $0.kind == .runtime }),
      ServiceSetup.hasStopped(supervisor.phase(of: i), remainAfterExit: service.remainAfterExit)
    else { return }
    if let reason = ServiceSetupStep.run(ServiceSetup.afterStop(service, root: root)) { Console.warning("\(service.name): \(reason)") }
  }

  // MARK: - Readiness through a notification fd (s6 style)

  private mutating func readinessData(service name: String) -> Int32? {
    guard let fd = readinessPipes[name]?.fd else { return nil }
    var buffer = [UInt8](repeating: 0, count: 512)
    let read = buffer.withUnsafeMutableBytes { bytes -> Int? in (try? fd.read(into: bytes)) ?? 0 }
    guard let read else { return nil }  // spurious wake-up
    if read > 0 && !buffer[0..<read].contains(UInt8(ascii: "\n")) { return nil }
    // A newline means ready; end of file means the service closed it without being ready.
    closeReadinessPipe(name)
    guard read > 0, let i = supervisor.graph.services.firstIndex(where: { $0.name == name }) else { return nil }
    return deliver(.becameReady(service: i))
  }

  private mutating func closeReadinessPipe(_ name: String) {
    if let (fd, _) = readinessPipes.removeValue(forKey: name) {
      loop.unwatch(fd)
      fd.close()
    }
  }

  // MARK: - The end

  /// As PID 1, kills whatever is left (processes that escaped their service's process group)
  /// and reaps it, so the container ends clean.
  private mutating func finish() {
    for notice in control?.takeNotices() ?? [] { output.emit("warning: " + notice, loop: &loop) }
    output.close(patience: .seconds(1))
    if notifySocket != nil { FileSystem.remove(notifyPath) }
    control?.shutdown(loop: &loop)
    guard Reaper.ownPID == 1 else { return }
    if let s6 {
      // S6-STOP-02 (3)-(5): TERM to what is left, S6_KILL_GRACETIME for it to go (ibex stops
      // waiting as soon as nothing is left), then KILL.
      try? Reaper.send(.terminate, to: -1)
      try? Reaper.send(.continue, to: -1)
      let end = EventLoop.now() + s6.killGraceTime
      while Reaper.reapEnded() && EventLoop.now() < end { ThisProcess.sleep(milliseconds: 10) }
      if s6.syncDisks { FileSystem.sync() }
    }
    try? Reaper.send(.kill, to: -1)
    Reaper.reapAll()
  }

  private mutating func reportOutputNotices() {
    for notice in output.takeNotices() { output.emit("warning: " + notice, loop: &loop) }
    for notice in control?.takeNotices() ?? [] { output.emit("warning: " + notice, loop: &loop) }
  }

  // MARK: - s6-overlay

  /// The pipe into `consumer`'s stdin, created on first use and kept.
  private mutating func pipeline(to consumer: String) -> (read: FileDescriptor, write: FileDescriptor)? {
    if let pipe = pipelines[consumer] { return pipe }
    guard let pipe = try? FileSystem.pipe() else { return nil }
    // The read end is a service's stdin: blocking, as s6's fdholder pipes are.
    try? pipe.read.setBlocking(true)
    pipelines[consumer] = pipe
    return pipe
  }

  /// Signals to PID 1 the s6 way (S6-SIG-01, S6-ENV-14): TERM and USR2 halt, INT reboots,
  /// USR1 and PWR power off, HUP, QUIT and WINCH do nothing; with S6_CMD_RECEIVE_SIGNALS they
  /// go to CMD while it runs. With CMD running, a halt stops CMD first and its code is the
  /// container's (ibex's improvement on S6-EXIT-03).
  private mutating func s6Signal(_ signal: Signal) -> Int32? {
    let commandRuns = supervisor.commandPID != nil
    let forwarded: [Signal] = [.terminate, .quit, .interrupt, .user1, .user2, .power, .windowChange]
    if commandRuns && s6?.commandReceivesSignals == true && forwarded.contains(signal) {
      try? Reaper.send(signal, to: supervisor.commandPID!)
      return nil
    }
    let code: Int32
    switch signal {
    case .terminate, .user2: code = S6Boot.haltExitCode(root: root)
    case .interrupt: code = 129
    case .user1, .power: code = 130
    default: return nil
    }
    if commandRuns { return deliver(.shutdownSignal(signal == .interrupt ? .interrupt : .terminate)) }
    if (s6?.verbosity ?? 2) >= 2 { output.emit("received \(signal.name): stopping all services", loop: &loop) }
    return deliver(.commanded(.shutdown(exitCode: code)))
  }
}

/// Why a process could not be started before it got to the spawner.
struct SpawnFailure: Error {
  var reason: String
  init(_ reason: String) { self.reason = reason }
}
