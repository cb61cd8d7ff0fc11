/// A process the supervisor asks the runtime to start.
public struct ProcessRef: Hashable, Sendable {
  public enum Unit: Hashable, Sendable {
    /// A service, by index in the graph.
    case service(Int)
    /// The main command (CMD) given to `ibex init`.
    case command
  }
  public enum Role: Hashable, Sendable {
    case startPre(Int), main, startPost(Int), stop(Int), stopPost(Int), health
    /// An s6 `finish` program, after the main process ended.
    case finish
  }
  public var unit: Unit
  public var role: Role
  public init(_ unit: Unit, _ role: Role) {
    self.unit = unit
    self.role = role
  }
}

/// What happened: the runtime reports facts, in the past tense.
public enum SupervisorEvent: Sendable {
  /// Start every service (once, at boot).
  case boot
  /// The runtime started the process the supervisor asked for.
  case spawned(ProcessRef, pid: Int32)
  /// The runtime could not start it; `exitCode` is 127 (missing) or 126.
  case spawnFailed(ProcessRef, reason: String, exitCode: Int32)
  /// No process could be created (fork/clone failed: a pids limit, no memory, no fds for its
  /// pipes). Not the service's fault: retried with backoff, outside the start limit.
  case forkFailed(ProcessRef, reason: String)
  /// A child was reaped. Unknown pids are orphans and are ignored.
  case exited(pid: Int32, ProcessExit)
  /// A service signalled readiness through its notification fd.
  case becameReady(service: Int)
  /// A datagram arrived on the notify socket from `pid` (sd_notify).
  case notified(pid: Int32, message: String)
  /// The deadline given in the last `armTimer` has passed.
  case timerFired
  /// TERM or INT reached ibex: forward it to the main command, or shut down.
  case shutdownSignal(Signal)
  /// An operator's request.
  case commanded(Request)

  public enum Request: Sendable {
    case start(service: Int), stop(service: Int), restart(service: Int), shutdown(exitCode: Int32)
  }
}

/// What to do: imperatives for the runtime, in order.
public enum SupervisorAction: Equatable, Sendable {
  case spawn(ProcessRef)
  /// Send `signal` to `pid`, or to its process group.
  case signal(pid: Int32, Signal, processGroup: Bool)
  /// Wake up with `timerFired` at this instant (nil: no deadline).
  case armTimer(Instant?)
  /// A line for ibex's own log.
  case log(String, LogLevel)
  /// Everything has stopped: exit with this code.
  case exit(Int32)
}

/// Why a service stopped for good.
public enum FailureReason: Equatable, Sendable {
  case exited(ProcessExit)
  case couldNotStart(String)
  case startTimeout
  case startLimitHit
  case commandFailed(String, ProcessExit)
  case dependencyFailed(String)
  case unhealthy

  public var description: String {
    switch self {
    case .exited(let exit): return exit.description
    case .couldNotStart(let reason): return reason
    case .startTimeout: return "not ready within its start timeout"
    case .startLimitHit: return "restarted too often (start limit hit)"
    case .commandFailed(let which, let exit): return "\(which) \(exit.description)"
    case .dependencyFailed(let name): return "dependency \(name) failed"
    case .unhealthy: return "unhealthy"
    }
  }
}

/// How much a supervisor message matters (`S6_VERBOSITY`: 0 errors, 1 and warnings, 2 all).
public enum LogLevel: Int, Comparable, Sendable {
  case error = 0, warning = 1, info = 2
  public static func < (a: LogLevel, b: LogLevel) -> Bool { a.rawValue < b.rawValue }
}

/// The public phase of a service, as `ibex status` shows it.
public enum ServicePhase: Equatable, Sendable {
  case inactive, waiting, starting, running, stopping, restarting, done, stopped
  case failed(FailureReason)

  public var name: String {
    switch self {
    case .inactive: return "inactive"
    case .waiting: return "waiting"
    case .starting: return "starting"
    case .running: return "running"
    case .stopping: return "stopping"
    case .restarting: return "restarting"
    case .done: return "done"
    case .stopped: return "stopped"
    case .failed: return "failed"
    }
  }
}

/// Settings of the supervisor as a whole.
public struct SupervisorSettings: Sendable {
  /// The longest a shutdown may take before everything left is killed.
  public var shutdownTimeout: TimeSpan = .seconds(9)
  /// How long the main command waits for services to be up before it starts anyway.
  public var commandWaitTimeout: TimeSpan = .seconds(30)
  /// Whether there is a main command (CMD).
  public var hasCommand = false
  /// What a failure during boot does (s6-overlay's `S6_BEHAVIOUR_IF_STAGE2_FAILS`); nil: the
  /// native rules only (a failure matters for the service's dependents, or if it is essential).
  public var bootFailure: BootFailurePolicy?
  public init() {}
}

/// What happens when a service fails before the boot is over (a oneshot or start command
/// exits non-zero, a service is not ready within its start timeout). A service that dies
/// after it was up is never a boot failure.
public enum BootFailurePolicy: Sendable {
  /// Carry on (s6-overlay's 0).
  case ignore
  /// Carry on with a warning (1).
  case warn
  /// Stop the container: exit code 1, or 2 when the services were not up in time (2).
  case halt
}
/// The supervision of a container: one `ServiceStateMachine` per service, and what spans
/// services: dependencies and start order, the main command (CMD), reload, the boot, and the
/// ordered, bounded shutdown. Pure: events and the current time in, actions out. The runtime
/// owns processes and clocks; this type only decides.
public struct Supervisor: Sendable {
  public private(set) var graph: ServiceGraph
  public let settings: SupervisorSettings
  /// One machine per service of `graph`, in the same order.
  public private(set) var machines: [ServiceStateMachine]
  /// Services a reload removed: they stop, and leave the status once down.
  private var retired: [String] = []
  private var command = CommandRecord()
  private var shutdown: ShutdownState?
  private var armedDeadline: Instant?
  private var actions: [SupervisorAction] = []
  private var booted = false
  /// Operator stops and restarts in progress (`OrderedStop`).
  private var orderedStops: [OrderedStop] = []
  /// For each service an operator stopped, by name: the services that were stopped because
  /// they require it; `ibex start` brings them back with it.
  private var broughtDown: [(stopped: String, dependents: [String])] = []
  /// Every service started at boot is ready or settled (or the main command started).
  private var bootOver = false
  private var exited = false

  struct CommandRecord {
    var pid: Int32?
    var started = false
    var finished = false
    var waitDeadline: Instant?
  }

  struct ShutdownState {
    var exitCode: Int32
    var deadline: Instant
    /// Shut down by a signal while the main command ran: its exit code becomes ibex's.
    var commandDecides = false
  }

  /// The exit code when the shutdown bound passed and something had to be killed, unless the
  /// shutdown already had a non-zero code: 128 + SIGKILL, as a container runtime reports a
  /// container it had to kill.
  public static let killedAtBoundExitCode: Int32 = 137

  public init(graph: ServiceGraph, settings: SupervisorSettings = SupervisorSettings()) {
    self.graph = graph
    self.settings = settings
    self.machines = graph.services.map { ServiceStateMachine($0) }
    for i in machines.indices { machines[i].quietIgnoredFailures = settings.bootFailure == .ignore }
  }

  // MARK: - Queries

  public func phase(of service: Int) -> ServicePhase { machines[service].publicPhase }
  /// The pid of the service's main process, if it runs.
  public func mainPID(of service: Int) -> Int32? { machines[service].mainPID }
  /// The pid (and process group) of the main process that ended last.
  public func lastMainPID(of service: Int) -> Int32? { machines[service].lastMain }
  /// Whether dependents may start: up (or a finished oneshot) and, with a health check, healthy.
  public func isReady(_ service: Int) -> Bool { machines[service].isReady }
  public func restartCount(of service: Int) -> Int { machines[service].restarts }
  /// When the current (or last) main process started.
  public func startedAt(of service: Int) -> Instant? { machines[service].startedAt }
  public func lastExit(of service: Int) -> ProcessExit? { machines[service].lastExit }
  /// The last exit of any run of the service, kept across restarts until the next exit.
  public func mostRecentExit(of service: Int) -> ProcessExit? { machines[service].mostRecentExit }
  public func statusText(of service: Int) -> String? { machines[service].status }
  public func isHealthy(_ service: Int) -> Bool? { machines[service].health.healthy }
  public var commandPID: Int32? { command.pid }
  public var isShuttingDown: Bool { shutdown != nil }

  /// Which process of which service (or CMD) `pid` is, if it is one.
  public func owner(of pid: Int32) -> ProcessRef? {
    if command.pid == pid { return ProcessRef(.command, .main) }
    for i in machines.indices {
      if let role = machines[i].role(of: pid) { return ProcessRef(.service(i), role) }
    }
    return nil
  }

  /// Whether service `i` shows in status: everything but removed services that are down.
  public func isListed(_ i: Int) -> Bool { !retired.contains(graph.services[i].name) || !machines[i].isDown }

  // MARK: - Events

  /// Handles one event and returns what the runtime must do, in order.
  public mutating func handle(_ event: SupervisorEvent, now: Instant) -> [SupervisorAction] {
    actions = []
    if exited { return [] }
    switch event {
    case .boot:
      boot(now)
    case .spawned(let ref, let pid):
      switch ref.unit {
      case .service(let i): send(.spawned(ref.role, pid: pid), to: i, now: now)
      case .command: command.pid = pid
      }
    case .spawnFailed(let ref, let reason, let code):
      switch ref.unit {
      case .service(let i): send(.spawnFailed(ref.role, reason: reason, exitCode: code), to: i, now: now)
      case .command:
        log("main command: \(reason)", .error)
        commandEnded(.exited(code: code), now: now)
      }
    case .forkFailed(let ref, let reason):
      switch ref.unit {
      case .service(let i): send(.forkFailed(ref.role, reason: reason), to: i, now: now)
      case .command:
        log("main command: \(reason)", .error)
        commandEnded(ServiceStateMachine.neverRan, now: now)
      }
    case .exited(let pid, let exit):
      if command.pid == pid {
        commandEnded(exit, now: now)
      } else if let i = machines.indices.first(where: { machines[$0].processes.contains(pid) }) {
        send(.exited(pid: pid, exit), to: i, now: now)
      }
    case .becameReady(let service):
      send(.ready, to: service, now: now)
    case .notified(let pid, let message):
      if let i = machines.indices.first(where: { machines[$0].mainPID == pid }) { send(.notified(message), to: i, now: now) }
    case .timerFired:
      timerFired(now)
    case .shutdownSignal(let signal):
      shutdownSignal(signal, now: now)
    case .commanded(let request):
      commanded(request, now: now)
    }
    return finishStep(now)
  }

  /// Moves everything as far as it can go and reports the new deadline.
  private mutating func finishStep(_ now: Instant) -> [SupervisorAction] {
    advance(now)
    let deadline = nextDeadline()
    if deadline != armedDeadline && !exited {
      armedDeadline = deadline
      actions.append(.armTimer(deadline))
    }
    return actions
  }

  /// Gives service `i`'s machine one event and carries out what it asks, including what it
  /// means for other services (a failure, a stop, a failed start during boot).
  @inline(never)
  private mutating func send(_ event: ServiceStateMachine.Event, to i: Int, now: Instant) {
    machines[i].startFailureEndsContainer =
      !bootOver && shutdown == nil && !machines[i].failedBoot && settings.bootFailure == .halt
    for action in machines[i].handle(event, now: now) {
      switch action {
      case .spawn(let role): actions.append(.spawn(ProcessRef(.service(i), role)))
      case .signal(let pid, let signal, let group): actions.append(.signal(pid: pid, signal, processGroup: group))
      case .log(let line, let level): log(line, level)
      case .failed: serviceFailed(i, now: now)
      case .stopped: stopDependents(of: i, failed: false, now: now)
      case .startFailed: bootFailure(i, now: now)
      }
    }
  }

  /// What a reload changed, by service name.
  public struct ReloadSummary: Equatable, Sendable {
    public var added: [String] = []
    public var changed: [String] = []
    public var removed: [String] = []
    public init(added: [String] = [], changed: [String] = [], removed: [String] = []) {
      self.added = added
      self.changed = changed
      self.removed = removed
    }
  }

  /// Replaces the configuration (`ibex reload`). Unchanged services are not touched; changed
  /// ones are restarted with their new definition (a failed one gets a new chance); new ones
  /// start once their dependencies allow; removed ones are stopped and leave once down. An
  /// invalid set (unknown dependency, cycle) throws and changes nothing.
  public mutating func reload(_ definitions: [ServiceDefinition], now: Instant) throws(ConfigError)
    -> (ReloadSummary, [SupervisorAction])
  {
    actions = []
    var summary = ReloadSummary()
    let newNames = definitions.map { $0.name }
    // Removed services that still have processes stay, without dependencies, until down.
    var leaving: [ServiceDefinition] = []
    for (i, service) in graph.services.enumerated() where !newNames.contains(service.name) {
      if !retired.contains(service.name) { summary.removed.append(service.name) }
      if !machines[i].isDown {
        var kept = service
        kept.dependencies = []
        leaving.append(kept)
      }
    }
    let newGraph = try ServiceGraph(definitions + leaving)
    var newMachines: [ServiceStateMachine] = []
    var changed: [Int] = []
    for (k, service) in newGraph.services.enumerated() {
      if let old = graph.services.firstIndex(where: { $0.name == service.name }) {
        var machine = machines[old]
        if graph.services[old] != service && newNames.contains(service.name) {
          summary.changed.append(service.name)
          changed.append(k)
        } else {
          machine.replaceDefinition(service)
        }
        newMachines.append(machine)
      } else {
        var machine = ServiceStateMachine(service)
        machine.quietIgnoredFailures = settings.bootFailure == .ignore
        machine.shuttingDown = shutdown != nil
        if booted && shutdown == nil && service.autostart { _ = machine.handle(.wanted, now: now) }
        newMachines.append(machine)
        summary.added.append(service.name)
      }
    }
    graph = newGraph
    machines = newMachines
    orderedStops = []  // by index: the members moved (what was told to stop goes on stopping)
    retired = leaving.map { $0.name }
    for i in changed {
      machines[i].replaceDefinition(graph.services[i])
      send(.reconfigured(startAgain: booted && shutdown == nil), to: i, now: now)
    }
    for name in retired {
      send(.stopRequested, to: graph.services.firstIndex { $0.name == name }!, now: now)
    }
    return (summary, finishStep(now))
  }

  private mutating func log(_ line: String, _ level: LogLevel = .info) { actions.append(.log(line, level)) }

  private mutating func boot(_ now: Instant) {
    guard !booted else { return }
    booted = true
    for i in graph.startOrder where graph.services[i].autostart { send(.wanted, to: i, now: now) }
    if settings.hasCommand { command.waitDeadline = now + settings.commandWaitTimeout }
  }

  // MARK: - What one service means for others

  /// Service `i` entered `failed`: the boot policy, an essential service's shutdown, and the
  /// services that require it.
  private mutating func serviceFailed(_ i: Int, now: Instant) {
    let service = graph.services[i]
    bootFailure(i, now: now)
    if service.essential && shutdown == nil {
      let code = service.essentialExitCode ?? machines[i].lastExit.map { exitCodeOf($0) } ?? 1
      log("\(service.name) is essential: stopping the container with exit code \(code)", .error)
      beginShutdown(exitCode: code, now: now)
    }
    stopDependents(of: i, failed: true, now: now)
  }

  /// A service could not start while the container boots: the boot failure policy decides.
  private mutating func bootFailure(_ i: Int, now: Instant) {
    guard !bootOver && shutdown == nil && !machines[i].failedBoot else { return }
    machines[i].failedBoot = true
    switch settings.bootFailure {
    case nil, .ignore?: break
    case .warn?: log("\(graph.services[i].name) failed during boot; carrying on", .warning)
    case .halt?:
      log("\(graph.services[i].name) failed during boot: stopping the container with exit code 1", .error)
      beginShutdown(exitCode: 1, now: now)
    }
  }

  private func exitCodeOf(_ exit: ProcessExit) -> Int32 {
    let code = exit.shellExitCode
    return code == 0 ? 1 : code
  }

  /// Service `i` stopped or failed for good: what Requires= it stops (or fails, if it failed).
  private mutating func stopDependents(of i: Int, failed: Bool, now: Instant) {
    guard shutdown == nil else { return }
    let name = graph.services[i].name
    for j in machines.indices where graph.requires[j].contains(i) {
      send(failed ? .dependencyFailed(name) : .dependencyStopped(name), to: j, now: now)
    }
  }

  // MARK: - Timers

  private func nextDeadline() -> Instant? {
    var nearest: Instant?
    for i in machines.indices {
      if let instant = machines[i].nextDeadline, nearest == nil || instant < nearest! { nearest = instant }
    }
    for instant in [command.started ? nil : command.waitDeadline, shutdown?.deadline] {
      if let instant, nearest == nil || instant < nearest! { nearest = instant }
    }
    return nearest
  }

  private mutating func timerFired(_ now: Instant) {
    armedDeadline = nil
    if let deadline = shutdown?.deadline, deadline <= now {
      log("shutdown took longer than \(settings.shutdownTimeout.description): killing what is left", .warning)
      killEverything()
      if shutdown!.exitCode == 0 { shutdown!.exitCode = Supervisor.killedAtBoundExitCode }
      finishExit()
      return
    }
    for i in machines.indices { send(.timer, to: i, now: now) }
    if let wait = command.waitDeadline, wait <= now, !command.started, shutdown == nil {
      let late = machines.indices.filter { !machines[$0].isReady && !machines[$0].isSettled && !machines[$0].held }
        .map { graph.services[$0].name }
      var names = ""
      for (k, name) in late.enumerated() { names += (k == 0 ? " (not up: " : ", ") + name }
      if !late.isEmpty { names += ")" }
      if settings.bootFailure == .halt {
        log("services are not all up after \(settings.commandWaitTimeout.description)\(names): stopping the container with exit code 2", .error)
        beginShutdown(exitCode: 2, now: now)
      } else {
        log("services are not all up after \(settings.commandWaitTimeout.description)\(names): starting the main command anyway", .warning)
        startCommand()
      }
    }
  }

  // MARK: - Shutdown and the main command

  private mutating func shutdownSignal(_ signal: Signal, now: Instant) {
    if let pid = command.pid, !command.finished {
      // The main command decides how to react; its exit then shuts everything down.
      actions.append(.signal(pid: pid, signal, processGroup: false))
      if shutdown == nil {
        enterShutdown(ShutdownState(exitCode: 128 + signal.rawValue, deadline: now + settings.shutdownTimeout, commandDecides: true))
      }
      return
    }
    log("received \(signal.name): stopping all services")
    beginShutdown(exitCode: settings.hasCommand ? 128 + signal.rawValue : 0, now: now)
  }

  private mutating func commandEnded(_ exit: ProcessExit, now: Instant) {
    command.pid = nil
    command.finished = true
    let code = exit.shellExitCode
    log("main command \(exit.description): stopping all services")
    if shutdown?.commandDecides == true { shutdown!.exitCode = code }
    beginShutdown(exitCode: code, now: now)
  }

  private mutating func beginShutdown(exitCode: Int32, now: Instant) {
    if shutdown == nil { enterShutdown(ShutdownState(exitCode: exitCode, deadline: now + settings.shutdownTimeout)) }
    if let pid = command.pid, !command.finished {
      actions.append(.signal(pid: pid, .terminate, processGroup: true))
    }
    command.started = true  // never start it now
  }

  private mutating func enterShutdown(_ state: ShutdownState) {
    shutdown = state
    for i in machines.indices { machines[i].shuttingDown = true }
  }

  private mutating func commanded(_ request: SupervisorEvent.Request, now: Instant) {
    switch request {
    case .shutdown(let code): beginShutdown(exitCode: code, now: now)
    case .stop(let i): beginOrderedStop(i, restart: false, now: now)
    case .restart(let i): beginOrderedStop(i, restart: true, now: now)
    case .start(let i):
      send(.startRequested, to: i, now: now)
      let name = graph.services[i].name
      let dependents = broughtDown.filter { $0.stopped == name }.flatMap { $0.dependents }
      broughtDown.removeAll { $0.stopped == name }
      for name in dependents {
        if let j = graph.services.firstIndex(where: { $0.name == name }), machines[j].isDown, !machines[j].held {
          send(.startRequested, to: j, now: now)
        }
      }
    }
  }

  /// An operator's stop or restart of `root`, in systemd's order: what `Requires=` it
  /// (directly or through others) stops first, in reverse start order as at shutdown, then
  /// `root`. A restart then starts them all again; a stop remembers them for `ibex start`.
  struct OrderedStop {
    var root: Int
    var restart: Bool
    /// `root` and what requires it, still up when the stop began.
    var members: [Int]
    /// Members already told to stop.
    var told: [Int] = []
  }

  private mutating func beginOrderedStop(_ root: Int, restart: Bool, now: Instant) {
    var members = [root]
    var k = 0
    while k < members.count {
      for j in machines.indices where graph.requires[j].contains(members[k]) && !members.contains(j) && !machines[j].isDown {
        members.append(j)
      }
      k += 1
    }
    if members.count == 1 {
      send(restart ? .restartRequested : .stopRequested, to: root, now: now)
      return
    }
    orderedStops.append(OrderedStop(root: root, restart: restart, members: members))
    advanceOrderedStops(now)
  }

  /// Tells each member to stop once every member that waits for it is down; once all are,
  /// stops (or restarts) the root.
  private mutating func advanceOrderedStops(_ now: Instant) {
    var k = 0
    while k < orderedStops.count {
      var stop = orderedStops[k]
      let name = graph.services[stop.root].name
      for i in graph.startOrder.reversed() where i != stop.root && stop.members.contains(i) && !stop.told.contains(i) {
        guard graph.waitedOnBy[i].allSatisfy({ !stop.members.contains($0) || machines[$0].isDown }) else { continue }
        stop.told.append(i)
        send(.dependencyStopped(name), to: i, now: now)
      }
      let dependents = stop.members.filter { $0 != stop.root }
      guard dependents.allSatisfy({ machines[$0].isDown }) else {
        orderedStops[k] = stop
        k += 1
        continue
      }
      orderedStops.remove(at: k)
      send(stop.restart ? .restartRequested : .stopRequested, to: stop.root, now: now)
      if stop.restart {
        for j in dependents { send(.startRequested, to: j, now: now) }
      } else {
        broughtDown.append((name, dependents.map { graph.services[$0].name }))
      }
    }
  }

  private mutating func startCommand() {
    bootOver = true
    command.started = true
    actions.append(.spawn(ProcessRef(.command, .main)))
  }

  private mutating func killEverything() {
    if let pid = command.pid { actions.append(.signal(pid: pid, .kill, processGroup: true)) }
    for i in machines.indices {
      for pid in machines[i].processes { actions.append(.signal(pid: pid, .kill, processGroup: true)) }
    }
  }

  private mutating func finishExit() {
    exited = true
    actions.append(.exit(shutdown?.exitCode ?? 0))
  }

  /// Moves every service as far as the current state allows: starts what is waiting and
  /// whose dependencies are ready; during shutdown (also one that a start began just now),
  /// stops what nothing running depends on; starts the main command; exits once everything
  /// has stopped.
  private mutating func advance(_ now: Instant) {
    guard !exited else { return }
    if shutdown != nil { orderedStops = [] }  // the shutdown stops everything in order
    if !orderedStops.isEmpty { advanceOrderedStops(now) }
    var progress = shutdown == nil
    while progress && shutdown == nil {
      progress = false
      for i in graph.startOrder where machines[i].isWaiting && !machines[i].held {
        if shutdown != nil { break }  // an essential service failed to start
        // Requires= and Wants= pull in dependencies that do not start on their own.
        for j in graph.pulls[i] where machines[j].isInactive && !machines[j].held {
          send(.wanted, to: j, now: now)
          progress = true
        }
        let dependencies = graph.waitsFor[i]
        if let failed = dependencies.first(where: { graph.requires[i].contains($0) && machines[$0].isFailed }) {
          send(.dependencyFailed(graph.services[failed].name), to: i, now: now)
          progress = true
          continue
        }
        // Wanted (not required) dependencies that failed or stopped no longer hold it back.
        let blocked = dependencies.contains { j in
          !machines[j].isReady && !machines[j].isStartedEnough && !(machines[j].isSettled && !graph.requires[i].contains(j))
        }
        if !blocked {
          send(.dependenciesReady, to: i, now: now)
          progress = true
        }
      }
    }
    if shutdown != nil {
      advanceShutdown(now)
      return
    }
    if booted && !bootOver && bootSettled() { bootOver = true }
    if settings.hasCommand && !command.started && bootOver { startCommand() }
  }

  /// Whether the boot is over: every service is ready, settled or stopped by an operator, or
  /// failed to start during boot, or waits for one that did (as s6-rc ends a transition).
  private func bootSettled() -> Bool {
    var blocked = Array(repeating: false, count: machines.count)
    for i in graph.startOrder {
      blocked[i] = machines[i].failedBoot || (machines[i].isWaiting && graph.waitsFor[i].contains { blocked[$0] })
      if !(machines[i].isReady || machines[i].isSettled || machines[i].held || blocked[i] || machines[i].isStartedEnough) {
        return false
      }
    }
    return true
  }

  private mutating func advanceShutdown(_ now: Instant) {
    if command.pid != nil && !command.finished { return }  // the main command stops first
    var progress = true
    while progress {
      progress = false
      for i in graph.startOrder.reversed() {
        switch machines[i].phase {
        case .inactive, .stopped, .failed, .done, .stopping:
          continue
        case .waiting, .backoff:
          send(.cancel, to: i, now: now)
          progress = true
        case .startPre, .starting, .startPost, .up:
          // Stop only once everything that waits for this service is down; services that stop
          // last (s6's flag-essential) wait for all others, and hold none of them back.
          let stopsLast = graph.services[i].stopsLast
          let dependentsDown = graph.waitedOnBy[i].allSatisfy { machines[$0].isDown || (!stopsLast && graph.services[$0].stopsLast) }
          let othersDown = !stopsLast || machines.indices.allSatisfy { graph.services[$0].stopsLast || machines[$0].isDown }
          if dependentsDown && othersDown {
            send(.stop(then: .stopped), to: i, now: now)
            progress = true
          }
        }
      }
    }
    if isEverythingDown { finishExit() }
  }

  private var isEverythingDown: Bool {
    for i in machines.indices where !machines[i].isDown { return false }
    return true
  }

  /// `RestartSec=` doubled for every restart in a row, up to `RestartMaxDelaySec=` (no
  /// backoff without a maximum; a maximum below `RestartSec=` never shortens it).
  @inline(never)
  public static func restartDelay(for service: ServiceDefinition, failuresInARow: Int) -> TimeSpan {
    guard let setting = service.restartMaxDelay else { return service.restartDelay }
    let maximum = max(setting, service.restartDelay)
    var delay = service.restartDelay.nanoseconds
    for _ in 0..<min(failuresInARow, 62) {
      if delay >= maximum.nanoseconds / 2 { return maximum }
      delay *= 2
    }
    return TimeSpan(nanoseconds: min(delay, maximum.nanoseconds))
  }

  public func restartDelay(_ service: ServiceDefinition, failuresInARow: Int) -> TimeSpan {
    Supervisor.restartDelay(for: service, failuresInARow: failuresInARow)
  }
}

extension ProcessExit {
  /// Exit code 0.
  public var isSuccess: Bool { self == .exited(code: 0) }
}

extension TimeSpan {
  /// `1.5s`, `250ms`, `2min`: how ibex writes a span in messages.
  public var description: String {
    let ns = nanoseconds
    if ns == 0 { return "0s" }
    if ns % 60_000_000_000 == 0 && ns >= 60_000_000_000 { return "\(ns / 60_000_000_000)min" }
    if ns % 1_000_000_000 == 0 { return "\(ns / 1_000_000_000)s" }
    if ns % 1_000_000 == 0 && ns < 1_000_000_000 { return "\(ns / 1_000_000)ms" }
    if ns >= 1_000_000_000 {
      let tenths = ns / 100_000_000
      return "\(tenths / 10).\(tenths % 10)s"
    }
    return "\(ns / 1000)us"
  }
}
