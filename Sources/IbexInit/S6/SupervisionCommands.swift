import IbexCore
import IbexRuntime

/// Requests to the running `ibex init`, for the s6 client commands: the same `Connection` as
/// `ibex status|start|...` (ControlClient.swift) and its `request`, which turns an answer of
/// `{"ok":false,...}` into a `ControlFailure`.
struct S6Control {
  private var connection: Connection

  static func open(_ tool: S6Tool) -> Result<S6Control, ControlFailure> {
    switch Connection.open(root: tool.root) {
    case .success(let connection): return .success(S6Control(connection: connection))
    case .failure(let failure): return .failure(failure)
    }
  }

  private init(connection: Connection) { self.connection = connection }

  mutating func send(_ request: ControlRequest) -> Result<JSONValue, ControlFailure> { connection.request(request) }

  /// The status of `names` (all services when empty).
  mutating func snapshots(_ names: [String]) -> Result<[ServiceSnapshot], ControlFailure> {
    switch send(.status(names: names)) {
    case .success(let response): return .success((response["services"]?.array ?? []).map(ServiceSnapshot.init(json:)))
    case .failure(let failure): return .failure(failure)
    }
  }

  func close() { connection.close() }

  /// One request on a connection of its own.
  static func send(_ tool: S6Tool, _ request: ControlRequest) -> Result<JSONValue, ControlFailure> {
    switch open(tool) {
    case .success(var control):
      defer { control.close() }
      return control.send(request)
    case .failure(let failure):
      return .failure(failure)
    }
  }
}

/// What s6-svwait (and s6-svc -w) waits for.
public enum S6WaitCondition: Equatable, Sendable {
  case up, upAndReady, down, downAndReady, restarted, restartedAndReady

  /// `u`, `U`, `d`, `D`, `r`, `R`.
  public init?(letter: Character) {
    switch letter {
    case "u": self = .up
    case "U": self = .upAndReady
    case "d": self = .down
    case "D": self = .downAndReady
    case "r": self = .restarted
    case "R": self = .restartedAndReady
    default: return nil
    }
  }

  /// Whether `now` satisfies the condition; `before` is the service when the wait began
  /// (for the restart conditions: a new pid).
  public func holds(_ now: ServiceSnapshot, before: ServiceSnapshot?) -> Bool {
    switch self {
    case .up: return now.isUp
    case .upAndReady: return now.isUp && now.ready
    case .down: return now.isDown
    case .downAndReady: return now.isDown && now.state != "stopping"
    case .restarted: return now.pid != nil && now.pid != before?.pid
    case .restartedAndReady: return now.pid != nil && now.pid != before?.pid && now.ready
    }
  }
}

/// `s6-svc`, `s6-svstat`, `s6-svwait`, `s6-rc`, `s6-svscanctl`: clients of ibex's control socket.
enum SupervisionCommands {
  /// Polls until `condition` holds for all (or, with `any`, one) of `names`. 0 when it does,
  /// 99 after `timeout` milliseconds (nil: no limit), else the mapped failure.
  static func wait(
    _ tool: S6Tool, _ control: inout S6Control, names: [String], condition: S6WaitCondition, any: Bool,
    timeout: Int?, before: [ServiceSnapshot], failureCode: (ControlFailure.Code) -> Int32
  ) -> Int32 {
    let deadline = timeout.map { EventLoop.now() + .milliseconds(Int64($0)) }
    while true {
      let snapshots: [ServiceSnapshot]
      switch control.snapshots(names) {
      case .success(let value): snapshots = value
      case .failure(let failure): return tool.fatal(failure.message, failureCode(failure.code))
      }
      let done = snapshots.filter { snapshot in
        condition.holds(snapshot, before: before.first { $0.name == snapshot.name })
      }
      if any ? !done.isEmpty : done.count == snapshots.count { return 0 }
      if let deadline, EventLoop.now() >= deadline { return tool.fatal("timed out", 99) }
      ThisProcess.sleep(milliseconds: 20)
    }
  }

  static func svc(_ tool: S6Tool, _ arguments: [String]) -> Int32 {
    var requests: [(String) -> ControlRequest] = []
    var waitFor: S6WaitCondition?
    var timeout: Int?
    var options = ShortOptions(arguments, flags: "udroOktihq12apcy", values: "wTs")
    do throws(S6UsageError) {
      while let (letter, value) = try options.next() {
        func signal(_ signal: Signal) { requests.append { .signal(name: $0, signal) } }
        switch letter {
        case "u", "o": requests.append { .start(names: [$0]) }
        case "d": requests.append { .stop(names: [$0]) }
        case "r": requests.append { .restart(names: [$0]) }
        case "O": tool.warning("-O is not supported by ibex (its restart policy decides): ignored")
        case "k": signal(.kill)
        case "t": signal(.terminate)
        case "i": signal(.interrupt)
        case "h": signal(.hangup)
        case "q": signal(.quit)
        case "1": signal(.user1)
        case "2": signal(.user2)
        case "a": signal(.alarm)
        case "p": signal(.stop)
        case "c": signal(.continue)
        case "y": signal(.windowChange)
        case "s":
          guard let parsed = Signal(parsing: value!) else { throw S6UsageError("unknown signal '\(value!)'") }
          signal(parsed)
        case "w":
          guard value!.count == 1, let condition = S6WaitCondition(letter: value!.first!) else {
            throw S6UsageError("-w needs one of u U d D r R")
          }
          waitFor = condition
        default:
          let number = try parseNumber(value!, option: letter)
          timeout = number == 0 ? nil : number
        }
      }
    } catch {
      return tool.usageFailure(error.message)
    }
    let names = options.operands.map(serviceName(fromDirectory:))
    guard !names.isEmpty else { return tool.usageFailure("no service directory given") }
    var control: S6Control
    switch S6Control.open(tool) {
    case .success(let opened): control = opened
    case .failure(let failure): return tool.fatal(failure.message, S6ExitCodes.supervision(failure.code))
    }
    defer { control.close() }
    var before: [ServiceSnapshot] = []
    if waitFor == .restarted || waitFor == .restartedAndReady {
      switch control.snapshots(names) {
      case .success(let value): before = value
      case .failure(let failure): return tool.fatal(failure.message, S6ExitCodes.supervision(failure.code))
      }
    }
    for name in names {
      for request in requests {
        if case .failure(let failure) = control.send(request(name)) {
          return tool.fatal("unable to control \(name): \(failure.message)", S6ExitCodes.supervision(failure.code))
        }
      }
    }
    guard let waitFor else { return 0 }
    return wait(tool, &control, names: names, condition: waitFor, any: false, timeout: timeout, before: before,
      failureCode: S6ExitCodes.supervision)
  }

  static func svstat(_ tool: S6Tool, _ arguments: [String]) -> Int32 {
    var fields: [String] = []
    var numeric = false
    var options = ShortOptions(arguments, flags: "uwNrpgestn", values: "o")
    do throws(S6UsageError) {
      while let (letter, value) = try options.next() {
        switch letter {
        case "u": fields.append("up")
        case "w": fields.append("wantedup")
        case "N": fields.append("normallyup")
        case "r": fields.append("ready")
        case "p": fields.append("pid")
        case "g": fields.append("pgid")
        case "e": fields.append("exitcode")
        case "s": fields.append("signal")
        case "t": fields.append("updownfor")
        case "n": numeric = true
        default:
          for field in value!.split(separator: ",").map(String.init) {
            guard ServiceSnapshot.fieldNames.contains(field) else { throw S6UsageError("unknown field '\(field)'") }
            fields.append(field)
          }
        }
      }
    } catch {
      return tool.usageFailure(error.message)
    }
    guard options.operands.count == 1 else { return tool.usageFailure("one service directory needed") }
    let name = serviceName(fromDirectory: options.operands[0])
    let snapshot: ServiceSnapshot
    switch S6Control.send(tool, .status(names: [name])) {
    case .success(let response):
      guard let json = response["services"]?.array?.first else { return tool.fatal("no status for \(name)", 111) }
      snapshot = ServiceSnapshot(json: json)
    case .failure(let failure):
      return tool.fatal("unable to read status for \(name): \(failure.message)", failure.code == .unknownService ? 1 : 111)
    }
    var line: String
    if fields.isEmpty {
      line = snapshot.summary(numericSignal: numeric)
    } else {
      let now = WallTime.now()
      line = ""
      for (i, field) in fields.enumerated() { line += (i == 0 ? "" : " ") + (snapshot.field(field, now: now) ?? "?") }
    }
    Console.output(line + "\n")
    return 0
  }

  static func svwait(_ tool: S6Tool, _ arguments: [String]) -> Int32 {
    var condition = S6WaitCondition.up
    var any = false
    var timeout: Int?
    var options = ShortOptions(arguments, flags: "uUdDrRao", values: "t")
    do throws(S6UsageError) {
      while let (letter, value) = try options.next() {
        switch letter {
        case "a": any = false
        case "o": any = true
        case "t":
          let number = try parseNumber(value!, option: letter)
          timeout = number == 0 ? nil : number
        default: condition = S6WaitCondition(letter: letter)!
        }
      }
    } catch {
      return tool.usageFailure(error.message)
    }
    let names = options.operands.map(serviceName(fromDirectory:))
    guard !names.isEmpty else { return tool.usageFailure("no service directory given") }
    var control: S6Control
    switch S6Control.open(tool) {
    case .success(let opened): control = opened
    case .failure(let failure): return tool.fatal(failure.message, S6ExitCodes.supervision(failure.code))
    }
    defer { control.close() }
    var before: [ServiceSnapshot] = []
    switch control.snapshots(names) {
    case .success(let value): before = value
    case .failure(let failure): return tool.fatal(failure.message, S6ExitCodes.supervision(failure.code))
    }
    return wait(tool, &control, names: names, condition: condition, any: any, timeout: timeout, before: before,
      failureCode: S6ExitCodes.supervision)
  }

  /// What `s6-rc` was asked.
  struct RCRequest: Equatable {
    enum Command: Equatable { case help, list, change, diff }
    var command = Command.help
    var down = false
    var all = false
    var timeout: Int?
    var names: [String] = []
  }

  static func parseRC(_ arguments: [String]) throws(S6UsageError) -> RCRequest {
    var request = RCRequest()
    var options = ShortOptions(arguments, flags: "udDab", values: "vtnlp")
    while let (letter, value) = try options.next() {
      switch letter {
      case "u": request.down = false
      case "d", "D": request.down = true
      case "a": request.all = true
      case "t":
        let number = try parseNumber(value!, option: letter)
        request.timeout = number == 0 ? nil : number
      case "p": throw S6UsageError("-p (prune) is not supported by ibex")
      default: break  // -v verbosity, -n dry-run throttle, -l live dir, -b: accepted, no effect
      }
    }
    var operands = options.operands
    guard let command = operands.first else { throw S6UsageError("no command given (help, list, change, start, stop)") }
    operands.removeFirst()
    switch command {
    case "help": request.command = .help
    case "list", "listall": request.command = .list
    case "diff": request.command = .diff
    case "change": request.command = .change
    case "start":
      request.command = .change
      request.down = false
    case "stop":
      request.command = .change
      request.down = true
    default: throw S6UsageError("unknown command '\(command)'")
    }
    request.names = operands
    return request
  }

  static func rc(_ tool: S6Tool, _ arguments: [String]) -> Int32 {
    let request: RCRequest
    do {
      request = try parseRC(arguments)
    } catch {
      return tool.usageFailure(error.message)
    }
    switch request.command {
    case .help:
      Console.output("usage: \(tool.usage)\n  change: bring NAME... up (-u, start) or down (-d, stop) and wait\n  list: the NAMEs; -a the services that are up; -d inverts (-da: those that are down)\n")
      return 0
    case .diff:
      return 0
    case .list, .change:
      break
    }
    var control: S6Control
    switch S6Control.open(tool) {
    case .success(let opened): control = opened
    case .failure(let failure): return tool.fatal(failure.message, S6ExitCodes.rc(failure.code))
    }
    defer { control.close() }
    if request.command == .list {
      let all: [ServiceSnapshot]
      switch control.snapshots([]) {
      case .success(let value): all = value
      case .failure(let failure): return tool.fatal(failure.message, S6ExitCodes.rc(failure.code))
      }
      for name in request.names where !all.contains(where: { $0.name == name }) {
        return tool.fatal("unknown service name: \(name)", 3)
      }
      let selected = all.filter { request.names.contains($0.name) || (request.all && $0.isUp) }
      let listed = request.down ? all.filter { service in !selected.contains { $0.name == service.name } } : selected
      var text = ""
      for service in listed { text += service.name + "\n" }
      Console.output(text)
      return 0
    }
    if request.names.isEmpty { return 0 }
    let change: ControlRequest = request.down ? .stop(names: request.names) : .start(names: request.names)
    if case .failure(let failure) = control.send(change) {
      return tool.fatal(failure.message, S6ExitCodes.rc(failure.code))
    }
    let deadline = request.timeout.map { EventLoop.now() + .milliseconds(Int64($0)) }
    while true {
      let snapshots: [ServiceSnapshot]
      switch control.snapshots(request.names) {
      case .success(let value): snapshots = value
      case .failure(let failure): return tool.fatal(failure.message, S6ExitCodes.rc(failure.code))
      }
      if !request.down, let failed = snapshots.first(where: { $0.state == "failed" }) {
        return tool.fatal("service \(failed.name) failed to start", 1)
      }
      let pending = snapshots.filter { request.down ? !$0.isDown : !($0.isUp && $0.ready) }
      if pending.isEmpty { return 0 }
      if let deadline, EventLoop.now() >= deadline {
        var list = ""
        for (i, service) in pending.enumerated() { list += (i == 0 ? "" : ", ") + service.name }
        return tool.fatal("timed out waiting for \(list)", 2)
      }
      ThisProcess.sleep(milliseconds: 20)
    }
  }

  static func svscanctl(_ tool: S6Tool, _ arguments: [String]) -> Int32 {
    var request: ControlRequest?
    var options = ShortOptions(arguments, flags: "tqbh0678iaznNs")
    do throws(S6UsageError) {
      while let (letter, _) = try options.next() {
        switch letter {
        case "t", "q", "b", "0", "8", "s": request = .shutdown(exitCode: ShutdownCommands.haltCode(tool))
        case "6", "i": request = .shutdown(exitCode: ShutdownCommands.rebootCode)
        case "7": request = .shutdown(exitCode: ShutdownCommands.poweroffCode)
        case "h", "a", "n", "N": if request == nil { request = .reload }
        default: break  // -z: ibex reaps by itself
        }
      }
    } catch {
      return tool.usageFailure(error.message)
    }
    guard options.operands.count == 1 else { return tool.usageFailure("one scan directory needed") }
    guard let request else { return 0 }
    return ShutdownCommands.perform(tool, request)
  }
}

/// `halt`, `poweroff`, `reboot`, `shutdown` (s6-linux-init's, in `/run/s6/basedir/bin`): ask
/// ibex to shut down, and return at once.
enum ShutdownCommands {
  /// s6-overlay's PID 1 ends "by SIGHUP" after reboot and "by SIGINT" after poweroff
  /// (S6-EXIT-04): a container sees 129 and 130.
  static let rebootCode: Int32 = 129
  static let poweroffCode: Int32 = 130

  /// The first line of `/run/s6-linux-init-container-results/exitcode` (under `$IBEX_ROOT`);
  /// 0 when it is missing or not a number from 0 to 255.
  static func haltCode(_ tool: S6Tool) -> Int32 {
    let text = (try? FileSystem.readText(tool.root + "/run/s6-linux-init-container-results/exitcode")) ?? ""
    return parseExitCode(text)
  }

  static func parseExitCode(_ text: String) -> Int32 {
    var line = Substring(text.split(separator: "\n", maxSplits: 1, omittingEmptySubsequences: false).first ?? "")
    while let c = line.last, c == " " || c == "\t" || c == "\r" { line = line.dropLast() }
    while let c = line.first, c == " " || c == "\t" { line = line.dropFirst() }
    guard let code = Int32(line), code >= 0 && code <= 255 else { return 0 }
    return code
  }

  static func perform(_ tool: S6Tool, _ request: ControlRequest) -> Int32 {
    switch S6Control.send(tool, request) {
    case .success: return 0
    case .failure(let failure) where failure.code == .notPermitted:
      return tool.fatal("permission denied: only root and ibex's user may stop the container (\(failure.message))", 100)
    case .failure(let failure):
      return tool.fatal(failure.message, failure.code == .usage ? 100 : 111)
    }
  }

  /// halt/poweroff/reboot accept s6-linux-init-hpr's -f (force), -n (no sync), -d, -l; -w
  /// ("only write wtmp") does nothing.
  private static func hpr(_ tool: S6Tool, _ arguments: [String], code: (S6Tool) -> Int32) -> Int32 {
    var options = ShortOptions(arguments, flags: "fndlwhpr")
    var onlyWtmp = false
    do throws(S6UsageError) {
      while let (letter, _) = try options.next() {
        if letter == "w" { onlyWtmp = true }
      }
    } catch {
      return tool.usageFailure(error.message)
    }
    guard options.operands.isEmpty else { return tool.usageFailure("no arguments expected") }
    if onlyWtmp { return 0 }
    return perform(tool, .shutdown(exitCode: code(tool)))
  }

  static func halt(_ tool: S6Tool, _ arguments: [String]) -> Int32 { hpr(tool, arguments, code: haltCode) }
  static func poweroff(_ tool: S6Tool, _ arguments: [String]) -> Int32 { hpr(tool, arguments) { _ in poweroffCode } }
  static func reboot(_ tool: S6Tool, _ arguments: [String]) -> Int32 { hpr(tool, arguments) { _ in rebootCode } }

  static func shutdown(_ tool: S6Tool, _ arguments: [String]) -> Int32 {
    var code: (S6Tool) -> Int32 = haltCode
    var options = ShortOptions(arguments, flags: "hprkfFaHl", values: "t")
    do throws(S6UsageError) {
      while let (letter, _) = try options.next() {
        switch letter {
        case "h": code = haltCode
        case "p": code = { _ in poweroffCode }
        case "r": code = { _ in rebootCode }
        case "k": return 0  // only warn: nothing to do in a container
        default: break
        }
      }
    } catch {
      return tool.usageFailure(error.message)
    }
    if let time = options.operands.first, time != "now", time != "+0", time != "0" {
      tool.warning("ibex shuts down at once: time '\(time)' ignored")
    }
    return perform(tool, .shutdown(exitCode: code(tool)))
  }
}
