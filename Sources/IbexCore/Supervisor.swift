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

/// The supervision state machine: services, their dependencies, restarts, readiness, health
/// and ordered shutdown. Pure: events and the current time in, actions out. The runtime owns
/// processes and clocks; this type only decides.
public struct Supervisor: Sendable {
  public private(set) var graph: ServiceGraph
  public let settings: SupervisorSettings
  private var records: [Record]
  /// Services a reload removed: they stop, and leave the status once down.
  private var retired: [String] = []
  private var command = CommandRecord()
  private var shutdown: ShutdownState?
  private var armedDeadline: Instant?
  private var actions: [SupervisorAction] = []
  private var booted = false
  /// Every service started at boot is ready or settled (or the main command started).
  private var bootOver = false
  private var exited = false
  /// Counters for the metrics (Metrics.swift); the runtime adds the control socket's.
  public var counters = SupervisorCounters()

  /// Internal phases: the public one plus where in the start or stop sequence a service is.
  enum Phase: Equatable {
    case inactive, waiting
    case startPre(Int), starting, startPost(Int), up
    case stopCommand(Int), stopSignal(killed: Bool), finish, stopPost(Int)
    case backoff, done, stopped
    case failed(FailureReason)
  }

  /// What a stop sequence ends in.
  enum AfterStop: Equatable {
    case stopped, restart, fail(FailureReason), done
  }

  struct Record {
    var phase = Phase.inactive
    var main: Int32?
    /// The pid of the last main process, after it ended (its process group, for `finish`).
    var lastMain: Int32?
    var helper: Int32?
    var healthPID: Int32?
    var deadline: Instant?
    var afterStop = AfterStop.stopped
    var healthy: Bool?
    var healthFailures = 0
    var nextHealthCheck: Instant?
    var healthDeadline: Instant?
    var startedAt: Instant?
    var recentStarts: [Instant] = []
    var failuresInARow = 0
    var restarts = 0
    var lastExit: ProcessExit?
    var status: String?
    /// Stopped by an operator: not restarted, not started with the others.
    var held = false
    /// Failed to start during boot (it may be restarting): the boot does not wait for it.
    var failedBoot = false
  }

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

  public init(graph: ServiceGraph, settings: SupervisorSettings = SupervisorSettings()) {
    self.graph = graph
    self.settings = settings
    self.records = Array(repeating: Record(), count: graph.services.count)
  }

  // MARK: - Queries

  public func phase(of service: Int) -> ServicePhase {
    switch records[service].phase {
    case .inactive: return .inactive
    case .waiting: return .waiting
    case .startPre, .starting, .startPost: return .starting
    case .up: return .running
    case .stopCommand, .stopSignal, .finish, .stopPost: return .stopping
    case .backoff: return .restarting
    case .done: return .done
    case .stopped: return .stopped
    case .failed(let reason): return .failed(reason)
    }
  }

  /// The pid of the service's main process, if it runs.
  public func mainPID(of service: Int) -> Int32? { records[service].main }
  /// The pid (and process group) of the main process that ended last.
  public func lastMainPID(of service: Int) -> Int32? { records[service].lastMain }
  /// Whether dependents may start: up (or a finished oneshot) and, with a health check, healthy.
  public func isReady(_ service: Int) -> Bool {
    let record = records[service]
    let upOrDone = record.phase == .up || record.phase == .done
    return upOrDone && (graph.services[service].health == nil || record.healthy == true)
  }
  public func restartCount(of service: Int) -> Int { records[service].restarts }
  /// When the current (or last) main process started.
  public func startedAt(of service: Int) -> Instant? { records[service].startedAt }
  public func lastExit(of service: Int) -> ProcessExit? { records[service].lastExit }
  public func statusText(of service: Int) -> String? { records[service].status }
  public func isHealthy(_ service: Int) -> Bool? { records[service].healthy }
  public var commandPID: Int32? { command.pid }
  public var isShuttingDown: Bool { shutdown != nil }

  // MARK: - Events

  /// Handles one event and returns what the runtime must do, in order.
  public mutating func handle(_ event: SupervisorEvent, now: Instant) -> [SupervisorAction] {
    actions = []
    if exited { return [] }
    switch event {
    case .boot:
      boot(now)
    case .spawned(let ref, let pid):
      spawned(ref, pid: pid, now: now)
    case .spawnFailed(let ref, let reason, let code):
      log("\(name(of: ref.unit)): \(reason)", .error)
      processEnded(ref, exit: .exited(code: code), failure: .couldNotStart(reason), now: now)
    case .exited(let pid, let exit):
      counters.childrenReaped += 1
      if let ref = owner(of: pid) { processEnded(ref, exit: exit, failure: nil, now: now) }
    case .becameReady(let service):
      becameReady(service, now: now)
    case .notified(let pid, let message):
      notified(pid: pid, message: message, now: now)
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
    if bootOver && counters.bootCompletedAt == nil { counters.bootCompletedAt = now }
    let deadline = nextDeadline()
    if deadline != armedDeadline && !exited {
      armedDeadline = deadline
      actions.append(.armTimer(deadline))
    }
    return actions
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
      if !isStopped(i) {
        var kept = service
        kept.dependencies = []
        leaving.append(kept)
      }
    }
    let newGraph = try ServiceGraph(definitions + leaving)
    var newRecords: [Record] = []
    for service in newGraph.services {
      if let old = graph.services.firstIndex(where: { $0.name == service.name }) {
        newRecords.append(records[old])
        if graph.services[old] != service && newNames.contains(service.name) { summary.changed.append(service.name) }
      } else {
        var record = Record()
        if booted && shutdown == nil && service.autostart { record.phase = .waiting }
        newRecords.append(record)
        summary.added.append(service.name)
      }
    }
    graph = newGraph
    records = newRecords
    retired = leaving.map { $0.name }
    for name in summary.changed {
      let i = graph.services.firstIndex { $0.name == name }!
      log("\(name): configuration changed")
      records[i].recentStarts = []
      records[i].failuresInARow = 0
      switch records[i].phase {
      case .failed, .done, .stopped, .inactive:
        if !records[i].held && booted && shutdown == nil { records[i].phase = .waiting }
      case .waiting, .backoff:
        break
      default:
        stopSequence(i, then: .restart, now: now)
      }
    }
    for name in retired {
      let i = graph.services.firstIndex { $0.name == name }!
      records[i].held = true
      stopSequence(i, then: .stopped, now: now)
    }
    return (summary, finishStep(now))
  }

  /// Whether service `i` shows in status: everything but removed services that are down.
  public func isListed(_ i: Int) -> Bool { !retired.contains(graph.services[i].name) || !isStopped(i) }

  private mutating func log(_ line: String, _ level: LogLevel = .info) { actions.append(.log(line, level)) }

  private func name(of unit: ProcessRef.Unit) -> String {
    switch unit {
    case .service(let i): return graph.services[i].name
    case .command: return "main command"
    }
  }

  /// Which process of which service (or CMD) `pid` is, if it is one.
  public func owner(of pid: Int32) -> ProcessRef? {
    if command.pid == pid { return ProcessRef(.command, .main) }
    for (i, record) in records.enumerated() {
      if record.main == pid { return ProcessRef(.service(i), .main) }
      if record.healthPID == pid { return ProcessRef(.service(i), .health) }
      if record.helper == pid {
        switch record.phase {
        case .startPre(let k): return ProcessRef(.service(i), .startPre(k))
        case .startPost(let k): return ProcessRef(.service(i), .startPost(k))
        case .stopCommand(let k): return ProcessRef(.service(i), .stop(k))
        case .stopPost(let k): return ProcessRef(.service(i), .stopPost(k))
        case .finish: return ProcessRef(.service(i), .finish)
        default: return nil
        }
      }
    }
    return nil
  }

  private mutating func boot(_ now: Instant) {
    guard !booted else { return }
    booted = true
    counters.bootStartedAt = now
    for i in graph.startOrder where records[i].phase == .inactive && graph.services[i].autostart {
      records[i].phase = .waiting
    }
    if settings.hasCommand { command.waitDeadline = now + settings.commandWaitTimeout }
  }

  private mutating func spawned(_ ref: ProcessRef, pid: Int32, now: Instant) {
    guard case .service(let i) = ref.unit else {
      command.pid = pid
      return
    }
    switch ref.role {
    case .main:
      records[i].main = pid
      records[i].startedAt = now
      if graph.services[i].type == .simple && graph.services[i].notificationFD == nil { becameReady(i, now: now) }
    case .health:
      records[i].healthPID = pid
    default:
      records[i].helper = pid
    }
  }

  // MARK: - Starting

  /// Starts the sequence of service `i`: the start limit, ExecStartPre=, then the main process.
  private mutating func startSequence(_ i: Int, now: Instant) {
    let service = graph.services[i]
    var record = records[i]
    record.recentStarts = record.recentStarts.filter { now - $0 < service.startLimitInterval }
    if service.startLimitBurst > 0 && record.recentStarts.count >= service.startLimitBurst {
      records[i] = record
      fail(i, .startLimitHit, now: now)
      return
    }
    record.recentStarts.append(now)
    record.lastExit = nil
    record.status = nil
    record.healthy = nil
    record.healthFailures = 0
    record.afterStop = .stopped
    record.deadline = service.startTimeout.map { now + $0 }
    records[i] = record
    if service.startPre.isEmpty {
      startMain(i, now: now)
    } else {
      records[i].phase = .startPre(0)
      actions.append(.spawn(ProcessRef(.service(i), .startPre(0))))
    }
  }

  private mutating func startMain(_ i: Int, now: Instant) {
    records[i].phase = .starting
    if graph.services[i].start.isEmpty {
      becameReady(i, now: now)  // a oneshot of start (or stop) commands only
    } else {
      actions.append(.spawn(ProcessRef(.service(i), .main)))
    }
  }

  /// The main process is ready (started, READY=1, a line on the notification fd, or a
  /// oneshot that exited 0): run ExecStartPost=, then the service is up.
  private mutating func becameReady(_ i: Int, now: Instant) {
    guard records[i].phase == .starting else { return }
    if graph.services[i].startPost.isEmpty {
      enterUp(i, now: now)
    } else {
      records[i].phase = .startPost(0)
      actions.append(.spawn(ProcessRef(.service(i), .startPost(0))))
    }
  }

  private mutating func enterUp(_ i: Int, now: Instant) {
    let service = graph.services[i]
    records[i].deadline = nil
    if service.type == .oneshot && !service.remainAfterExit && records[i].main == nil {
      records[i].phase = .done
      records[i].failuresInARow = 0
      log("\(service.name): done")
      return
    }
    records[i].phase = .up
    // The first health check runs at once: dependents wait for its success.
    if service.health != nil { records[i].nextHealthCheck = now }
    log("\(service.name): \(service.type == .oneshot ? "done" : "running")" + (records[i].main.map { " (pid \($0))" } ?? ""))
  }

  private mutating func notified(pid: Int32, message: String, now: Instant) {
    guard let i = records.firstIndex(where: { $0.main == pid }) else { return }
    for line in message.split(separator: "\n") {
      if line == "READY=1" && graph.services[i].type == .notify {
        becameReady(i, now: now)
      } else if line.hasPrefix("STATUS=") {
        records[i].status = String(line.dropFirst(7))
      } else if line == "STOPPING=1" {
        log("\(graph.services[i].name): stopping on its own")
      }
    }
  }

  // MARK: - Process ends

  private mutating func processEnded(_ ref: ProcessRef, exit: ProcessExit, failure: FailureReason?, now: Instant) {
    guard case .service(let i) = ref.unit else {
      commandEnded(exit, now: now)
      return
    }
    let service = graph.services[i]
    switch ref.role {
    case .health:
      records[i].healthPID = nil
      records[i].healthDeadline = nil
      healthResult(i, passed: exit == .exited(code: 0), now: now)
    case .startPre(let k):
      records[i].helper = nil
      if !exit.isSuccess && !service.startPre[k].ignoresFailure {
        records[i].lastExit = exit
        finishAfterFailure(i, failure ?? .commandFailed(service.startPre[k].program, exit), exit: exit, now: now)
        return
      }
      if !exit.isSuccess {
        // s6-overlay's S6_BEHAVIOUR_IF_STAGE2_FAILS=0 carries on silently: information only.
        let level: LogLevel = settings.bootFailure == .ignore ? .info : .warning
        log("\(service.name): \(service.startPre[k].program) \(exit.description) (failure ignored)", level)
      }
      if k + 1 < service.startPre.count {
        records[i].phase = .startPre(k + 1)
        actions.append(.spawn(ProcessRef(.service(i), .startPre(k + 1))))
      } else {
        startMain(i, now: now)
      }
    case .startPost(let k):
      records[i].helper = nil
      guard records[i].phase == .startPost(k) else { return }
      if !exit.isSuccess && !service.startPost[k].ignoresFailure {
        records[i].lastExit = exit
        stopSequence(i, then: afterFailure(i, failure ?? .commandFailed("ExecStartPost", exit), exit: exit, now: now), now: now)
      } else if k + 1 < service.startPost.count {
        records[i].phase = .startPost(k + 1)
        actions.append(.spawn(ProcessRef(.service(i), .startPost(k + 1))))
      } else {
        enterUp(i, now: now)
      }
    case .main:
      let pid = records[i].main
      records[i].main = nil
      records[i].lastMain = pid
      records[i].lastExit = exit
      mainEnded(i, exit: exit, failure: failure, pidOfEnded: pid, now: now)
    case .stop(let k):
      records[i].helper = nil
      if k + 1 < service.stop.count {
        records[i].phase = .stopCommand(k + 1)
        actions.append(.spawn(ProcessRef(.service(i), .stop(k + 1))))
      } else {
        signalStop(i, now: now)
      }
    case .finish:
      records[i].helper = nil
      guard records[i].phase == .finish else { return }
      if exit == .exited(code: 125) && records[i].afterStop == .restart {
        log("\(service.name): finish exited 125: not restarting")
        records[i].afterStop = .stopped
      }
      stopPostCommands(i, now: now)
    case .stopPost(let k):
      records[i].helper = nil
      if k + 1 < service.stopPost.count {
        records[i].phase = .stopPost(k + 1)
        actions.append(.spawn(ProcessRef(.service(i), .stopPost(k + 1))))
      } else {
        finishStop(i, now: now)
      }
    }
  }

  private mutating func mainEnded(_ i: Int, exit: ProcessExit, failure: FailureReason?, pidOfEnded: Int32?, now: Instant) {
    let service = graph.services[i]
    switch records[i].phase {
    case .starting where service.type == .oneshot:
      if exit.isSuccess {
        becameReady(i, now: now)
      } else {
        finishAfterFailure(i, failure ?? .exited(exit), exit: exit, now: now)
      }
    case .starting, .startPost, .up:
      log("\(service.name): \(failure?.description ?? exit.description)", .warning)
      // What the main process left in its process group goes with it. Its pid is still a
      // valid group id here: nothing new has been spawned since it was reaped.
      if let pid = pidOfEnded, service.killsLeftovers { actions.append(.signal(pid: pid, .kill, processGroup: true)) }
      if let helper = records[i].helper { actions.append(.signal(pid: helper, .kill, processGroup: true)) }
      if let health = records[i].healthPID { actions.append(.signal(pid: health, .kill, processGroup: true)) }
      let after: AfterStop
      if service.type == .oneshot && exit.isSuccess {
        after = .done
      } else if service.restart.restarts(after: exit, killSignal: service.killSignal) && shutdown == nil {
        after = .restart
      } else if exit.isClean(killSignal: service.killSignal) && failure == nil {
        after = .stopped
      } else {
        after = .fail(failure ?? .exited(exit))
      }
      records[i].afterStop = after
      stopPostSequence(i, now: now)
    case .stopCommand:
      break  // the stop command is still running; it ends the sequence
    case .stopSignal:
      if let pid = pidOfEnded, service.killsLeftovers { actions.append(.signal(pid: pid, .kill, processGroup: true)) }
      stopPostSequence(i, now: now)
    default:
      break
    }
  }

  /// A start step failed: restart if the policy says so, else fail.
  private mutating func finishAfterFailure(_ i: Int, _ reason: FailureReason, exit: ProcessExit, now: Instant) {
    records[i].afterStop = afterFailure(i, reason, exit: exit, now: now)
    log("\(graph.services[i].name): \(reason.description)", .error)
    stopPostSequence(i, now: now)
  }

  private func afterFailure(_ i: Int, _ reason: FailureReason, exit: ProcessExit, now: Instant) -> AfterStop {
    let service = graph.services[i]
    if shutdown == nil && service.restart.restarts(after: exit, killSignal: service.killSignal) { return .restart }
    return .fail(reason)
  }

  // MARK: - Stopping

  /// Stops service `i` (ExecStop=, KillSignal=, SIGKILL after TimeoutStopSec=, ExecStopPost=)
  /// and then does `after`.
  private mutating func stopSequence(_ i: Int, then after: AfterStop, now: Instant) {
    let service = graph.services[i]
    records[i].afterStop = after
    records[i].nextHealthCheck = nil
    if let health = records[i].healthPID { actions.append(.signal(pid: health, .kill, processGroup: true)) }
    switch records[i].phase {
    case .inactive, .waiting, .backoff, .done, .stopped, .failed:
      finishStop(i, now: now)
      return
    case .stopCommand, .stopSignal, .finish, .stopPost:
      return  // already on its way down
    case .startPre, .startPost, .starting, .up:
      break
    }
    if let helper = records[i].helper {
      // An s6 script (a cont-init script during boot) gets TERM; what is left of it is for
      // the final sweep.
      actions.append(.signal(pid: helper, service.killsLeftovers ? .kill : .terminate, processGroup: true))
      records[i].helper = nil
    }
    records[i].deadline = now + service.stopTimeout
    // ExecStop= runs while the main process is alive, or for a oneshot that remained "up".
    if !service.stop.isEmpty && (records[i].main != nil || records[i].phase == .up) {
      records[i].phase = .stopCommand(0)
      actions.append(.spawn(ProcessRef(.service(i), .stop(0))))
    } else if records[i].main != nil {
      signalStop(i, now: now)
    } else {
      stopPostSequence(i, now: now)
    }
  }

  private mutating func signalStop(_ i: Int, now: Instant) {
    let service = graph.services[i]
    guard let main = records[i].main else {
      stopPostSequence(i, now: now)
      return
    }
    records[i].phase = .stopSignal(killed: false)
    records[i].deadline = now + service.stopTimeout
    // The whole process group, as systemd does; an s6 service's process only, as s6-supervise
    // does (what it started in the background is left for the final sweep).
    let group = service.killsLeftovers
    actions.append(.signal(pid: main, service.killSignal, processGroup: group))
    // A stopped process cannot act on TERM until it is continued (as systemd does).
    if service.killSignal != .kill { actions.append(.signal(pid: main, .continue, processGroup: group)) }
  }

  /// After the main process: the s6 `finish` program, if any, then ExecStopPost=.
  private mutating func stopPostSequence(_ i: Int, now: Instant) {
    let service = graph.services[i]
    if service.finish != nil, records[i].lastExit != nil {
      records[i].phase = .finish
      records[i].deadline = now + service.finishTimeout
      actions.append(.spawn(ProcessRef(.service(i), .finish)))
    } else {
      stopPostCommands(i, now: now)
    }
  }

  private mutating func stopPostCommands(_ i: Int, now: Instant) {
    let service = graph.services[i]
    if service.stopPost.isEmpty {
      finishStop(i, now: now)
    } else {
      records[i].phase = .stopPost(0)
      records[i].deadline = now + service.stopTimeout
      actions.append(.spawn(ProcessRef(.service(i), .stopPost(0))))
    }
  }

  private mutating func finishStop(_ i: Int, now: Instant) {
    let service = graph.services[i]
    records[i].deadline = nil
    records[i].nextHealthCheck = nil
    switch records[i].afterStop {
    case .stopped:
      if records[i].phase != .stopped { log("\(service.name): stopped") }
      records[i].phase = .stopped
      stopDependents(of: i, then: .stopped, now: now)
    case .done:
      records[i].phase = .done
      log("\(service.name): done")
    case .fail(let reason):
      fail(i, reason, now: now)
    case .restart:
      let uptime = records[i].startedAt.map { now - $0 } ?? .zero
      let resetAfter = service.restartMaxDelay ?? .seconds(10)
      if uptime >= resetAfter { records[i].failuresInARow = 0 }
      let delay = restartDelay(service, failuresInARow: records[i].failuresInARow)
      records[i].failuresInARow += 1
      records[i].restarts += 1
      records[i].phase = .backoff
      records[i].deadline = now + delay
      log("\(service.name): restarting in \(delay.description)")
    }
  }

  /// `RestartSec=` doubled for every restart in a row, up to `RestartMaxDelaySec=` (no
  /// backoff without a maximum).
  public func restartDelay(_ service: ServiceDefinition, failuresInARow: Int) -> TimeSpan {
    guard let maximum = service.restartMaxDelay else { return service.restartDelay }
    var delay = service.restartDelay.nanoseconds
    for _ in 0..<min(failuresInARow, 62) {
      if delay >= maximum.nanoseconds / 2 { return maximum }
      delay *= 2
    }
    return TimeSpan(nanoseconds: min(delay, maximum.nanoseconds))
  }

  private mutating func fail(_ i: Int, _ reason: FailureReason, now: Instant) {
    let service = graph.services[i]
    records[i].phase = .failed(reason)
    records[i].deadline = nil
    log("\(service.name): failed: \(reason.description)", .error)
    bootFailure(i, now: now)
    if service.essential && shutdown == nil {
      let code = service.essentialExitCode ?? records[i].lastExit.map { exitCodeOf($0) } ?? 1
      log("\(service.name) is essential: stopping the container with exit code \(code)", .error)
      beginShutdown(exitCode: code, now: now)
    }
    stopDependents(of: i, then: .fail(.dependencyFailed(service.name)), now: now)
  }

  /// A service could not start while the container boots: the boot failure policy decides.
  private mutating func bootFailure(_ i: Int, now: Instant) {
    guard !bootOver && shutdown == nil && !records[i].failedBoot else { return }
    records[i].failedBoot = true
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

  /// Stops every running service that Requires= service `i` (which has stopped or failed for
  /// good) and then does `after`; one still waiting to start fails, if `i` failed.
  private mutating func stopDependents(of i: Int, then after: AfterStop, now: Instant) {
    guard shutdown == nil else { return }
    for j in 0..<records.count where graph.requires[j].contains(i) {
      switch records[j].phase {
      case .inactive, .stopped, .failed, .done:
        continue
      case .waiting, .backoff:
        if case .fail(let reason) = after { fail(j, reason, now: now) }
      default:
        log("\(graph.services[j].name): stopping, because it requires \(graph.services[i].name)")
        stopSequence(j, then: after, now: now)
      }
    }
  }

  // MARK: - Health

  private mutating func healthResult(_ i: Int, passed: Bool, now: Instant) {
    guard let health = graph.services[i].health, records[i].phase == .up else { return }
    records[i].nextHealthCheck = now + health.interval
    if passed {
      if records[i].healthy != true { log("\(graph.services[i].name): healthy") }
      records[i].healthy = true
      records[i].healthFailures = 0
      return
    }
    // As in Docker: failures in the start period do not count until a check has passed once.
    let inStartPeriod = records[i].startedAt.map { now - $0 < health.startPeriod } ?? false
    if inStartPeriod && records[i].healthy != true { return }
    records[i].healthFailures += 1
    if records[i].healthFailures >= health.retries {
      records[i].healthy = false
      log("\(graph.services[i].name): unhealthy after \(records[i].healthFailures) failed checks: restarting", .warning)
      records[i].lastExit = nil
      stopSequence(i, then: shutdown == nil ? .restart : .stopped, now: now)
    }
  }

  // MARK: - Timers

  private func nextDeadline() -> Instant? {
    var nearest: Instant?
    func consider(_ instant: Instant?) {
      if let instant, nearest == nil || instant < nearest! { nearest = instant }
    }
    for record in records {
      consider(record.deadline)
      consider(record.nextHealthCheck)
      consider(record.healthDeadline)
    }
    if !command.started { consider(command.waitDeadline) }
    consider(shutdown?.deadline)
    return nearest
  }

  private mutating func timerFired(_ now: Instant) {
    armedDeadline = nil
    if let deadline = shutdown?.deadline, deadline <= now {
      log("shutdown took longer than \(settings.shutdownTimeout.description): killing what is left", .warning)
      killEverything()
      finishExit()
      return
    }
    for i in 0..<records.count {
      let service = graph.services[i]
      if let deadline = records[i].healthDeadline, deadline <= now, let pid = records[i].healthPID {
        records[i].healthDeadline = nil
        actions.append(.signal(pid: pid, .kill, processGroup: true))
      }
      if let next = records[i].nextHealthCheck, next <= now, records[i].healthPID == nil, records[i].phase == .up,
        let health = service.health
      {
        records[i].nextHealthCheck = nil
        records[i].healthDeadline = now + health.timeout
        actions.append(.spawn(ProcessRef(.service(i), .health)))
      }
      guard let deadline = records[i].deadline, deadline <= now else { continue }
      records[i].deadline = nil
      switch records[i].phase {
      case .startPre, .starting, .startPost:
        log("\(service.name): not ready within \(service.startTimeout?.description ?? "its start timeout")", .warning)
        bootFailure(i, now: now)
        let exit = ProcessExit.signaled(.kill, coreDumped: false)
        stopSequence(i, then: afterFailure(i, .startTimeout, exit: exit, now: now), now: now)
      case .stopCommand:
        if let helper = records[i].helper { actions.append(.signal(pid: helper, .kill, processGroup: true)) }
        records[i].helper = nil
        signalStop(i, now: now)
      case .stopSignal(killed: false):
        if let main = records[i].main {
          log("\(service.name): still running \(service.stopTimeout.description) after \(service.killSignal.name): sending SIGKILL", .warning)
          actions.append(.signal(pid: main, .kill, processGroup: service.killsLeftovers))
        }
        records[i].phase = .stopSignal(killed: true)
      case .finish:
        if let helper = records[i].helper { actions.append(.signal(pid: helper, .kill, processGroup: true)) }
        records[i].helper = nil
        log("\(service.name): finish still running after \(service.finishTimeout.description): killed", .warning)
        stopPostCommands(i, now: now)
      case .stopPost:
        if let helper = records[i].helper { actions.append(.signal(pid: helper, .kill, processGroup: true)) }
        records[i].helper = nil
        finishStop(i, now: now)
      case .backoff:
        if shutdown == nil { records[i].phase = .waiting }
      default:
        break
      }
    }
    if let wait = command.waitDeadline, wait <= now, !command.started, shutdown == nil {
      let late = records.indices.filter { !isReady($0) && !isSettled($0) && !records[$0].held }.map { graph.services[$0].name }
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
        shutdown = ShutdownState(
          exitCode: 128 + signal.rawValue, deadline: now + settings.shutdownTimeout, commandDecides: true)
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
    if shutdown == nil { shutdown = ShutdownState(exitCode: exitCode, deadline: now + settings.shutdownTimeout) }
    if let pid = command.pid, !command.finished {
      actions.append(.signal(pid: pid, .terminate, processGroup: true))
    }
    command.started = true  // never start it now
  }

  private mutating func commanded(_ request: SupervisorEvent.Request, now: Instant) {
    switch request {
    case .shutdown(let code):
      beginShutdown(exitCode: code, now: now)
    case .stop(let i):
      records[i].held = true
      stopSequence(i, then: .stopped, now: now)
    case .start(let i):
      records[i].held = false
      switch records[i].phase {
      case .inactive, .stopped, .failed, .done:
        records[i].recentStarts = []
        records[i].failuresInARow = 0
        records[i].phase = .waiting
      default: break
      }
    case .restart(let i):
      records[i].held = false
      records[i].recentStarts = []
      records[i].failuresInARow = 0
      switch records[i].phase {
      case .inactive, .stopped, .failed, .done, .waiting:
        records[i].phase = .waiting
      case .backoff:
        records[i].phase = .waiting
        records[i].deadline = nil
      default:
        stopSequence(i, then: .restart, now: now)
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
    for record in records {
      for pid in [record.main, record.helper, record.healthPID] {
        if let pid { actions.append(.signal(pid: pid, .kill, processGroup: true)) }
      }
    }
  }

  private mutating func finishExit() {
    exited = true
    actions.append(.exit(shutdown?.exitCode ?? 0))
  }

  /// Moves every service as far as the current state allows: starts what is waiting and
  /// whose dependencies are ready; during shutdown, stops what nothing running depends on;
  /// starts the main command; exits once everything has stopped.
  private mutating func advance(_ now: Instant) {
    guard !exited else { return }
    if shutdown != nil {
      advanceShutdown(now)
      return
    }
    var progress = true
    while progress {
      progress = false
      for i in graph.startOrder where records[i].phase == .waiting && !records[i].held {
        // Requires= and Wants= pull in dependencies that do not start on their own.
        for j in graph.pulls[i] where records[j].phase == .inactive && !records[j].held {
          records[j].phase = .waiting
          progress = true
        }
        let dependencies = graph.waitsFor[i]
        if let failed = dependencies.first(where: { graph.requires[i].contains($0) && isFailed($0) }) {
          fail(i, .dependencyFailed(graph.services[failed].name), now: now)
          progress = true
          continue
        }
        // Wanted (not required) dependencies that failed or stopped no longer hold it back.
        let blocked = dependencies.contains { j in
          !isReady(j) && !isStartedEnough(j) && !(isSettled(j) && !graph.requires[i].contains(j))
        }
        if !blocked {
          startSequence(i, now: now)
          progress = true
        }
      }
    }
    if booted && !bootOver && bootSettled() { bootOver = true }
    if settings.hasCommand && !command.started && bootOver { startCommand() }
  }

  /// Whether the boot is over: every service is ready, settled or stopped by an operator, or
  /// failed to start during boot, or waits for one that did (as s6-rc ends a transition).
  private func bootSettled() -> Bool {
    var blocked = Array(repeating: false, count: records.count)
    for i in graph.startOrder {
      blocked[i] = records[i].failedBoot || (records[i].phase == .waiting && graph.waitsFor[i].contains { blocked[$0] })
      if !(isReady(i) || isSettled(i) || records[i].held || blocked[i] || isStartedEnough(i)) { return false }
    }
    return true
  }

  /// Started, and its dependents do not wait for more (`dependentsWaitForReady` off).
  private func isStartedEnough(_ i: Int) -> Bool {
    !graph.services[i].dependentsWaitForReady && records[i].main != nil && records[i].phase == .starting
  }

  private func isFailed(_ i: Int) -> Bool {
    if case .failed = records[i].phase { return true }
    return false
  }

  /// Will not change on its own: failed, stopped, or a finished oneshot.
  private func isSettled(_ i: Int) -> Bool {
    switch records[i].phase {
    case .failed, .stopped, .done, .inactive: return true
    default: return false
    }
  }

  private mutating func advanceShutdown(_ now: Instant) {
    if command.pid != nil && !command.finished { return }  // the main command stops first
    var progress = true
    while progress {
      progress = false
      for i in graph.startOrder.reversed() {
        switch records[i].phase {
        case .inactive, .stopped, .failed, .done, .stopCommand, .stopSignal, .finish, .stopPost:
          continue
        case .waiting, .backoff:
          records[i].phase = .stopped
          records[i].deadline = nil
          progress = true
        case .startPre, .starting, .startPost, .up:
          // Stop only once everything that waits for this service is down; services that stop
          // last (s6's flag-essential) wait for all others, and hold none of them back.
          let stopsLast = graph.services[i].stopsLast
          let dependentsDown = graph.waitedOnBy[i].allSatisfy { isStopped($0) || (!stopsLast && graph.services[$0].stopsLast) }
          let othersDown = !stopsLast || records.indices.allSatisfy { graph.services[$0].stopsLast || isStopped($0) }
          if dependentsDown && othersDown {
            stopSequence(i, then: .stopped, now: now)
            progress = true
          }
        }
      }
    }
    if records.indices.allSatisfy({ isStopped($0) }) { finishExit() }
  }

  /// No process of the service is left.
  private func isStopped(_ i: Int) -> Bool {
    let record = records[i]
    guard record.main == nil && record.helper == nil && record.healthPID == nil else { return false }
    switch record.phase {
    case .inactive, .stopped, .failed, .done, .waiting, .backoff: return true
    default: return false
    }
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
