/// The control protocol, version 1 (docs/control.md).
///
/// A client connects to the control socket and writes one request per line:
/// `v1 COMMAND [ARGS...]`, words separated by single spaces, at most 4096 bytes. For each line
/// the server answers one line of JSON: `{"ok":true,...}` or
/// `{"ok":false,"code":N,"error":"..."}`, where `code` is the exit code the client should use.
public enum ControlRequest: Equatable, Sendable {
  case status(names: [String])
  case start(names: [String])
  case stop(names: [String])
  case restart(names: [String])
  case signal(name: String, Signal)
  case check(ControlCheck, names: [String])
  case shutdown(exitCode: Int32)
  case reload

  public static let version = "v1"
  /// The longest request line, newline included.
  public static let maximumLength = 4096

  /// Whether a read-only peer (the control group) may send it.
  public var isReadOnly: Bool {
    switch self {
    case .status, .check: return true
    default: return false
    }
  }

  /// The request as a line (without the newline).
  public var line: String {
    var words = [ControlRequest.version]
    switch self {
    case .status(let names): words += ["status"] + names
    case .start(let names): words += ["start"] + names
    case .stop(let names): words += ["stop"] + names
    case .restart(let names): words += ["restart"] + names
    case .signal(let name, let signal): words += ["signal", name, "\(signal.rawValue)"]
    case .check(let kind, let names): words += ["check", kind.rawValue] + names
    case .shutdown(let code): words += ["shutdown", "\(code)"]
    case .reload: words.append("reload")
    }
    var line = ""
    for (i, word) in words.enumerated() { line += (i == 0 ? "" : " ") + word }
    return line
  }

  /// Parses one request line (without its newline).
  public init(parsing line: String) throws(ControlFailure) {
    let words = line.split(separator: " ", omittingEmptySubsequences: false).map(String.init)
    guard words.first == ControlRequest.version else {
      throw ControlFailure(.protocolError, "unsupported protocol: requests start with '\(ControlRequest.version)'")
    }
    guard words.count >= 2 else { throw ControlFailure(.protocolError, "missing command") }
    let arguments = Array(words.dropFirst(2))
    for word in arguments where word.isEmpty || !word.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7f }) {
      throw ControlFailure(.protocolError, "malformed argument")
    }
    func names(atLeast minimum: Int) throws(ControlFailure) -> [String] {
      if arguments.count < minimum { throw ControlFailure(.usage, "\(words[1]) needs a service name") }
      return arguments
    }
    switch words[1] {
    case "status": self = .status(names: arguments)
    case "start": self = .start(names: try names(atLeast: 1))
    case "stop": self = .stop(names: try names(atLeast: 1))
    case "restart": self = .restart(names: try names(atLeast: 1))
    case "signal":
      guard arguments.count == 2 else { throw ControlFailure(.usage, "signal needs a service and a signal") }
      guard let signal = Signal(parsing: arguments[1]) else { throw ControlFailure(.usage, "unknown signal '\(arguments[1])'") }
      self = .signal(name: arguments[0], signal)
    case "check":
      guard let kind = arguments.first.flatMap(ControlCheck.init(rawValue:)) else {
        throw ControlFailure(.usage, "check needs 'ready' or 'live'")
      }
      self = .check(kind, names: Array(arguments.dropFirst()))
    case "shutdown":
      guard arguments.count <= 1 else { throw ControlFailure(.usage, "shutdown takes at most an exit code") }
      guard let code = arguments.first.map({ Int32($0) }) ?? 0, code >= 0 && code <= 255 else {
        throw ControlFailure(.usage, "the exit code must be 0-255")
      }
      self = .shutdown(exitCode: code)
    case "reload":
      guard arguments.isEmpty else { throw ControlFailure(.usage, "reload takes no arguments") }
      self = .reload
    default:
      throw ControlFailure(.protocolError, "unknown command '\(words[1])'")
    }
  }
}

/// What `check` asks about.
public enum ControlCheck: String, Sendable {
  /// Ready for traffic: up, ready, and healthy if it has a health check.
  case ready
  /// Alive: its process runs (starting, running or restarting), not failed for good.
  case live
}

/// A request that failed, with the exit code the client reports.
public struct ControlFailure: Error, Equatable, Sendable {
  public enum Code: Int32, Sendable {
    case failed = 1, usage = 2, unknownService = 3, notPermitted = 4, timeout = 5, notRunning = 6, protocolError = 7
  }
  public var code: Code
  public var message: String
  public init(_ code: Code, _ message: String) {
    self.code = code
    self.message = message
  }

  /// `{"ok":false,"code":3,"error":"..."}`
  public var response: JSONValue {
    .object([("ok", .bool(false)), ("code", .number(Int64(code.rawValue))), ("error", .string(message))])
  }
}

extension Supervisor {
  /// The services named, or all; unknown names are an error.
  public func serviceIndices(_ names: [String]) throws(ControlFailure) -> [Int] {
    if names.isEmpty { return graph.services.indices.filter { isListed($0) } }
    var indices: [Int] = []
    for name in names {
      guard let index = graph.services.firstIndex(where: { $0.name == name }), isListed(index) else {
        throw ControlFailure(.unknownService, "no service named '\(name)'")
      }
      indices.append(index)
    }
    return indices
  }

  /// One service's status, as `ibex status --json` shows it.
  public func status(of i: Int, now: Instant) -> JSONValue {
    let service = graph.services[i]
    let phase = phase(of: i)
    var members: [(String, JSONValue)] = [
      ("name", .string(service.name)), ("description", service.description.map { .string($0) } ?? .null), ("state", .string(phase.name)),
    ]
    if case .failed(let reason) = phase { members.append(("reason", .string(reason.description))) }
    members.append(("pid", mainPID(of: i).map { .number(Int64($0)) } ?? .null))
    let uptime: JSONValue
    if mainPID(of: i) != nil, let started = startedAt(of: i) {
      uptime = .number((now - started).nanoseconds / 1_000_000)
    } else {
      uptime = .null
    }
    members.append(("uptime_ms", uptime))
    members.append(("restarts", .number(Int64(restartCount(of: i)))))
    members.append(("last_exit", mostRecentExit(of: i).map { .string($0.description) } ?? .null))
    members.append(("ready", .bool(isReady(i))))
    // A health state only while there is a process to be healthy: a stopped service is not.
    let health: JSONValue
    if service.health == nil || mainPID(of: i) == nil {
      health = .null
    } else {
      health = .string(isHealthy(i).map { $0 ? "healthy" : "unhealthy" } ?? "starting")
    }
    members.append(("health", health))
    members.append(("status", statusText(of: i).map { .string($0) } ?? .null))
    members.append(("essential", .bool(service.essential)))
    return .object(members)
  }

  /// Whether service `i` passes `check`.
  public func passes(_ check: ControlCheck, _ i: Int) -> Bool {
    switch check {
    case .ready: return isReady(i)
    case .live:
      switch phase(of: i) {
      case .starting, .running, .restarting, .done: return true
      case .waiting: return !isShuttingDown
      default: return false
      }
    }
  }

  /// The services `check` looks at without names: the essential ones, or all if none is.
  public var checkedByDefault: [Int] {
    let listed = graph.services.indices.filter { isListed($0) }
    let essential = listed.filter { graph.services[$0].essential }
    return essential.isEmpty ? listed : essential
  }
}
