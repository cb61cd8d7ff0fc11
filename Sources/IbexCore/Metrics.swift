/// Metrics of a running ibex (docs/metrics.md): what the control verb `metrics` answers, and
/// the Prometheus and OpenMetrics text expositions of it.
///
/// The supervisor (PID 1) only reports what it already knows: states, counters, pids. What
/// costs a walk of /proc (CPU, memory and process count of each service) is added by the
/// reader, `ibex metrics` or `ibex serve-metrics`, in its own process (`ProcessUsage`).
/// Every time is an integer (nanoseconds or Unix milliseconds): no floating point on the wire
/// or in the formatter.

/// Counters of the supervisor as a whole, kept in its state.
public struct SupervisorCounters: Equatable, Sendable {
  /// Every child reaped, orphans included.
  public var childrenReaped: Int64 = 0
  /// Requests answered on the control socket.
  public var controlRequests: Int64 = 0
  /// Connections and requests refused (not permitted, too many connections, read-only peer).
  public var controlRefusals: Int64 = 0
  /// When the boot began and when it was over (every service ready or settled).
  public var bootStartedAt: Instant?
  public var bootCompletedAt: Instant?
  public init() {}
}

/// One stream of one service's output, as ibex's log handling counted it.
public struct LogStreamCounters: Equatable, Sendable {
  public var stream: String
  public var lines: Int64
  public var bytes: Int64
  /// Time during which ibex did not read the stream because its sink was full.
  public var backpressureNanoseconds: Int64
  public init(stream: String, lines: Int64 = 0, bytes: Int64 = 0, backpressureNanoseconds: Int64 = 0) {
    self.stream = stream
    self.lines = lines
    self.bytes = bytes
    self.backpressureNanoseconds = backpressureNanoseconds
  }
}

/// What the processes of one service use, read from /proc by the reader.
public struct ProcessUsage: Equatable, Sendable {
  public var count: Int64 = 0
  /// User plus system time, in clock ticks (100 per second on Linux), of the processes alive
  /// and of the children they reaped.
  public var cpuTicks: Int64 = 0
  public var residentBytes: Int64 = 0
  public init(count: Int64 = 0, cpuTicks: Int64 = 0, residentBytes: Int64 = 0) {
    self.count = count
    self.cpuTicks = cpuTicks
    self.residentBytes = residentBytes
  }
}

/// One service, as the metrics show it.
public struct ServiceMetrics: Equatable, Sendable {
  public var name: String
  /// `ServicePhase.name`.
  public var state: String
  /// Its main process runs.
  public var up: Bool
  public var ready: Bool
  /// nil without a health check; else `starting`, `healthy` or `unhealthy`.
  public var health: String?
  public var restarts: Int64
  /// When the current (or last) main process started, in Unix milliseconds.
  public var startTimeUnixMilliseconds: Int64?
  public var lastExit: ProcessExit?
  /// The main process: its session holds the service's processes.
  public var mainPID: Int32?
  public var logs: [LogStreamCounters] = []
  /// Filled in by the reader; nil when it did not look (or found no /proc).
  public var processes: ProcessUsage?

  /// Adds what the processes use, summed by each service's session (the main process leads
  /// it). Services that do not run get none.
  public static func addUsage(_ services: inout [ServiceMetrics], from stats: [ProcessStat], pageSize: Int64) {
    let sessions = Set(services.compactMap { $0.mainPID })
    let usage = ProcessStat.usage(stats, sessions: sessions, pageSize: pageSize)
    for k in services.indices {
      services[k].processes = services[k].mainPID.flatMap { usage[$0] } ?? ProcessUsage()
    }
  }

  public init(name: String, state: String, up: Bool = false, ready: Bool = false, health: String? = nil, restarts: Int64 = 0) {
    self.name = name
    self.state = state
    self.up = up
    self.ready = ready
    self.health = health
    self.restarts = restarts
  }

  /// Every state a service can be in, for the state label set.
  public static let states = ["inactive", "waiting", "starting", "running", "stopping", "restarting", "done", "stopped", "failed"]
  public static let healthStates = ["starting", "healthy", "unhealthy"]
}

/// One timer. The hook for the scheduler (issue "timers"): it fills `MetricsSnapshot.timers`
/// and the exposition shows them; without timers nothing is shown.
public struct TimerMetrics: Equatable, Sendable {
  public var name: String
  public var lastRunUnixMilliseconds: Int64?
  /// `success`, `failure`, ... of the last run (nil: never ran).
  public var lastResult: String?
  public var lastDurationNanoseconds: Int64?
  public var skippedRuns: Int64 = 0
  public init(name: String) { self.name = name }
}

/// Everything one scrape shows.
public struct MetricsSnapshot: Equatable, Sendable {
  public var version: String
  /// When ibex started, in Unix milliseconds.
  public var startTimeUnixMilliseconds: Int64
  public var bootDurationNanoseconds: Int64?
  public var childrenReaped: Int64 = 0
  public var controlRequests: Int64 = 0
  public var controlRefusals: Int64 = 0
  public var shuttingDown = false
  public var services: [ServiceMetrics] = []
  public var timers: [TimerMetrics] = []

  public init(version: String, startTimeUnixMilliseconds: Int64) {
    self.version = version
    self.startTimeUnixMilliseconds = startTimeUnixMilliseconds
  }
}

extension Supervisor {
  /// The metrics of every listed service and of the supervisor. `wallNow` (Unix
  /// nanoseconds) turns monotonic instants into timestamps; `logs` are ServiceOutput's
  /// counters by service name.
  public func metrics(
    version: String, startTimeUnixMilliseconds: Int64, now: Instant, wallNow: Int64,
    logs: [String: [LogStreamCounters]] = [:]
  ) -> MetricsSnapshot {
    var snapshot = MetricsSnapshot(version: version, startTimeUnixMilliseconds: startTimeUnixMilliseconds)
    if let start = counters.bootStartedAt, let end = counters.bootCompletedAt { snapshot.bootDurationNanoseconds = (end - start).nanoseconds }
    snapshot.childrenReaped = counters.childrenReaped
    snapshot.controlRequests = counters.controlRequests
    snapshot.controlRefusals = counters.controlRefusals
    snapshot.shuttingDown = isShuttingDown
    for i in graph.services.indices where isListed(i) {
      let service = graph.services[i]
      var metrics = ServiceMetrics(
        name: service.name, state: phase(of: i).name, up: mainPID(of: i) != nil, ready: isReady(i),
        restarts: Int64(restartCount(of: i)))
      if service.health != nil { metrics.health = isHealthy(i).map { $0 ? "healthy" : "unhealthy" } ?? "starting" }
      if let started = startedAt(of: i) {
        metrics.startTimeUnixMilliseconds = (wallNow - (now - started).nanoseconds) / 1_000_000
      }
      metrics.lastExit = lastExit(of: i)
      metrics.mainPID = mainPID(of: i)
      metrics.logs = logs[service.name] ?? []
      snapshot.services.append(metrics)
    }
    return snapshot
  }
}

// MARK: - On the wire (the control verb's answer)

extension MetricsSnapshot {
  public var json: JSONValue {
    func optional(_ value: Int64?) -> JSONValue { value.map { .number($0) } ?? .null }
    let services: [JSONValue] = services.map { service in
      var members: [(String, JSONValue)] = [
        ("name", .string(service.name)), ("state", .string(service.state)), ("up", .bool(service.up)),
        ("ready", .bool(service.ready)), ("health", service.health.map { .string($0) } ?? .null),
        ("restarts", .number(service.restarts)), ("start_ms", optional(service.startTimeUnixMilliseconds)),
        ("pid", optional(service.mainPID.map { Int64($0) })),
      ]
      switch service.lastExit {
      case .exited(let code)?: members.append(("exit_code", .number(Int64(code))))
      case .signaled(let signal, let core)?:
        members.append(("exit_signal", .number(Int64(signal.rawValue))))
        members.append(("core", .bool(core)))
      case nil: break
      }
      if let usage = service.processes {
        members.append(("processes", .object([
          ("count", .number(usage.count)), ("cpu_ticks", .number(usage.cpuTicks)), ("rss_bytes", .number(usage.residentBytes)),
        ])))
      }
      members.append(("logs", .array(service.logs.map { log in
        .object([("stream", .string(log.stream)), ("lines", .number(log.lines)), ("bytes", .number(log.bytes)),
          ("backpressure_ns", .number(log.backpressureNanoseconds))])
      })))
      return .object(members)
    }
    let timers: [JSONValue] = timers.map { timer in
      .object([("name", .string(timer.name)), ("last_run_ms", optional(timer.lastRunUnixMilliseconds)),
        ("last_result", timer.lastResult.map { .string($0) } ?? .null),
        ("last_duration_ns", optional(timer.lastDurationNanoseconds)), ("skipped", .number(timer.skippedRuns))])
    }
    return .object([
      ("version", .string(version)), ("start_ms", .number(startTimeUnixMilliseconds)),
      ("boot_ns", optional(bootDurationNanoseconds)), ("reaped", .number(childrenReaped)),
      ("control_requests", .number(controlRequests)), ("control_refusals", .number(controlRefusals)),
      ("shutting_down", .bool(shuttingDown)), ("services", .array(services)), ("timers", .array(timers)),
    ])
  }

  /// Reads what `json` wrote; nil if it is not a snapshot.
  public init?(json: JSONValue) {
    guard let version = json["version"]?.string, let start = json["start_ms"]?.number else { return nil }
    self.init(version: version, startTimeUnixMilliseconds: start)
    bootDurationNanoseconds = json["boot_ns"]?.number
    childrenReaped = json["reaped"]?.number ?? 0
    controlRequests = json["control_requests"]?.number ?? 0
    controlRefusals = json["control_refusals"]?.number ?? 0
    shuttingDown = json["shutting_down"]?.bool ?? false
    for item in json["services"]?.array ?? [] {
      guard let name = item["name"]?.string, let state = item["state"]?.string else { return nil }
      var service = ServiceMetrics(
        name: name, state: state, up: item["up"]?.bool ?? false, ready: item["ready"]?.bool ?? false,
        health: item["health"]?.string, restarts: item["restarts"]?.number ?? 0)
      service.startTimeUnixMilliseconds = item["start_ms"]?.number
      service.mainPID = item["pid"]?.number.flatMap { Int32(exactly: $0) }
      if let code = item["exit_code"]?.number.flatMap({ Int32(exactly: $0) }) {
        service.lastExit = .exited(code: code)
      } else if let number = item["exit_signal"]?.number.flatMap({ Int32(exactly: $0) }) {
        service.lastExit = .signaled(Signal(rawValue: number), coreDumped: item["core"]?.bool ?? false)
      }
      if let usage = item["processes"] {
        service.processes = ProcessUsage(
          count: usage["count"]?.number ?? 0, cpuTicks: usage["cpu_ticks"]?.number ?? 0, residentBytes: usage["rss_bytes"]?.number ?? 0)
      }
      for log in item["logs"]?.array ?? [] {
        guard let stream = log["stream"]?.string else { continue }
        service.logs.append(LogStreamCounters(
          stream: stream, lines: log["lines"]?.number ?? 0, bytes: log["bytes"]?.number ?? 0,
          backpressureNanoseconds: log["backpressure_ns"]?.number ?? 0))
      }
      services.append(service)
    }
    for item in json["timers"]?.array ?? [] {
      guard let name = item["name"]?.string else { continue }
      var timer = TimerMetrics(name: name)
      timer.lastRunUnixMilliseconds = item["last_run_ms"]?.number
      timer.lastResult = item["last_result"]?.string
      timer.lastDurationNanoseconds = item["last_duration_ns"]?.number
      timer.skippedRuns = item["skipped"]?.number ?? 0
      timers.append(timer)
    }
  }
}

// MARK: - Exposition

/// The text formats a scrape can ask for.
public enum MetricsFormat: Sendable {
  /// Prometheus text format 0.0.4.
  case prometheus
  /// OpenMetrics 1.0.0 text.
  case openMetrics

  public var contentType: String {
    switch self {
    case .prometheus: return "text/plain; version=0.0.4; charset=utf-8"
    case .openMetrics: return "application/openmetrics-text; version=1.0.0; charset=utf-8"
    }
  }

  /// The format an HTTP `Accept` header asks for: OpenMetrics when it names
  /// `application/openmetrics-text` (with a non-zero q), else Prometheus text.
  public init(accept: String?) {
    self = .prometheus
    guard let accept else { return }
    for range in accept.split(separator: ",") {
      let parameters = range.split(separator: ";").map { MetricsFormat.trimmed($0) }
      guard let type = parameters.first, MetricsFormat.asciiLowercased(type) == "application/openmetrics-text" else { continue }
      let zero = parameters.dropFirst().contains { $0.hasPrefix("q=") && $0.dropFirst(2).allSatisfy { $0 == "0" || $0 == "." } }
      if !zero {
        self = .openMetrics
        return
      }
    }
  }

  private static func asciiLowercased(_ text: String) -> String {
    String(decoding: text.utf8.map { $0 >= 0x41 && $0 <= 0x5a ? $0 + 0x20 : $0 }, as: UTF8.self)
  }

  private static func trimmed(_ text: Substring) -> String {
    var utf8 = Array(text.utf8)
    while let last = utf8.last, last == 0x20 || last == 0x09 { utf8.removeLast() }
    let start = utf8.firstIndex { $0 != 0x20 && $0 != 0x09 } ?? utf8.count
    return String(decoding: utf8[start...], as: UTF8.self)
  }
}

/// Writes a snapshot as Prometheus or OpenMetrics text. Pure.
public struct MetricsExposition {
  private var text = ""
  private let format: MetricsFormat

  /// Clock ticks per second of /proc's CPU times (USER_HZ, 100 on every Linux ibex runs on).
  public static let ticksPerSecond: Int64 = 100

  public static func render(_ snapshot: MetricsSnapshot, format: MetricsFormat) -> String {
    var out = MetricsExposition(format: format)
    // About 1.3 KB per service: one allocation instead of a growing string.
    out.text.reserveCapacity(4096 + snapshot.services.count * 1536)
    out.write(snapshot)
    if format == .openMetrics { out.text += "# EOF\n" }
    return out.text
  }

  private init(format: MetricsFormat) { self.format = format }

  private enum Kind: String { case gauge, counter, info }

  /// `# HELP` and `# TYPE` of a family. Counters and infos are named without their suffix in
  /// OpenMetrics; their samples keep it.
  private mutating func family(_ name: String, _ kind: Kind, _ help: String) {
    var familyName = name
    var type = kind
    if format == .openMetrics {
      if kind == .counter && name.hasSuffix("_total") { familyName = String(name.dropLast(6)) }
      if kind == .info && name.hasSuffix("_info") { familyName = String(name.dropLast(5)) }
    } else if kind == .info {
      type = .gauge
    }
    text += "# HELP \(familyName) \(help)\n# TYPE \(familyName) \(type.rawValue)\n"
  }

  private mutating func sample(_ name: String, _ labels: [(String, String)], _ value: String) {
    text += name
    if !labels.isEmpty {
      text += "{"
      for (i, (label, labelValue)) in labels.enumerated() {
        text += (i == 0 ? "" : ",") + label + "=\"" + MetricsExposition.escaped(labelValue) + "\""
      }
      text += "}"
    }
    text += " " + value + "\n"
  }

  /// A label value with `\`, `"` and newlines escaped.
  static func escaped(_ value: String) -> String {
    guard value.utf8.contains(where: { $0 == 0x5c || $0 == 0x22 || $0 == 0x0a }) else { return value }
    var out = ""
    for scalar in value.unicodeScalars {
      switch scalar {
      case "\\": out += "\\\\"
      case "\"": out += "\\\""
      case "\n": out += "\\n"
      default: out.unicodeScalars.append(scalar)
      }
    }
    return out
  }

  /// `nanoseconds` as decimal seconds: `1.5`, `0.000001`, `12`.
  public static func seconds(nanoseconds: Int64) -> String { decimal(nanoseconds, scale: 1_000_000_000, digits: 9) }
  /// Unix milliseconds as decimal seconds.
  public static func seconds(milliseconds: Int64) -> String { decimal(milliseconds, scale: 1000, digits: 3) }

  private static func decimal(_ value: Int64, scale: Int64, digits: Int) -> String {
    let negative = value < 0
    let magnitude = value.magnitude
    let whole = magnitude / UInt64(scale)
    var fraction = magnitude % UInt64(scale)
    var text = (negative ? "-" : "") + "\(whole)"
    guard fraction != 0 else { return text }
    var width = digits
    while fraction % 10 == 0 {
      fraction /= 10
      width -= 1
    }
    let fractionText = "\(fraction)"
    text += "." + String(repeating: "0", count: width - fractionText.count) + fractionText
    return text
  }

  private mutating func perService(
    _ services: [ServiceMetrics], _ name: String, _ kind: Kind, _ help: String, _ value: (ServiceMetrics) -> String?
  ) {
    let values = services.compactMap { service in value(service).map { (service.name, $0) } }
    guard !values.isEmpty else { return }
    family(name, kind, help)
    for (service, text) in values { sample(name, [("service", service)], text) }
  }

  private mutating func write(_ snapshot: MetricsSnapshot) {
    family("ibex_build_info", .info, "The version of ibex (always 1).")
    sample("ibex_build_info", [("version", snapshot.version)], "1")
    family("ibex_start_time_seconds", .gauge, "When ibex started, in seconds since the Unix epoch.")
    sample("ibex_start_time_seconds", [], MetricsExposition.seconds(milliseconds: snapshot.startTimeUnixMilliseconds))
    if let boot = snapshot.bootDurationNanoseconds {
      family("ibex_boot_duration_seconds", .gauge, "Time from start until every service was ready or settled.")
      sample("ibex_boot_duration_seconds", [], MetricsExposition.seconds(nanoseconds: boot))
    }
    family("ibex_shutting_down", .gauge, "1 while ibex stops the container.")
    sample("ibex_shutting_down", [], snapshot.shuttingDown ? "1" : "0")
    family("ibex_children_reaped_total", .counter, "Child processes reaped, orphans included.")
    sample("ibex_children_reaped_total", [], "\(snapshot.childrenReaped)")
    family("ibex_control_requests_total", .counter, "Requests answered on the control socket.")
    sample("ibex_control_requests_total", [], "\(snapshot.controlRequests)")
    family("ibex_control_refusals_total", .counter, "Control connections and requests refused.")
    sample("ibex_control_refusals_total", [], "\(snapshot.controlRefusals)")

    let services = snapshot.services
    perService(services, "ibex_service_up", .gauge, "1 if the service's main process runs.") { $0.up ? "1" : "0" }
    perService(services, "ibex_service_ready", .gauge, "1 if the service is ready (up, and healthy if it has a health check).") {
      $0.ready ? "1" : "0"
    }
    if !services.isEmpty {
      family("ibex_service_state", .gauge, "The state of the service: 1 for the state it is in, 0 for the others.")
      for service in services {
        for state in ServiceMetrics.states {
          sample("ibex_service_state", [("service", service.name), ("state", state)], service.state == state ? "1" : "0")
        }
      }
    }
    let checked = services.filter { $0.health != nil }
    if !checked.isEmpty {
      family("ibex_service_health_state", .gauge, "The health of a service with a health check: 1 for its state, 0 for the others.")
      for service in checked {
        for state in ServiceMetrics.healthStates {
          sample("ibex_service_health_state", [("service", service.name), ("state", state)], service.health == state ? "1" : "0")
        }
      }
    }
    perService(services, "ibex_service_restarts_total", .counter, "Restarts of the service since ibex started.") { "\($0.restarts)" }
    perService(services, "ibex_service_start_time_seconds", .gauge, "When the current or last main process started, in Unix seconds.") {
      $0.startTimeUnixMilliseconds.map { MetricsExposition.seconds(milliseconds: $0) }
    }
    perService(services, "ibex_service_last_exit_code", .gauge, "Exit code of the last main process (128+N when killed by signal N).") {
      $0.lastExit.map { "\($0.shellExitCode)" }
    }
    perService(services, "ibex_service_last_exit_signal", .gauge, "Signal that killed the last main process (0: it exited).") {
      switch $0.lastExit {
      case .signaled(let signal, _)?: return "\(signal.rawValue)"
      case .exited?: return "0"
      case nil: return nil
      }
    }
    perService(services, "ibex_service_processes", .gauge, "Processes in the service's session.") {
      $0.processes.map { "\($0.count)" }
    }
    perService(services, "ibex_service_cpu_seconds_total", .counter, "CPU time (user and system) of the service's processes.") {
      $0.processes.map { MetricsExposition.seconds(nanoseconds: $0.cpuTicks * (1_000_000_000 / MetricsExposition.ticksPerSecond)) }
    }
    perService(services, "ibex_service_resident_memory_bytes", .gauge, "Resident memory of the service's processes.") {
      $0.processes.map { "\($0.residentBytes)" }
    }
    writeLogs(services)
    writeTimers(snapshot.timers)
  }

  private mutating func writeLogs(_ services: [ServiceMetrics]) {
    let families: [(String, String, (LogStreamCounters) -> String)] = [
      ("ibex_service_log_lines_total", "Lines the service wrote, per stream.", { "\($0.lines)" }),
      ("ibex_service_log_bytes_total", "Bytes the service wrote, per stream.", { "\($0.bytes)" }),
      ("ibex_service_log_backpressure_seconds_total", "Time ibex did not read the stream because its log sink was full.", {
        MetricsExposition.seconds(nanoseconds: $0.backpressureNanoseconds)
      }),
    ]
    guard services.contains(where: { !$0.logs.isEmpty }) else { return }
    for (name, help, value) in families {
      family(name, .counter, help)
      for service in services {
        for log in service.logs { sample(name, [("service", service.name), ("stream", log.stream)], value(log)) }
      }
    }
  }

  private mutating func writeTimers(_ timers: [TimerMetrics]) {
    guard !timers.isEmpty else { return }
    func each(_ name: String, _ kind: Kind, _ help: String, _ value: (TimerMetrics) -> String?) {
      let values = timers.compactMap { timer in value(timer).map { (timer.name, $0) } }
      guard !values.isEmpty else { return }
      family(name, kind, help)
      for (timer, text) in values { sample(name, [("timer", timer)], text) }
    }
    each("ibex_timer_last_run_timestamp_seconds", .gauge, "When the timer's job last started, in Unix seconds.") {
      $0.lastRunUnixMilliseconds.map { MetricsExposition.seconds(milliseconds: $0) }
    }
    each("ibex_timer_last_success", .gauge, "1 if the timer's last run succeeded.") {
      $0.lastResult.map { $0 == "success" ? "1" : "0" }
    }
    each("ibex_timer_last_duration_seconds", .gauge, "How long the timer's last run took.") {
      $0.lastDurationNanoseconds.map { MetricsExposition.seconds(nanoseconds: $0) }
    }
    each("ibex_timer_skipped_runs_total", .counter, "Runs skipped because the previous one still ran.") { "\($0.skippedRuns)" }
  }
}
