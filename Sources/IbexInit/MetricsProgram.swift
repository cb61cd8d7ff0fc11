import IbexCore
import IbexRuntime

/// `ibex metrics` and `ibex serve-metrics` (docs/metrics.md): the supervisor's metrics, read
/// over the control socket (a read: members of $IBEX_CONTROL_GROUP may use them), plus what
/// /proc tells about each service's processes, read here and never in PID 1.
public enum MetricsProgram {
  public static let help = """
    Usage: ibex metrics [--openmetrics] [--json] [--root DIR]

    Print the metrics of the running `ibex init` in the Prometheus text format 0.0.4
    (--openmetrics: OpenMetrics 1.0.0; --json: the snapshot as ibex sends it). Root, ibex's
    own user and members of $IBEX_CONTROL_GROUP may use it. See docs/metrics.md.

    """

  /// Runs `ibex metrics ARGS`.
  public static func main(arguments: [String]) -> Int32 {
    var root = Environment.value(of: "IBEX_ROOT", in: ThisProcess.environmentStrings) ?? ""
    var format = MetricsFormat.prometheus
    var json = false
    var index = 0
    while index < arguments.count {
      let word = arguments[index]
      index += 1
      switch word {
      case "-h", "--help":
        Console.output(help)
        return ExitCode.success
      case "--openmetrics": format = .openMetrics
      case "--json": json = true
      case "--root":
        guard index < arguments.count, arguments[index].hasPrefix("/") else { return usage("--root needs an absolute path", "metrics") }
        root = arguments[index]
        index += 1
      default:
        return usage("unknown argument '\(word)'", "metrics")
      }
    }
    switch fetch(root: root, timeoutMilliseconds: 10_000) {
    case .success(let snapshot):
      Console.output(json ? snapshot.json.encoded + "\n" : MetricsExposition.render(snapshot, format: format))
      return ExitCode.success
    case .failure(let failure):
      Console.emit("\(failure.code == .failed ? "" : "fatal: ")\(failure.message)")
      return failure.code.rawValue
    }
  }

  static func usage(_ message: String, _ command: String) -> Int32 {
    Console.emit("usage error: \(message) (see 'ibex \(command) --help')")
    return ExitCode.usage
  }

  /// Asks ibex for its snapshot and adds the processes' usage from /proc.
  static func fetch(root: String, timeoutMilliseconds: Int32) -> Result<MetricsSnapshot, ControlFailure> {
    var connection: Connection
    switch Connection.open(root: root, timeoutMilliseconds: timeoutMilliseconds) {
    case .success(let opened): connection = opened
    case .failure(let failure): return .failure(failure)
    }
    defer { connection.close() }
    let response: JSONValue
    switch connection.request(.metrics) {
    case .success(let value): response = value
    case .failure(let failure): return .failure(failure)
    }
    guard let body = response["metrics"], var snapshot = MetricsSnapshot(json: body) else {
      return .failure(ControlFailure(.protocolError, "malformed metrics from ibex"))
    }
    ServiceMetrics.addUsage(&snapshot.services, from: ProcessTable.stats(), pageSize: ProcessTable.pageSize)
    return .success(snapshot)
  }
}
