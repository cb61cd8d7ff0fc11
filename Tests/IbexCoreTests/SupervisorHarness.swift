import IbexCore
import Testing

/// Drives a `Supervisor` the way the runtime does, without processes: every `spawn` gets the
/// next pid at once, and time moves only when a test says so.
struct Harness {
  var supervisor: Supervisor
  var now = Instant(nanoseconds: 1_000_000_000)
  var nextPID: Int32 = 100
  /// Every process started, in order: `web`, `web:pre0`, `web:health`, `CMD`...
  var spawned: [String] = []
  /// pid of the latest process per label.
  var pids: [String: Int32] = [:]
  var log: [String] = []
  var signals: [String] = []
  var exitCode: Int32?
  var timer: Instant?
  /// Labels whose next spawns fail to fork (EAGAIN), with how many times.
  var forkFailures: [String: Int] = [:]

  init(_ services: [ServiceDefinition], command: Bool = false, configure: (inout SupervisorSettings) -> Void = { _ in }) throws {
    var settings = SupervisorSettings()
    settings.hasCommand = command
    configure(&settings)
    supervisor = Supervisor(graph: try ServiceGraph(services), settings: settings)
  }

  func label(_ ref: ProcessRef) -> String {
    let unit: String
    switch ref.unit {
    case .service(let i): unit = supervisor.graph.services[i].name
    case .command: unit = "CMD"
    }
    switch ref.role {
    case .main: return unit
    case .startPre(let k): return "\(unit):pre\(k)"
    case .startPost(let k): return "\(unit):post\(k)"
    case .stop(let k): return "\(unit):stop\(k)"
    case .stopPost(let k): return "\(unit):stoppost\(k)"
    case .health: return "\(unit):health"
    case .finish: return "\(unit):finish"
    }
  }

  /// Sends `event`, then fires the timer if its deadline has already passed (as a timerfd
  /// armed in the past does).
  mutating func send(_ event: SupervisorEvent) {
    deliver(event)
    while let at = timer, at <= now {
      timer = nil
      deliver(.timerFired)
    }
  }

  private mutating func deliver(_ event: SupervisorEvent) {
    var queue = [event]
    while !queue.isEmpty {
      let next = queue.removeFirst()
      for action in supervisor.handle(next, now: now) {
        switch action {
        case .spawn(let ref):
          if let left = forkFailures[label(ref)], left > 0 {
            forkFailures[label(ref)] = left - 1
            queue.append(.forkFailed(ref, reason: "unable to create a process for \(label(ref)): Resource temporarily unavailable"))
            continue
          }
          let pid = nextPID
          nextPID += 1
          let name = label(ref)
          spawned.append(name)
          pids[name] = pid
          queue.append(.spawned(ref, pid: pid))
        case .signal(let pid, let signal, let group):
          let name = pids.first { $0.value == pid }?.key ?? "\(pid)"
          signals.append("\(group ? "-" : "")\(name) \(signal.name)")
        case .armTimer(let at):
          timer = at
        case .log(let line, _):
          log.append(line)
        case .exit(let code):
          exitCode = code
        }
      }
    }
  }

  mutating func boot() { send(.boot) }

  /// The process labelled `name` ends.
  mutating func exit(_ name: String, _ exit: ProcessExit = .exited(code: 0)) {
    guard let pid = pids[name] else {
      Issue.record("no process \(name)")
      return
    }
    send(.exited(pid: pid, exit))
  }

  mutating func notify(_ name: String, _ message: String) { send(.notified(pid: pids[name]!, message: message)) }

  /// Moves the clock forward, firing the timer if its deadline passes.
  mutating func advance(_ span: TimeSpan) {
    let end = now + span
    while let at = timer, at <= end {
      now = max(now, at)
      timer = nil
      send(.timerFired)
    }
    now = end
  }

  func phase(_ name: String) -> ServicePhase {
    supervisor.phase(of: supervisor.graph.services.firstIndex { $0.name == name }!)
  }

  /// Takes the signals recorded so far.
  mutating func takeSignals() -> [String] {
    defer { signals = [] }
    return signals
  }
}

/// A service definition for tests: `service("web", requires: ["db"]) { $0.restart = .always }`.
func service(
  _ name: String, type: ServiceType = .simple, requires: [String] = [], wants: [String] = [], after: [String] = [],
  configure: (inout ServiceDefinition) -> Void = { _ in }
) -> ServiceDefinition {
  let location = SourceLocation(file: "\(name).service", line: 1)
  var definition = ServiceDefinition(name: name, location: location)
  definition.type = type
  definition.start = [Command(program: "/bin/\(name)", arguments: [name])]
  if type == .oneshot { definition.startTimeout = nil }
  definition.dependencies =
    requires.map { Dependency(name: $0, kind: .requires, location: location) }
    + wants.map { Dependency(name: $0, kind: .wants, location: location) }
    + after.map { Dependency(name: $0, kind: .after, location: location) }
  configure(&definition)
  return definition
}
