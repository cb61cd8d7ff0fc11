import IbexCore
import IbexLog
import IbexRuntime

/// One service in `ibex status`'s JSON, seen the way s6's tools see a supervised process.
public struct ServiceSnapshot: Equatable, Sendable {
  public var name: String
  /// ibex's phase: running, starting, stopping, restarting, done, stopped, failed, ...
  public var state: String
  public var pid: Int64?
  public var uptimeMilliseconds: Int64?
  /// `exited 3`, `killed by SIGTERM`, or nil.
  public var lastExit: String?
  public var ready: Bool

  public init(name: String, state: String, pid: Int64? = nil, uptimeMilliseconds: Int64? = nil, lastExit: String? = nil, ready: Bool = false) {
    self.name = name
    self.state = state
    self.pid = pid
    self.uptimeMilliseconds = uptimeMilliseconds
    self.lastExit = lastExit
    self.ready = ready
  }

  public init(json: JSONValue) {
    self.init(
      name: json["name"]?.string ?? "?", state: json["state"]?.string ?? "?", pid: json["pid"]?.number,
      uptimeMilliseconds: json["uptime_ms"]?.number, lastExit: json["last_exit"]?.string, ready: json["ready"]?.bool == true)
  }

  /// Up as s6 means it: its process runs (or, for a oneshot, it has completed).
  public var isUp: Bool { pid != nil || state == "done" }
  /// Down for good: not running and not about to be started again.
  public var isDown: Bool { !isUp && state != "starting" && state != "restarting" && state != "waiting" }
  /// Whether ibex will (re)start it (s6's "want up").
  public var wantedUp: Bool { !(state == "stopped" || state == "stopping" || state == "failed" || state == "inactive") }
  /// s6's ready flag: up and ready, or (down) not in the middle of stopping.
  public var isReady: Bool { isUp ? ready : state != "stopping" }
  /// Seconds in the current up/down state (ibex does not record when a service went down: 0).
  public var seconds: Int64 { isUp ? (uptimeMilliseconds ?? 0) / 1000 : 0 }

  /// The last exit code, when the last run exited normally.
  public var exitCode: Int32? {
    guard let lastExit, lastExit.hasPrefix("exited ") else { return nil }
    return Int32(lastExit.dropFirst(7))
  }

  /// The signal that killed the last run.
  public var exitSignal: Signal? {
    guard let lastExit, lastExit.hasPrefix("killed by ") else { return nil }
    let name = lastExit.dropFirst(10).split(separator: " ").first.map(String.init) ?? ""
    return Signal(parsing: name)
  }

  /// s6-svstat's summary: `up (pid 123) 45 seconds, ready 45 seconds` or
  /// `down (exitcode 0) 0 seconds, normally up, ready 0 seconds`.
  public func summary(numericSignal: Bool = false) -> String {
    var text: String
    if isUp {
      text = pid.map { "up (pid \($0)) " } ?? "up "
      text += "\(seconds) seconds"
      if !wantedUp { text += ", want down" }
    } else {
      text = "down "
      if let code = exitCode {
        text += "(exitcode \(code)) "
      } else if let signal = exitSignal {
        text += "(signal \(numericSignal ? "\(signal.rawValue)" : signal.name)) "
      }
      text += "\(seconds) seconds, normally up"
      if wantedUp { text += ", want up" }
    }
    if isReady { text += ", ready \(seconds) seconds" }
    return text
  }

  /// The fields `s6-svstat -o` knows.
  public static let fieldNames = [
    "up", "wantedup", "normallyup", "ready", "paused", "pid", "pgid", "exitcode", "signal", "signum", "updownsince",
    "readysince", "updownfor", "readyfor",
  ]

  /// The value of one `-o` field; `now` is the wall clock (seconds, nanoseconds) for the TAI64N
  /// labels. nil for an unknown field.
  public func field(_ name: String, now: WallTime) -> String? {
    func bool(_ value: Bool) -> String { value ? "true" : "false" }
    switch name {
    case "up": return bool(isUp)
    case "wantedup": return bool(wantedUp)
    case "normallyup": return "true"
    case "ready": return bool(isReady)
    case "paused": return "false"
    // ibex starts every service in its own session, so its process group is its pid.
    case "pid", "pgid": return pid.map { "\($0)" } ?? "-1"
    case "exitcode": return isUp ? "-1" : exitCode.map { "\($0)" } ?? "-1"
    case "signal": return isUp ? "NA" : exitSignal?.name ?? "NA"
    case "signum": return isUp ? "-1" : exitSignal.map { "\($0.rawValue)" } ?? "-1"
    case "updownsince", "readysince": return Timestamp.tai64n(WallTime(seconds: now.seconds - seconds, nanoseconds: now.nanoseconds))
    case "updownfor", "readyfor": return "\(seconds)"
    default: return nil
    }
  }
}

/// The name of the ibex service an s6 service directory argument means: its last component
/// (`/run/service/web`, `/run/s6-rc/servicedirs/web/`, `web` all name `web`).
public func serviceName(fromDirectory argument: String) -> String { S6Commands.basename(argument) }

/// How ibex's control failures become s6 exit codes.
public enum S6ExitCodes {
  /// For s6-svc and s6-svwait: 102 for an unknown service (s6: no supervisor there), 100 for
  /// a refusal, 111 for everything else (ibex unreachable, timeouts, protocol).
  public static func supervision(_ code: ControlFailure.Code) -> Int32 {
    switch code {
    case .unknownService: return 102
    case .usage, .notPermitted: return 100
    case .failed: return 1
    default: return 111
    }
  }

  /// For s6-rc: 3 unknown name, 1 failed, 2 timeout, 100 usage/refused, 111 system.
  public static func rc(_ code: ControlFailure.Code) -> Int32 {
    switch code {
    case .unknownService: return 3
    case .failed: return 1
    case .timeout: return 2
    case .usage, .notPermitted: return 100
    default: return 111
    }
  }
}
