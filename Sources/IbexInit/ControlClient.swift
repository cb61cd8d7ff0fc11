import IbexCore
import IbexRuntime

/// The client commands: `ibex status|start|stop|restart|signal|check|wait|shutdown`, which talk
/// to a running `ibex init` over its control socket.
public enum ControlClient {
  public static let commands = ["status", "start", "stop", "restart", "signal", "check", "wait", "reload", "shutdown"]

  public static let help = """
    Usage: ibex status [--json] [NAME...]
           ibex start|stop|restart NAME...|--all
           ibex signal NAME SIGNAL
           ibex check [--ready|--live] [NAME...]
           ibex wait [--ready|--up|--down] [--timeout DURATION] NAME...
           ibex reload
           ibex shutdown [--exit-code N]

    Talk to the running `ibex init` through its control socket (/run/ibex/control, under
    $IBEX_ROOT or --root DIR). Root and ibex's own user may do everything; members of
    $IBEX_CONTROL_GROUP may use status and check.

      status     state, pid, uptime, restarts, last exit, readiness and health of the services,
                 and the timers: next elapse, last run, result, duration (a table; --json for
                 one line of JSON)
      start, stop, restart
                 the services named, or every service with --all; stopping NAME stops
                 what Requires= it first, restarting it restarts them too
      start      start services; `start NAME` runs a timer's job now; `start NAME.timer` and
                 `stop NAME.timer` enable and disable a timer (docs/timers.md)
      check      exit 0 when the services (default: the essential ones, or all) are ready
                 (--ready, the default) or alive (--live): for Kubernetes exec probes
      wait       until the services are ready (--ready, default), up, or down; --timeout
                 (default 30s) then exit 5
      reload     read the service files, timers and crontabs again: start new services,
                 restart changed ones, stop removed ones; an invalid configuration changes
                 nothing (exit 1)
      shutdown   stop everything; ibex exits with N (default 0)

    Exit codes: 0 ok, 1 failed (or check not passed), 2 usage, 3 unknown service, 4 not
    permitted, 5 timeout, 6 ibex is not running, 7 protocol error. See docs/control.md.

    """

  /// Runs client command `command` with `arguments`; returns the exit code.
  public static func main(command: String, arguments: [String]) -> Int32 {
    var root = Environment.value(of: "IBEX_ROOT", in: ThisProcess.environmentStrings) ?? ""
    var json = false
    var check = ControlCheck.ready
    var waitFor = "ready"
    var timeout = TimeSpan.seconds(30)
    var exitCode: Int32 = 0
    var all = false
    var words: [String] = []
    var index = 0
    func usage(_ message: String) -> Int32 {
      Console.emit("usage error: \(message) (see 'ibex \(command) --help')")
      return ControlFailure.Code.usage.rawValue
    }
    while index < arguments.count {
      let word = arguments[index]
      index += 1
      if word == "--" {
        words += arguments[index...]
        break
      }
      guard word.hasPrefix("-") && word.count > 1 else {
        words.append(word)
        continue
      }
      func value() -> String? {
        guard index < arguments.count else { return nil }
        index += 1
        return arguments[index - 1]
      }
      switch (command, word) {
      case (_, "-h"), (_, "--help"):
        Console.output(help)
        return 0
      case (_, "--root"):
        guard let value = value(), value.hasPrefix("/") else { return usage("--root needs an absolute path") }
        root = value
      case ("status", "--json"): json = true
      case ("start", "--all"), ("stop", "--all"), ("restart", "--all"): all = true
      case ("check", "--ready"): check = .ready
      case ("check", "--live"): check = .live
      case ("wait", "--ready"), ("wait", "--up"), ("wait", "--down"): waitFor = String(word.dropFirst(2))
      case ("wait", "--timeout"):
        guard let value = value(), let span = try? TimeSpan(parsing: value) else { return usage("--timeout needs a duration") }
        timeout = span
      case ("shutdown", "--exit-code"):
        guard let value = value(), let code = Int32(value), code >= 0 && code <= 255 else {
          return usage("--exit-code needs a number from 0 to 255")
        }
        exitCode = code
      default:
        return usage("unknown option '\(word)'")
      }
    }
    let request: ControlRequest
    switch command {
    case "status": request = .status(names: words)
    case "start", "stop", "restart":
      if all && !words.isEmpty { return usage("\(command) takes service names or --all, not both") }
      if all {
        switch allServices(root: root) {
        case .success(let names): words = names
        case .failure(let failure): return report(failure)
        }
        if words.isEmpty { return 0 }
      }
      if words.isEmpty { return usage("\(command) needs at least one service name, or --all") }
      request = command == "start" ? .start(names: words) : command == "stop" ? .stop(names: words) : .restart(names: words)
    case "signal":
      guard words.count == 2, let signal = Signal(parsing: words[1]) else { return usage("signal needs NAME and a signal such as HUP") }
      request = .signal(name: words[0], signal)
    case "check": request = .check(check, names: words)
    case "wait":
      if words.isEmpty { return usage("wait needs at least one service name") }
      return wait(for: waitFor, names: words, timeout: timeout, root: root)
    case "shutdown":
      if !words.isEmpty { return usage("shutdown takes no service names") }
      request = .shutdown(exitCode: exitCode)
    case "reload":
      if !words.isEmpty { return usage("reload takes no arguments") }
      request = .reload
    default:
      return usage("unknown command")
    }

    var connection: Connection
    switch Connection.open(root: root) {
    case .success(let opened): connection = opened
    case .failure(let failure): return report(failure)
    }
    defer { connection.close() }
    let line: String
    switch connection.exchange(request) {
    case .success(let answer): line = answer
    case .failure(let failure): return report(failure)
    }
    // A successful status for machines is passed through as ibex wrote it (no parsing).
    if json, case .status = request, line.hasPrefix("{\"ok\":true,") {
      Console.output(line + "\n")
      return 0
    }
    guard let response = JSONValue(parsing: line) else { return report(ControlFailure(.protocolError, "malformed answer from ibex")) }
    if response["ok"]?.bool != true {
      return report(ControlFailure(
        ControlFailure.Code(rawValue: Int32(response["code"]?.number ?? 1)) ?? .failed,
        response["error"]?.string ?? "request failed"))
    }
    switch request {
    case .status:
      if json {
        Console.output(response.encoded + "\n")
      } else {
        let services = response["services"]?.array ?? []
        let timers = response["timers"]?.array ?? []
        var text = services.isEmpty && !timers.isEmpty ? "" : table(services)
        if !timers.isEmpty { text += (text.isEmpty ? "" : "\n") + timerTable(timers) }
        Console.output(text)
      }
    case .reload:
      func names(_ key: String) -> String {
        let list = (response[key]?.array ?? []).compactMap { $0.string }
        var text = ""
        for (i, name) in list.enumerated() { text += (i == 0 ? " " : ", ") + name }
        return text.isEmpty ? " none" : text
      }
      Console.output("added:\(names("added"))\nchanged:\(names("changed"))\nremoved:\(names("removed"))\n")
    default:
      break
    }
    return 0
  }

  /// The names of every service (`--all`), in ibex's order.
  private static func allServices(root: String) -> Result<[String], ControlFailure> {
    var connection: Connection
    switch Connection.open(root: root) {
    case .success(let opened): connection = opened
    case .failure(let failure): return .failure(failure)
    }
    defer { connection.close() }
    switch connection.request(.status(names: [])) {
    case .success(let response): return .success((response["services"]?.array ?? []).compactMap { $0["name"]?.string })
    case .failure(let failure): return .failure(failure)
    }
  }

  private static func report(_ failure: ControlFailure) -> Int32 {
    Console.emit("\(failure.code == .failed ? "" : "fatal: ")\(failure.message)")
    return failure.code.rawValue
  }

  /// Polls status until every service matches or the timeout passes.
  private static func wait(for condition: String, names: [String], timeout: TimeSpan, root: String) -> Int32 {
    var connection: Connection
    switch Connection.open(root: root) {
    case .success(let opened): connection = opened
    case .failure(let failure): return report(failure)
    }
    defer { connection.close() }
    let deadline = EventLoop.now() + timeout
    while true {
      let response: JSONValue
      switch connection.request(.status(names: names)) {
      case .success(let value): response = value
      case .failure(let failure): return report(failure)
      }
      let services = response["services"]?.array ?? []
      let pending = services.filter { service in
        let state = service["state"]?.string ?? ""
        switch condition {
        case "up": return !(state == "running" || state == "done")
        case "down": return !(state == "stopped" || state == "failed" || state == "inactive" || state == "done")
        default: return service["ready"]?.bool != true
        }
      }
      if pending.isEmpty { return 0 }
      if EventLoop.now() >= deadline {
        var list = ""
        for (i, service) in pending.enumerated() { list += (i == 0 ? "" : ", ") + (service["name"]?.string ?? "?") }
        return report(ControlFailure(.timeout, "still not \(condition) after \(timeout.description): \(list)"))
      }
      ThisProcess.sleep(milliseconds: 20)
    }
  }

  /// `TIMER UNIT NEXT LAST RUN RESULT DURATION RUNS SKIPPED`, times relative to now.
  static func timerTable(_ timers: [JSONValue]) -> String {
    let wall = WallTime.now()
    let now = wall.seconds * 1000 + Int64(wall.nanoseconds / 1_000_000)
    var rows = [["TIMER", "UNIT", "NEXT", "LAST RUN", "RESULT", "DURATION", "RUNS", "SKIPPED"]]
    for timer in timers {
      var next = timer["next_elapse_ms"]?.number.map { "in " + TimeSpan.milliseconds(max($0 - now, 0)).roundedDescription } ?? "-"
      if timer["enabled"]?.bool == false { next = "disabled" }
      let last = timer["last_run_ms"]?.number.map { TimeSpan.milliseconds(max(now - $0, 0)).roundedDescription + " ago" } ?? "-"
      let result = timer["running"]?.bool == true ? "running" : timer["last_result"]?.string ?? "-"
      let duration = timer["last_duration_ms"]?.number.map { TimeSpan.milliseconds($0).description } ?? "-"
      rows.append([
        timer["name"]?.string ?? "?", timer["unit"]?.string ?? "?", next, last, result, duration,
        timer["runs"]?.number.map { "\($0)" } ?? "0", timer["skipped"]?.number.map { "\($0)" } ?? "0",
      ])
    }
    return aligned(rows)
  }

  /// `NAME STATE PID UPTIME RESTARTS LAST-EXIT READY HEALTH [DESCRIPTION]`, aligned; states
  /// in colour on a TTY. A failed state says why (`failed: restarted too often ...`).
  static func table(_ services: [JSONValue]) -> String {
    let described = services.contains { $0["description"]?.string != nil }
    var rows = [["NAME", "STATE", "PID", "UPTIME", "RESTARTS", "LAST EXIT", "READY", "HEALTH"] + (described ? ["DESCRIPTION"] : [])]
    for service in services {
      let uptime = service["uptime_ms"]?.number.map { TimeSpan.milliseconds($0).roundedDescription } ?? "-"
      var state = service["state"]?.string ?? "?"
      if let reason = service["reason"]?.string { state += ": " + reason }
      rows.append(
        [
          service["name"]?.string ?? "?", state, service["pid"]?.number.map { "\($0)" } ?? "-",
          uptime, service["restarts"]?.number.map { "\($0)" } ?? "0", service["last_exit"]?.string ?? "-",
          service["ready"]?.bool == true ? "yes" : "no", service["health"]?.string ?? "-",
        ] + (described ? [service["description"]?.string ?? "-"] : []))
    }
    return aligned(rows, colouringState: true)
  }

  /// Rows as columns, aligned; with `colouringState`, column 2 in colour on a TTY.
  static func aligned(_ rows: [[String]], colouringState: Bool = false) -> String {
    var widths = Array(repeating: 0, count: rows[0].count)
    for row in rows {
      for (i, cell) in row.enumerated() { widths[i] = max(widths[i], cell.count) }
    }
    let colour = colouringState && FileDescriptor.standardOutput.isTerminal
    var out = ""
    for (r, row) in rows.enumerated() {
      for (i, cell) in row.enumerated() {
        var text = cell
        if i < row.count - 1 { text += String(repeating: " ", count: widths[i] - cell.count + 2) }
        if colour && r > 0 && i == 1 {
          let code = cell == "running" || cell == "done" ? "32" : cell.hasPrefix("failed") ? "31" : "33"
          text = "\u{1B}[\(code)m" + cell + "\u{1B}[0m" + String(repeating: " ", count: widths[i] - cell.count + 2)
        }
        out += text
      }
      out += "\n"
    }
    return out
  }
}

/// One connection to the control socket.
struct Connection {
  let fd: FileDescriptor
  private var pending: [UInt8] = []

  static func open(root: String) -> Result<Connection, ControlFailure> {
    // A server that refuses (or drops) the connection closes it: writing then is EPIPE, to be
    // reported with the server's answer and its exit code, not death by SIGPIPE (exit 141).
    try? SignalPolling.ignore(.pipe)
    let path = root + "/run/ibex/control"
    do {
      return .success(Connection(fd: try UnixSocket.connect(to: path, timeoutMilliseconds: 10_000)))
    } catch {
      let hint = error == .permissionDenied ? " (the control socket is for root and ibex's user)" : " (is ibex init running?)"
      return .failure(ControlFailure(error == .permissionDenied ? .notPermitted : .notRunning,
        "unable to reach ibex at \(path): \(error.description)\(hint)"))
    }
  }

  private init(fd: FileDescriptor) { self.fd = fd }

  /// Sends a request and reads the one-line JSON answer.
  mutating func send(_ request: ControlRequest) -> Result<JSONValue, ControlFailure> {
    switch exchange(request) {
    case .success(let line):
      guard let value = JSONValue(parsing: line) else { return .failure(ControlFailure(.protocolError, "malformed answer from ibex")) }
      return .success(value)
    case .failure(let failure):
      return .failure(failure)
    }
  }

  /// Sends a request and reads its answer; `{"ok":false,"code":N,"error":...}` becomes the
  /// failure it describes. Shared by the client commands and the s6 commands (S6/).
  mutating func request(_ request: ControlRequest) -> Result<JSONValue, ControlFailure> {
    switch send(request) {
    case .success(let response):
      if response["ok"]?.bool == true { return .success(response) }
      return .failure(ControlFailure(
        ControlFailure.Code(rawValue: Int32(response["code"]?.number ?? 1)) ?? .failed,
        response["error"]?.string ?? "request failed"))
    case .failure(let failure):
      return .failure(failure)
    }
  }

  /// Sends a request and reads the answer line, as text.
  mutating func exchange(_ request: ControlRequest) -> Result<String, ControlFailure> {
    var sendFailure: Errno?
    do {
      try fd.writeAll(request.line + "\n")
    } catch {
      // The server may have answered before it closed (a refusal): read that answer first.
      sendFailure = error
    }
    var chunk = [UInt8](repeating: 0, count: 65536)
    while true {
      if let newline = pending.firstIndex(of: 0x0a) {
        let line = String(decoding: pending[..<newline], as: UTF8.self)
        pending.removeSubrange(...newline)
        return .success(line)
      }
      var failure: Errno?
      let read = chunk.withUnsafeMutableBytes { bytes -> Int? in
        do throws(Errno) {
          return try fd.read(into: bytes)
        } catch {
          failure = error
          return 0
        }
      }
      // The socket has a receive timeout: no data in time reads as "would block".
      guard let read else { return .failure(ControlFailure(.timeout, "ibex did not answer within 10s")) }
      if read == 0 {
        if let sendFailure { return .failure(ControlFailure(.failed, "unable to send the request: \(sendFailure.description)")) }
        return .failure(ControlFailure(.failed, "ibex closed the connection" + (failure.map { ": \($0.description)" } ?? "")))
      }
      if pending.count + read > 64 << 20 { return .failure(ControlFailure(.protocolError, "answer too long")) }
      pending += chunk[0..<read]
    }
  }

  func close() { fd.close() }
}

extension TimeSpan {
  /// `3d4h`, `2h5m`, `4m10s`, `12s`: for uptimes.
  var roundedDescription: String {
    let seconds = nanoseconds / 1_000_000_000
    if seconds >= 86_400 { return "\(seconds / 86_400)d\((seconds % 86_400) / 3600)h" }
    if seconds >= 3600 { return "\(seconds / 3600)h\((seconds % 3600) / 60)m" }
    if seconds >= 60 { return "\(seconds / 60)m\(seconds % 60)s" }
    return "\(seconds)s"
  }
}
