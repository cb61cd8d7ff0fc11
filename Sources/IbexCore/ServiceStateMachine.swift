/// One service's life, as a value: a phase that carries its own data (the pids and the deadline
/// that belong to it), and one `handle(_:now:)` that switches over every `(phase, event)` cell
/// with no `default:`, so the compiler lists every cell a new phase or event adds.
///
/// The machine knows only its own service. What spans services (dependencies, the main command,
/// reload, the shutdown order and bound, the boot) belongs to `Supervisor`, which feeds the
/// machine events and reads the cross-service facts back from its actions (`failed`, `stopped`,
/// `startFailed`). docs/state-machine.md is the table of every cell; a test checks the table
/// against this code.
public struct ServiceStateMachine: Sendable {
  /// Where the service is, with what that phase needs.
  public enum Phase: Sendable {
    /// Not wanted (yet).
    case inactive
    /// Wanted; its dependencies are not ready yet.
    case waiting
    /// `ExecStartPre=` `step` runs (`pid` once spawned); `deadline` is the start timeout.
    case startPre(step: Int, pid: Int32?, deadline: Instant?)
    /// The main process runs (`pid` once spawned) and is not ready yet.
    case starting(pid: Int32?, deadline: Instant?)
    /// `ExecStartPost=` `step` runs while the main process (`main`) does.
    case startPost(step: Int, pid: Int32?, main: Int32?, deadline: Instant?)
    /// Ready. `main` is nil for a oneshot that remains after exit.
    case up(main: Int32?)
    /// On the way down: `step` is where, `then` is what comes after the last step.
    case stopping(main: Int32?, step: StopStep, deadline: Instant?, then: AfterStop)
    /// Waiting to start again.
    case backoff(until: Instant)
    /// A oneshot that exited 0.
    case done
    /// For good, until an operator or a reload.
    case stopped
    case failed(FailureReason)
  }

  /// The steps of a stop, in order (each may be skipped).
  public enum StopStep: Sendable {
    /// `ExecStop=` `index` runs (while the main process still does).
    case command(Int, pid: Int32?)
    /// `KillSignal=` (and SIGCONT) went to the main process; `killed`: SIGKILL too.
    case signal(killed: Bool)
    /// The s6 `finish` program runs.
    case finish(pid: Int32?)
    /// `ExecStopPost=` `index` runs.
    case post(Int, pid: Int32?)
  }

  /// What a stop sequence ends in.
  public enum AfterStop: Equatable, Sendable {
    case stopped, restart, fail(FailureReason), done
  }

  /// A fact about this service.
  public enum Event: Sendable {
    /// Started at boot, pulled in by a dependent, or new in a reload: inactive → waiting.
    case wanted
    /// Everything it waits for is ready: begin the start sequence.
    case dependenciesReady
    /// The runtime started the process asked for.
    case spawned(ProcessRef.Role, pid: Int32)
    /// The runtime could not start it (the program is missing, a credential step failed...):
    /// `exitCode` is 127 or 126, as a shell's.
    case spawnFailed(ProcessRef.Role, reason: String, exitCode: Int32)
    /// No process could be created at all (fork/clone failed: EAGAIN from a pids limit, no
    /// memory, no fds for its pipes): not the service's fault. Retried with backoff, outside
    /// the start limit; a health check that cannot be created does not count as failed.
    case forkFailed(ProcessRef.Role, reason: String)
    /// A process of this service was reaped.
    case exited(pid: Int32, ProcessExit)
    /// A newline on the notification fd, or `READY=1` from a notify service.
    case ready
    /// An sd_notify datagram from the main process.
    case notified(String)
    /// The time has come for a deadline of this service (any one: `handle` looks at all).
    case timer
    /// Stop, then do `then` (a dependent's stop, a health failure, a reload, the shutdown).
    case stop(then: AfterStop)
    /// The shutdown reached a service that has no process: it is stopped, silently.
    case cancel
    /// A service it Requires= failed for good / stopped for good.
    case dependencyFailed(String)
    case dependencyStopped(String)
    /// An operator's request (`ibex start/stop/restart`); `stop` also holds it down.
    case startRequested, stopRequested, restartRequested
    /// A reload changed its definition (given first with `replaceDefinition`). `startAgain`:
    /// a settled service gets a new chance.
    case reconfigured(startAgain: Bool)
  }

  /// What to do, in order. The last three are facts for the supervisor.
  public enum Action: Sendable {
    case spawn(ProcessRef.Role)
    case signal(pid: Int32, Signal, processGroup: Bool)
    case log(String, LogLevel)
    /// Entered `failed`: dependents fail, an essential service stops the container.
    case failed(FailureReason)
    /// Entered `stopped` by a stop: dependents that require it stop too.
    case stopped
    /// A start step failed or timed out: the boot failure policy decides.
    case startFailed
  }

  /// The health check's own region: it runs beside the main process while the service is up.
  public struct HealthState: Equatable, Sendable {
    public var pid: Int32?
    /// When the running check is killed.
    public var deadline: Instant?
    /// When the next check starts.
    public var next: Instant?
    public var failures = 0
    /// nil until the first check after a start has a result.
    public var healthy: Bool?
  }

  public private(set) var definition: ServiceDefinition
  public internal(set) var phase = Phase.inactive
  public private(set) var health = HealthState()
  /// Processes spawned for a step the service has already left: killed at once, reaped here.
  public private(set) var strays: [Int32] = []
  /// The pid of the last main process, after it ended (its process group, for `finish`).
  public private(set) var lastMain: Int32?
  /// When the current (or last) main process started.
  public private(set) var startedAt: Instant?
  /// Starts within `StartLimitIntervalSec=` (the start limit's budget).
  public private(set) var recentStarts: [Instant] = []
  public private(set) var failuresInARow = 0
  public private(set) var restarts = 0
  /// How the main process (or a failing start command) of the current run ended; nil until
  /// it has (s6's `finish` runs only then).
  public private(set) var lastExit: ProcessExit?
  /// The last exit of any run, kept until the next one: what `ibex status` shows.
  public var mostRecentExit: ProcessExit? { lastExit ?? exitOfPreviousRun }
  private var exitOfPreviousRun: ProcessExit?
  /// s6-rc's "stopping" line was logged: "successfully stopped" follows once down.
  private var announcedStopping = false
  /// `STATUS=` from sd_notify.
  public private(set) var status: String?
  /// Stopped by an operator: not restarted, not started with the others.
  public private(set) var held = false
  /// Failed to start during boot (it may be restarting): the boot does not wait for it.
  public var failedBoot = false
  /// The container is shutting down: nothing restarts.
  public var shuttingDown = false
  /// A start that fails now stops the container (the boot failure policy `halt`): a start
  /// timeout then fails the service instead of restarting it.
  public var startFailureEndsContainer = false
  /// A failure a `-` prefix ignores is logged as information, not a warning (s6-overlay's
  /// `S6_BEHAVIOUR_IF_STAGE2_FAILS=0`).
  public var quietIgnoredFailures = false

  /// How a command that could not be created counts where an exit status is needed (126, as
  /// a shell reports a command it cannot run).
  static let neverRan = ProcessExit.exited(code: 126)

  public init(_ definition: ServiceDefinition) {
    self.definition = definition
  }

  // MARK: - Queries

  /// The public phase, as `ibex status` shows it.
  public var publicPhase: ServicePhase {
    switch phase {
    case .inactive: return .inactive
    case .waiting: return .waiting
    case .startPre, .starting, .startPost: return .starting
    case .up: return .running
    case .stopping: return .stopping
    case .backoff: return .restarting
    case .done: return .done
    case .stopped: return .stopped
    case .failed(let reason): return .failed(reason)
    }
  }

  /// The main process, while it runs.
  public var mainPID: Int32? {
    switch phase {
    case .starting(let pid, _): return pid
    case .startPost(_, _, let main, _), .up(let main), .stopping(let main, _, _, _): return main
    case .inactive, .waiting, .startPre, .backoff, .done, .stopped, .failed: return nil
    }
  }

  /// The start or stop command that runs, if one does.
  public var helperPID: Int32? {
    switch phase {
    case .startPre(_, let pid, _), .startPost(_, let pid, _, _): return pid
    case .stopping(_, .command(_, let pid), _, _), .stopping(_, .finish(let pid), _, _), .stopping(_, .post(_, let pid), _, _):
      return pid
    case .stopping(_, .signal, _, _), .inactive, .waiting, .starting, .up, .backoff, .done, .stopped, .failed: return nil
    }
  }

  /// The process the current step runs or asked for (the runtime reports a spawn failure for it).
  var stepRole: ProcessRef.Role? {
    switch phase {
    case .startPre(let k, _, _): return .startPre(k)
    case .starting: return definition.start.isEmpty ? nil : .main
    case .startPost(let k, _, _, _): return .startPost(k)
    case .stopping(_, .command(let k, _), _, _): return .stop(k)
    case .stopping(_, .finish, _, _): return .finish
    case .stopping(_, .post(let k, _), _, _): return .stopPost(k)
    case .stopping(_, .signal, _, _), .inactive, .waiting, .up, .backoff, .done, .stopped, .failed: return nil
    }
  }

  /// Which process of the service `pid` is.
  public func role(of pid: Int32) -> ProcessRef.Role? {
    if mainPID == pid { return .main }
    if health.pid == pid { return .health }
    guard helperPID == pid else { return nil }
    switch phase {
    case .startPre(let k, _, _): return .startPre(k)
    case .startPost(let k, _, _, _): return .startPost(k)
    case .stopping(_, .command(let k, _), _, _): return .stop(k)
    case .stopping(_, .finish, _, _): return .finish
    case .stopping(_, .post(let k, _), _, _): return .stopPost(k)
    case .stopping(_, .signal, _, _), .inactive, .waiting, .starting, .up, .backoff, .done, .stopped, .failed: return nil
    }
  }

  /// Every process of the service (main, command, health check, strays).
  public var processes: [Int32] { [mainPID, helperPID, health.pid].compactMap { $0 } + strays }

  /// Whether dependents may start: up (or a finished oneshot) and, with a health check, healthy.
  public var isReady: Bool {
    switch phase {
    case .up, .done: return definition.health == nil || health.healthy == true
    case .inactive, .waiting, .startPre, .starting, .startPost, .stopping, .backoff, .stopped, .failed: return false
    }
  }

  /// Started, and its dependents do not wait for more (`dependentsWaitForReady` off).
  public var isStartedEnough: Bool {
    if case .starting(_?, _) = phase { return !definition.dependentsWaitForReady }
    return false
  }

  /// Will not change on its own: failed, stopped, a finished oneshot, or never wanted.
  public var isSettled: Bool {
    switch phase {
    case .failed, .stopped, .done, .inactive: return true
    case .waiting, .startPre, .starting, .startPost, .up, .stopping, .backoff: return false
    }
  }

  public var isFailed: Bool {
    if case .failed = phase { return true }
    return false
  }

  public var isWaiting: Bool {
    if case .waiting = phase { return true }
    return false
  }

  /// No process of the service is left, and none will start by itself.
  public var isDown: Bool {
    guard health.pid == nil && strays.isEmpty else { return false }
    switch phase {
    case .inactive, .stopped, .failed, .done, .waiting, .backoff: return true
    case .startPre, .starting, .startPost, .up, .stopping: return false
    }
  }

  /// The deadline of the phase itself (a start or stop timeout, the end of a backoff).
  private var phaseDeadline: Instant? {
    switch phase {
    case .startPre(_, _, let deadline), .starting(_, let deadline), .startPost(_, _, _, let deadline),
      .stopping(_, _, let deadline, _):
      return deadline
    case .backoff(let until): return until
    case .inactive, .waiting, .up, .done, .stopped, .failed: return nil
    }
  }

  /// The nearest instant at which `timer` has something to do.
  public var nextDeadline: Instant? {
    var nearest = phaseDeadline
    if case .backoff = phase, shuttingDown { nearest = nil }  // the shutdown stops it instead
    for instant in [health.next, health.deadline] {
      if let instant, nearest.map({ instant < $0 }) ?? true { nearest = instant }
    }
    return nearest
  }

  public var isInactive: Bool {
    if case .inactive = phase { return true }
    return false
  }

  // MARK: - Events

  private var actions: [Action] = []

  /// Handles one event at `now` and returns what to do, in order.
  public mutating func handle(_ event: Event, now: Instant) -> [Action] {
    actions = []
    // The health check and stray processes are their own region: their ends are handled the
    // same way in every phase.
    if case .exited(let pid, let exit) = event {
      if let k = strays.firstIndex(of: pid) {
        strays.remove(at: k)
        return actions
      }
      if pid == health.pid {
        health.pid = nil
        health.deadline = nil
        healthResult(passed: exit.isSuccess, now: now)
        return actions
      }
    }
    // Every event is a switch over every phase, with no `default:`: the compiler lists the
    // cells (a tuple switch over payload-carrying enums is too big for its checker).
    switch event {
    case .wanted:
      switch phase {
      case .inactive: if !held { phase = .waiting }
      case .waiting, .startPre, .starting, .startPost, .up, .stopping, .backoff, .done, .stopped, .failed: break
      }

    case .dependenciesReady:
      switch phase {
      case .waiting: if !held { startSequence(now) }
      case .inactive, .startPre, .starting, .startPost, .up, .stopping, .backoff, .done, .stopped, .failed: break
      }

    case .spawned(let role, let pid):
      // The pid joins the step that asked for it; a step already left gets a stray, killed.
      switch phase {
      case .starting(nil, let deadline) where role == .main:
        phase = .starting(pid: pid, deadline: deadline)
        startedAt = now
        if definition.type == .simple && definition.notificationFD == nil { becameReady(now) }
      case .startPre(let k, nil, let deadline) where role == .startPre(k):
        phase = .startPre(step: k, pid: pid, deadline: deadline)
      case .startPost(let k, nil, let main, let deadline) where role == .startPost(k):
        phase = .startPost(step: k, pid: pid, main: main, deadline: deadline)
      case .stopping(let main, .command(let k, nil), let deadline, let then) where role == .stop(k):
        phase = .stopping(main: main, step: .command(k, pid: pid), deadline: deadline, then: then)
      case .stopping(let main, .finish(nil), let deadline, let then) where role == .finish:
        phase = .stopping(main: main, step: .finish(pid: pid), deadline: deadline, then: then)
      case .stopping(let main, .post(let k, nil), let deadline, let then) where role == .stopPost(k):
        phase = .stopping(main: main, step: .post(k, pid: pid), deadline: deadline, then: then)
      case .up where role == .health && health.pid == nil:
        health.pid = pid
      case .inactive, .waiting, .startPre, .starting, .startPost, .up, .stopping, .backoff, .done, .stopped, .failed:
        strays.append(pid)
        signal(pid, .kill, group: true)
      }

    case .spawnFailed(let role, let reason, let code):
      // The process ended before it began, as a shell reports it (126/127).
      switch phase {
      case .startPre(let k, _, _) where role == stepRole:
        say("\(reason)", .error)
        startPreEnded(k, exit: .exited(code: code), failure: .couldNotStart(reason), now: now)
      case .starting where role == .main, .startPost where role == .main, .up where role == .main:
        say("\(reason)", .error)
        mainEnded(pid: nil, exit: .exited(code: code), failure: .couldNotStart(reason), now: now)
      case .startPost(let k, _, _, _) where role == stepRole:
        say("\(reason)", .error)
        startPostEnded(k, exit: .exited(code: code), failure: .couldNotStart(reason), now: now)
      case .stopping where role == stepRole:
        say("\(reason)", .error)
        stopHelperEnded(exit: .exited(code: code), now: now)
      case .up where role == .health:
        // The check itself could not run (a missing program, a bad credential): it failed.
        say("\(reason)", .error)
        healthResult(passed: false, now: now)
      case .inactive, .waiting, .startPre, .starting, .startPost, .up, .stopping, .backoff, .done, .stopped, .failed:
        break  // a step already left
      }

    case .forkFailed(let role, let reason):
      // Nobody's fault: try again later, outside the start limit.
      switch phase {
      case .startPre where role == stepRole, .starting where role == stepRole:
        forkFailed(reason, now: now)
      case .startPost where role == stepRole:
        say("\(reason): restarting", .warning)
        if !recentStarts.isEmpty { recentStarts.removeLast() }
        stopSequence(then: shuttingDown ? .stopped : .restart, now: now)
      case .stopping where role == stepRole:
        say("\(reason): skipped", .warning)
        stopHelperEnded(exit: ServiceStateMachine.neverRan, now: now)
      case .up where role == .health:
        // Not a result: the next check comes one interval later; the service stays as it is.
        say("\(reason): health check postponed", .warning)
        health.deadline = nil
        health.next = definition.health.map { now + $0.interval }
      case .inactive, .waiting, .startPre, .starting, .startPost, .up, .stopping, .backoff, .done, .stopped, .failed:
        break  // a step already left
      }

    case .exited(let reaped, let exit):
      // The process of the current step ended (the health check and strays are handled above).
      switch phase {
      case .startPre(let k, reaped?, _):
        startPreEnded(k, exit: exit, failure: nil, now: now)
      case .starting(reaped?, _), .startPost(_, _, reaped?, _), .up(reaped?):
        mainEnded(pid: reaped, exit: exit, failure: nil, now: now)
      case .startPost(let k, reaped?, _, _):
        startPostEnded(k, exit: exit, failure: nil, now: now)
      case .stopping(reaped?, let step, let deadline, let then):
        lastMain = reaped
        lastExit = exit
        if case .command = step {
          // The stop command is still running; it ends the sequence.
          phase = .stopping(main: nil, step: step, deadline: deadline, then: then)
        } else {
          if definition.killsLeftovers { signal(reaped, .kill, group: true) }
          stopPostSequence(then: then, now: now)
        }
      case .stopping(_, .command(_, reaped?), _, _), .stopping(_, .finish(reaped?), _, _), .stopping(_, .post(_, reaped?), _, _):
        stopHelperEnded(exit: exit, now: now)
      case .inactive, .waiting, .startPre, .starting, .startPost, .up, .stopping, .backoff, .done, .stopped, .failed:
        break  // not a process of this service
      }

    case .ready:
      switch phase {
      case .starting: becameReady(now)
      case .inactive, .waiting, .startPre, .startPost, .up, .stopping, .backoff, .done, .stopped, .failed: break
      }

    case .notified(let message):
      switch phase {
      case .starting, .startPost, .up, .stopping: notified(message, now: now)
      case .inactive, .waiting, .startPre, .backoff, .done, .stopped, .failed: break  // no main process to speak
      }

    case .timer:
      timer(now)

    case .stop(let then):
      stopSequence(then: then, now: now)

    case .cancel:
      switch phase {
      case .waiting, .backoff: phase = .stopped
      case .inactive, .startPre, .starting, .startPost, .up, .stopping, .done, .stopped, .failed: break
      }

    case .dependencyFailed(let name):
      switch phase {
      case .waiting, .backoff:
        fail(.dependencyFailed(name), now: now)
      case .startPre, .starting, .startPost, .up, .stopping:
        say("stopping, because it requires \(name)")
        stopSequence(then: .fail(.dependencyFailed(name)), now: now)
      case .inactive, .done, .stopped, .failed:
        break
      }

    case .dependencyStopped(let name):
      switch phase {
      case .startPre, .starting, .startPost, .up, .stopping:
        say("stopping, because it requires \(name)")
        stopSequence(then: .stopped, now: now)
      case .inactive, .waiting, .backoff, .done, .stopped, .failed:
        break
      }

    case .startRequested:
      held = false
      switch phase {
      case .inactive, .stopped, .failed, .done:
        resetStartLimit()
        phase = .waiting
      case .waiting, .startPre, .starting, .startPost, .up, .stopping, .backoff:
        break
      }

    case .stopRequested:
      held = true
      stopSequence(then: .stopped, now: now)

    case .restartRequested:
      held = false
      resetStartLimit()
      switch phase {
      case .inactive, .stopped, .failed, .done, .waiting, .backoff: phase = .waiting
      case .startPre, .starting, .startPost, .up, .stopping: stopSequence(then: .restart, now: now)
      }

    case .reconfigured(let startAgain):
      say("configuration changed")
      resetStartLimit()
      switch phase {
      case .failed, .done, .stopped, .inactive: if !held && startAgain { phase = .waiting }
      case .waiting, .backoff: break
      case .startPre, .starting, .startPost, .up, .stopping: stopSequence(then: .restart, now: now)
      }
    }
    return actions
  }

  /// A reload's definition of this service (then `reconfigured`, if it changed).
  public mutating func replaceDefinition(_ new: ServiceDefinition) { definition = new }

  // MARK: - Steps

  @inline(never)
  private mutating func log(_ line: String, _ level: LogLevel = .info) { actions.append(.log(line, level)) }

  /// A line about this service: `name: text`.
  @inline(never)
  private mutating func say(_ text: String, _ level: LogLevel = .info) { actions.append(.log(definition.name + ": " + text, level)) }

  /// s6-rc's own line for a transition (`starting`, `successfully started`, `stopping`,
  /// `successfully stopped`), for s6-rc services only; shown at S6_VERBOSITY 2, as s6-rc's.
  private mutating func sayAsS6RC(_ transition: String) {
    guard definition.logsAsS6RC else { return }
    let separator = transition.hasPrefix("successfully") ? " " : ": "
    actions.append(.log("s6-rc: info: service " + definition.name + separator + transition, .info))
  }

  @inline(never)
  private mutating func signal(_ pid: Int32, _ signal: Signal, group: Bool) {
    actions.append(.signal(pid: pid, signal, processGroup: group))
  }

  @inline(never)
  private mutating func spawn(_ role: ProcessRef.Role) { actions.append(.spawn(role)) }

  private mutating func resetStartLimit() {
    recentStarts = []
    failuresInARow = 0
  }

  /// The start limit, ExecStartPre=, then the main process.
  private mutating func startSequence(_ now: Instant) {
    recentStarts = recentStarts.filter { now - $0 < definition.startLimitInterval }
    if definition.startLimitBurst > 0 && recentStarts.count >= definition.startLimitBurst {
      fail(.startLimitHit, now: now)
      return
    }
    recentStarts.append(now)
    sayAsS6RC("starting")
    if let lastExit { exitOfPreviousRun = lastExit }
    lastExit = nil
    status = nil
    health.healthy = nil
    health.failures = 0
    let deadline = definition.startTimeout.map { now + $0 }
    if definition.startPre.isEmpty {
      startMain(deadline: deadline, now: now)
    } else {
      phase = .startPre(step: 0, pid: nil, deadline: deadline)
      spawn(.startPre(0))
    }
  }

  private mutating func startMain(deadline: Instant?, now: Instant) {
    phase = .starting(pid: nil, deadline: deadline)
    if definition.start.isEmpty {
      becameReady(now)  // a oneshot of start (or stop) commands only
    } else {
      spawn(.main)
    }
  }

  /// Ready (started, READY=1, a newline on the notification fd, or a oneshot that exited 0):
  /// ExecStartPost=, then up.
  private mutating func becameReady(_ now: Instant) {
    guard case .starting(let main, let deadline) = phase else { return }
    if definition.startPost.isEmpty {
      enterUp(main: main, now: now)
    } else {
      phase = .startPost(step: 0, pid: nil, main: main, deadline: deadline)
      spawn(.startPost(0))
    }
  }

  private mutating func enterUp(main: Int32?, now: Instant) {
    sayAsS6RC("successfully started")
    if definition.type == .oneshot && !definition.remainAfterExit && main == nil {
      phase = .done
      failuresInARow = 0
      say("done")
      return
    }
    phase = .up(main: main)
    // The first health check comes InitialDelaySec= later: dependents wait for its success.
    if let check = definition.health { health.next = now + check.initialDelay }
    say(
      "\(definition.type == .oneshot ? "done" : "running")" + (main.map { " (pid \($0))" } ?? "")
        + (definition.description.map { " - " + $0 } ?? ""))
  }

  private mutating func notified(_ message: String, now: Instant) {
    for line in message.split(separator: "\n") {
      if line == "READY=1" && definition.type == .notify {
        becameReady(now)
      } else if line.hasPrefix("STATUS=") {
        status = String(line.dropFirst(7))
      } else if line == "STOPPING=1" {
        say("stopping on its own")
      }
    }
  }

  private mutating func startPreEnded(_ k: Int, exit: ProcessExit, failure: FailureReason?, now: Instant) {
    guard case .startPre(_, _, let deadline) = phase else { return }
    let command = definition.startPre[k]
    if !exit.isSuccess && !command.ignoresFailure {
      lastExit = exit
      finishAfterFailure(failure ?? .commandFailed(command.program, exit), exit: exit, now: now)
      return
    }
    if !exit.isSuccess {
      say("\(command.program) \(exit.description) (failure ignored)", quietIgnoredFailures ? .info : .warning)
    }
    if k + 1 < definition.startPre.count {
      phase = .startPre(step: k + 1, pid: nil, deadline: deadline)
      spawn(.startPre(k + 1))
    } else {
      startMain(deadline: deadline, now: now)
    }
  }

  private mutating func startPostEnded(_ k: Int, exit: ProcessExit, failure: FailureReason?, now: Instant) {
    guard case .startPost(_, _, let main, let deadline) = phase else { return }
    phase = .startPost(step: k, pid: nil, main: main, deadline: deadline)
    if !exit.isSuccess && !definition.startPost[k].ignoresFailure {
      lastExit = exit
      stopSequence(then: afterFailure(failure ?? .commandFailed("ExecStartPost", exit), exit: exit), now: now)
    } else if k + 1 < definition.startPost.count {
      phase = .startPost(step: k + 1, pid: nil, main: main, deadline: deadline)
      spawn(.startPost(k + 1))
    } else {
      enterUp(main: main, now: now)
    }
  }

  /// The main process ended (or never began: `pid` nil) while starting or up.
  private mutating func mainEnded(pid: Int32?, exit: ProcessExit, failure: FailureReason?, now: Instant) {
    lastMain = pid
    lastExit = exit
    let helper = helperPID
    if case .starting(_, let deadline) = phase {
      phase = .starting(pid: nil, deadline: deadline)
      if definition.type == .oneshot {
        if exit.isSuccess {
          becameReady(now)
        } else {
          finishAfterFailure(failure ?? .exited(exit), exit: exit, now: now)
        }
        return
      }
    }
    say("\(failure?.description ?? exit.description)", .warning)
    // What the main process left in its process group goes with it. Its pid is still a valid
    // group id here: nothing new has been spawned since it was reaped.
    if let pid, definition.killsLeftovers { signal(pid, .kill, group: true) }
    if let helper { signal(helper, .kill, group: true) }
    if let check = health.pid { signal(check, .kill, group: true) }
    let then: AfterStop
    if definition.type == .oneshot && exit.isSuccess {
      then = .done
    } else if definition.restart.restarts(after: exit, killSignal: definition.killSignal) && !shuttingDown {
      then = .restart
    } else if exit.isClean(killSignal: definition.killSignal) && failure == nil {
      then = .stopped
    } else {
      then = .fail(failure ?? .exited(exit))
    }
    stopPostSequence(then: then, now: now)
  }

  /// A start step failed: restart if the policy says so, else fail.
  private mutating func finishAfterFailure(_ reason: FailureReason, exit: ProcessExit, now: Instant) {
    let then = afterFailure(reason, exit: exit)
    say("\(reason.description)", .error)
    stopPostSequence(then: then, now: now)
  }

  private func afterFailure(_ reason: FailureReason, exit: ProcessExit) -> AfterStop {
    if !shuttingDown && definition.restart.restarts(after: exit, killSignal: definition.killSignal) { return .restart }
    return .fail(reason)
  }

  /// No process could be created for a start step: back off and try again, as if this start
  /// had not happened (it does not count towards the start limit).
  private mutating func forkFailed(_ reason: String, now: Instant) {
    if !recentStarts.isEmpty { recentStarts.removeLast() }
    if shuttingDown {
      say("\(reason)", .warning)
      finishStop(then: .stopped, now: now)
      return
    }
    let delay = Supervisor.restartDelay(for: definition, failuresInARow: failuresInARow)
    failuresInARow += 1
    phase = .backoff(until: now + delay)
    say("\(reason): trying again in \(delay.description)", .warning)
  }

  // MARK: - Stopping

  /// ExecStop=, KillSignal=, SIGKILL after TimeoutStopSec=, ExecStopPost=, then `then`.
  private mutating func stopSequence(then: AfterStop, now: Instant) {
    health.next = nil
    if let check = health.pid { signal(check, .kill, group: true) }
    let main: Int32?
    switch phase {
    case .inactive, .waiting, .backoff, .done, .stopped, .failed:
      finishStop(then: then, now: now)
      return
    case .stopping(let main, let step, let deadline, _):
      phase = .stopping(main: main, step: step, deadline: deadline, then: then)  // already on its way down
      return
    case .startPre(_, let helper, _), .startPost(_, let helper, _, _):
      if let helper {
        // An s6 script (a cont-init script during boot) gets TERM; what is left of it is for
        // the final sweep.
        signal(helper, definition.killsLeftovers ? .kill : .terminate, group: true)
      }
      main = mainPID
    case .starting(let pid, _):
      main = pid
    case .up(let pid):
      main = pid
    }
    if case .stopped = then, definition.logsAsS6RC {
      sayAsS6RC("stopping")
      announcedStopping = true
    }
    let isUp: Bool
    if case .up = phase { isUp = true } else { isUp = false }
    // ExecStop= runs while the main process is alive, or for a oneshot that remained "up".
    if !definition.stop.isEmpty && (main != nil || isUp) {
      phase = .stopping(main: main, step: .command(0, pid: nil), deadline: now + definition.stopTimeout, then: then)
      spawn(.stop(0))
    } else if let main {
      signalStop(main: main, then: then, now: now)
    } else {
      stopPostSequence(then: then, now: now)
    }
  }

  private mutating func signalStop(main: Int32?, then: AfterStop, now: Instant) {
    guard let main else {
      stopPostSequence(then: then, now: now)
      return
    }
    phase = .stopping(main: main, step: .signal(killed: false), deadline: now + definition.stopTimeout, then: then)
    // The whole process group, as systemd does; an s6 service's process only, as s6-supervise
    // does (what it started in the background is left for the final sweep).
    let group = definition.killsLeftovers
    signal(main, definition.killSignal, group: group)
    // A stopped process cannot act on TERM until it is continued (as systemd does).
    if definition.killSignal != .kill { signal(main, .continue, group: group) }
  }

  /// After the main process: the s6 `finish` program, if any, then ExecStopPost=.
  private mutating func stopPostSequence(then: AfterStop, now: Instant) {
    if definition.finish != nil, lastExit != nil {
      phase = .stopping(main: nil, step: .finish(pid: nil), deadline: now + definition.finishTimeout, then: then)
      spawn(.finish)
    } else {
      stopPostCommands(then: then, now: now)
    }
  }

  private mutating func stopPostCommands(then: AfterStop, now: Instant) {
    if definition.stopPost.isEmpty {
      finishStop(then: then, now: now)
    } else {
      phase = .stopping(main: nil, step: .post(0, pid: nil), deadline: now + definition.stopTimeout, then: then)
      spawn(.stopPost(0))
    }
  }

  /// An ExecStop=, finish or ExecStopPost= command ended: the next step.
  private mutating func stopHelperEnded(exit: ProcessExit, now: Instant) {
    guard case .stopping(let main, let step, let deadline, var then) = phase else { return }
    switch step {
    case .command(let k, _):
      if k + 1 < definition.stop.count {
        phase = .stopping(main: main, step: .command(k + 1, pid: nil), deadline: deadline, then: then)
        spawn(.stop(k + 1))
      } else {
        signalStop(main: main, then: then, now: now)
      }
    case .finish:
      if exit == .exited(code: 125) && then == .restart {
        say("finish exited 125: not restarting")
        then = .stopped
      }
      stopPostCommands(then: then, now: now)
    case .post(let k, _):
      if k + 1 < definition.stopPost.count {
        phase = .stopping(main: main, step: .post(k + 1, pid: nil), deadline: deadline, then: then)
        spawn(.stopPost(k + 1))
      } else {
        finishStop(then: then, now: now)
      }
    case .signal:
      break
    }
  }

  private mutating func finishStop(then: AfterStop, now: Instant) {
    health.next = nil
    switch then {
    case .stopped:
      if announcedStopping { sayAsS6RC("successfully stopped") }
      announcedStopping = false
      if case .stopped = phase {} else { say("stopped") }
      phase = .stopped
      actions.append(.stopped)
    case .done:
      phase = .done
      say("done")
    case .fail(let reason):
      fail(reason, now: now)
    case .restart:
      let uptime = startedAt.map { now - $0 } ?? .zero
      if uptime >= definition.restartMaxDelay ?? .seconds(10) { failuresInARow = 0 }
      let delay = Supervisor.restartDelay(for: definition, failuresInARow: failuresInARow)
      failuresInARow += 1
      restarts += 1
      phase = .backoff(until: now + delay)
      say("restarting in \(delay.description)")
    }
  }

  private mutating func fail(_ reason: FailureReason, now: Instant) {
    phase = .failed(reason)
    say("failed: \(reason.description)", .error)
    actions.append(.failed(reason))
  }

  // MARK: - Health

  private mutating func healthResult(passed: Bool, now: Instant) {
    guard let check = definition.health, case .up = phase else { return }
    // As in Docker: in the start period, until a check has passed, checks come every
    // StartIntervalSec= and their failures do not count.
    let inStartPeriod = startedAt.map { now - $0 < check.startPeriod } ?? false
    let starting = inStartPeriod && health.healthy != true && !passed
    health.next = now + (starting ? min(check.startInterval, check.interval) : check.interval)
    if passed {
      if health.healthy != true { say("healthy") }
      health.healthy = true
      health.failures = 0
      return
    }
    if starting { return }
    health.failures += 1
    if health.failures >= check.retries {
      health.healthy = false
      say("unhealthy after \(health.failures) failed checks: restarting", .warning)
      lastExit = nil
      stopSequence(then: shuttingDown ? .stopped : .restart, now: now)
    }
  }

  /// The health check's deadlines: kill a check that takes too long, start the next one.
  private mutating func healthTimer(_ now: Instant) {
    if let deadline = health.deadline, deadline <= now, let pid = health.pid {
      health.deadline = nil
      signal(pid, .kill, group: true)
    }
    if let next = health.next, next <= now, health.pid == nil, case .up = phase, let check = definition.health {
      health.next = nil
      health.deadline = now + check.timeout
      spawn(.health)
    }
  }

  /// Whatever deadline of this service has passed.
  private mutating func timer(_ now: Instant) {
    healthTimer(now)
    guard let deadline = phaseDeadline, deadline <= now else { return }
    switch phase {
    case .startPre, .starting, .startPost:
      say("not ready within \(definition.startTimeout?.description ?? "its start timeout")", .warning)
      actions.append(.startFailed)
      let exit = ProcessExit.signaled(.kill, coreDumped: false)
      stopSequence(then: startFailureEndsContainer ? .fail(.startTimeout) : afterFailure(.startTimeout, exit: exit), now: now)
    case .stopping(let main, .command(_, let helper), _, let then):
      if let helper { signal(helper, .kill, group: true) }
      signalStop(main: main, then: then, now: now)
    case .stopping(let main, .signal(killed: false), _, let then):
      if let main {
        say("still running \(definition.stopTimeout.description) after \(definition.killSignal.name): sending SIGKILL", .warning)
        signal(main, .kill, group: definition.killsLeftovers)
      }
      phase = .stopping(main: main, step: .signal(killed: true), deadline: nil, then: then)
    case .stopping(_, .finish(let helper), _, let then):
      if let helper { signal(helper, .kill, group: true) }
      say("finish still running after \(definition.finishTimeout.description): killed", .warning)
      stopPostCommands(then: then, now: now)
    case .stopping(_, .post(_, let helper), _, let then):
      if let helper { signal(helper, .kill, group: true) }
      finishStop(then: then, now: now)
    case .backoff:
      if !shuttingDown { phase = .waiting }
    case .stopping(_, .signal(killed: true), _, _), .inactive, .waiting, .up, .done, .stopped, .failed:
      break
    }
  }
}
