import Foundation
import Testing

@testable import IbexCore

/// Walks every (phase, event) cell of `ServiceStateMachine` and compares what happens with the
/// table in docs/state-machine.md, so the table is the documentation and the code's checker.
@Suite("ServiceStateMachine: every (phase, event) cell is the documented one")
struct ServiceStateMachineCellTests {
  static let t0 = Instant(nanoseconds: 1_000_000_000_000)
  static let deadline = t0 + .seconds(5)

  /// The service of the table: a notify service with one command of each kind, Restart=always.
  static var definition: ServiceDefinition {
    var d = ServiceDefinition(name: "svc", location: SourceLocation(file: "svc.service", line: 1))
    d.type = .notify
    d.start = [Command(program: "/bin/svc", arguments: ["svc"])]
    d.startPre = [Command(program: "/bin/pre", arguments: ["pre"])]
    d.startPost = [Command(program: "/bin/post", arguments: ["post"])]
    d.stop = [Command(program: "/bin/stop", arguments: ["stop"])]
    d.stopPost = [Command(program: "/bin/stoppost", arguments: ["stoppost"])]
    d.restart = .always
    d.startLimitBurst = 0
    d.startTimeout = .seconds(5)
    d.stopTimeout = .seconds(5)
    return d
  }

  /// One representative of every phase (rows of the table): the step's process runs.
  static let rows: [(String, ServiceStateMachine.Phase)] = [
    ("inactive", .inactive),
    ("waiting", .waiting),
    ("startPre", .startPre(step: 0, pid: 10, deadline: deadline)),
    ("starting", .starting(pid: 11, deadline: deadline)),
    ("startPost", .startPost(step: 0, pid: 12, main: 11, deadline: deadline)),
    ("up", .up(main: 11)),
    ("stopping.command", .stopping(main: 11, step: .command(0, pid: 13), deadline: deadline, then: .stopped)),
    ("stopping.signal", .stopping(main: 11, step: .signal(killed: false), deadline: deadline, then: .stopped)),
    ("stopping.finish", .stopping(main: nil, step: .finish(pid: 14), deadline: deadline, then: .stopped)),
    ("stopping.post", .stopping(main: nil, step: .post(0, pid: 15), deadline: deadline, then: .stopped)),
    ("backoff", .backoff(until: deadline)),
    ("done", .done),
    ("stopped", .stopped),
    ("failed", .failed(.startTimeout)),
  ]

  /// The events (columns). Events about a process concern the current step's process.
  static let columns = [
    "wanted", "dependenciesReady", "spawned", "spawnFailed", "forkFailed", "exited", "ready", "notified", "timer", "stop",
    "cancel", "dependencyFailed", "dependencyStopped", "startRequested", "stopRequested", "restartRequested", "reconfigured",
  ]

  static func name(_ phase: ServiceStateMachine.Phase) -> String {
    switch phase {
    case .inactive: return "inactive"
    case .waiting: return "waiting"
    case .startPre: return "startPre"
    case .starting: return "starting"
    case .startPost: return "startPost"
    case .up: return "up"
    case .stopping(_, .command, _, _): return "stopping.command"
    case .stopping(_, .signal, _, _): return "stopping.signal"
    case .stopping(_, .finish, _, _): return "stopping.finish"
    case .stopping(_, .post, _, _): return "stopping.post"
    case .backoff: return "backoff"
    case .done: return "done"
    case .stopped: return "stopped"
    case .failed: return "failed"
    }
  }

  /// What one cell does: the next phase (`=` if unchanged), then its actions other than logs.
  static func outcome(_ row: ServiceStateMachine.Phase, _ column: String) -> String {
    var machine = ServiceStateMachine(definition)
    machine.phase = row
    let role = machine.stepRole ?? .main
    var now = t0
    let event: ServiceStateMachine.Event
    switch column {
    case "wanted": event = .wanted
    case "dependenciesReady": event = .dependenciesReady
    case "spawned":
      // The process the step asked for arrives (the row's pid is not there yet).
      machine.phase = withoutStepPID(row)
      event = .spawned(role, pid: 99)
    case "spawnFailed": event = .spawnFailed(role, reason: "unable to exec", exitCode: 127)
    case "forkFailed": event = .forkFailed(role, reason: "unable to create a process")
    case "exited": event = .exited(pid: machine.helperPID ?? machine.mainPID ?? 999, .exited(code: 1))
    case "ready": event = .ready
    case "notified": event = .notified("READY=1")
    case "timer":
      now = deadline
      event = .timer
    case "stop": event = .stop(then: .stopped)
    case "cancel": event = .cancel
    case "dependencyFailed": event = .dependencyFailed("db")
    case "dependencyStopped": event = .dependencyStopped("db")
    case "startRequested": event = .startRequested
    case "stopRequested": event = .stopRequested
    case "restartRequested": event = .restartRequested
    default:
      var changed = definition
      changed.restartDelay = .seconds(2)
      machine.replaceDefinition(changed)
      event = .reconfigured(startAgain: true)
    }
    let actions = machine.handle(event, now: now)
    let same = String(describing: machine.phase) == String(describing: row)
    var words: [String] = [same ? "=" : name(machine.phase)]
    for action in actions {
      switch action {
      case .spawn(let role): words.append("spawn \(label(role))")
      case .signal(_, let signal, _): words.append(signal.name)
      case .log: continue
      case .failed: words.append("⇒failed")
      case .stopped: words.append("⇒stopped")
      case .startFailed: words.append("⇒startFailed")
      }
    }
    return words.joined(separator: " ")
  }

  static func withoutStepPID(_ phase: ServiceStateMachine.Phase) -> ServiceStateMachine.Phase {
    switch phase {
    case .startPre(let k, _, let d): return .startPre(step: k, pid: nil, deadline: d)
    case .starting(_, let d): return .starting(pid: nil, deadline: d)
    case .startPost(let k, _, let m, let d): return .startPost(step: k, pid: nil, main: m, deadline: d)
    case .stopping(let m, .command(let k, _), let d, let then): return .stopping(main: m, step: .command(k, pid: nil), deadline: d, then: then)
    case .stopping(let m, .finish, let d, let then): return .stopping(main: m, step: .finish(pid: nil), deadline: d, then: then)
    case .stopping(let m, .post(let k, _), let d, let then): return .stopping(main: m, step: .post(k, pid: nil), deadline: d, then: then)
    case .stopping, .inactive, .waiting, .up, .backoff, .done, .stopped, .failed: return phase
    }
  }

  static func label(_ role: ProcessRef.Role) -> String {
    switch role {
    case .main: return "main"
    case .startPre(let k): return "startPre\(k)"
    case .startPost(let k): return "startPost\(k)"
    case .stop(let k): return "stop\(k)"
    case .stopPost(let k): return "stopPost\(k)"
    case .health: return "health"
    case .finish: return "finish"
    }
  }

  /// The table as docs/state-machine.md writes it.
  static func table() -> [String] {
    var lines = ["| phase \\ event | " + columns.joined(separator: " | ") + " |"]
    lines.append("|" + String(repeating: "---|", count: columns.count + 1))
    for (rowName, phase) in rows {
      lines.append("| `\(rowName)` | " + columns.map { outcome(phase, $0) }.joined(separator: " | ") + " |")
    }
    return lines
  }

  @Test("docs/state-machine.md's cell table is what the code does")
  func documentedTable() throws {
    let path = String(#filePath.split(separator: "/Tests/").first!) + "/docs/state-machine.md"
    let document = try String(contentsOfFile: path, encoding: .utf8)
    let documented = document.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
      .drop { !$0.hasPrefix("| phase \\ event |") }.prefix { $0.hasPrefix("|") }
    let expected = Self.table()
    #expect(Array(documented) == expected, "docs/state-machine.md should hold this table:\n\(expected.joined(separator: "\n"))")
  }

  @Test("every row covers one phase and every phase has a row")
  func rowsCoverPhases() {
    #expect(Set(Self.rows.map { Self.name($0.1) }) == Set(Self.rows.map { $0.0 }))
    #expect(Self.rows.count == 14)
  }
}
