import IbexCore
import Testing

@Suite("Metrics: snapshot and exposition")
struct MetricsTests {
  /// web runs, crash restarts, broken failed, setup (oneshot) done, db unhealthy.
  func everyState() throws -> Harness {
    var h = try Harness([
      service("web"),
      service("crash") {
        $0.restart = .always
        $0.restartDelay = .seconds(3600)
        $0.startLimitBurst = 0
      },
      service("broken"),
      service("setup", type: .oneshot),
      service("db") {
        $0.health = HealthCheck(command: Command(program: "/bin/probe", arguments: ["probe"]), interval: .seconds(10), timeout: .seconds(2), retries: 1)
        $0.restart = .always
        $0.restartDelay = .seconds(30)
      },
    ])
    h.boot()
    h.exit("setup")
    h.exit("crash", .exited(code: 3))
    h.exit("broken", .signaled(.kill, coreDumped: false))
    h.exit("db:health", .exited(code: 0))
    h.advance(.seconds(10))
    h.exit("db:health", .exited(code: 1))
    h.exit("db", .signaled(.terminate, coreDumped: false))
    return h
  }

  @Test("the snapshot shows each service's state, counters and last exit; the wire form round-trips")
  func snapshot() throws {
    let h = try everyState()
    let wallNow: Int64 = 1_700_000_000_000_000_000
    var snapshot = h.supervisor.metrics(
      version: "1.2.3", startTimeUnixMilliseconds: 1_699_999_000_000, now: h.now, wallNow: wallNow,
      logs: ["web": [LogStreamCounters(stream: "stdout", lines: 3, bytes: 40, backpressureNanoseconds: 1_500_000_000)]])
    let byName = Dictionary(uniqueKeysWithValues: snapshot.services.map { ($0.name, $0) })
    #expect(byName["web"]?.state == "running")
    #expect(byName["web"]?.up == true)
    #expect(byName["web"]?.ready == true)
    #expect(byName["web"]?.startTimeUnixMilliseconds == (wallNow - (h.now - Instant(nanoseconds: 1_000_000_000)).nanoseconds) / 1_000_000)
    #expect(byName["crash"]?.state == "restarting")
    #expect(byName["crash"]?.restarts == 1)
    #expect(byName["crash"]?.lastExit == .exited(code: 3))
    #expect(byName["broken"]?.state == "failed")
    #expect(byName["broken"]?.lastExit == .signaled(.kill, coreDumped: false))
    #expect(byName["setup"]?.state == "done")
    #expect(byName["setup"]?.up == false)
    #expect(byName["db"]?.health == "unhealthy")
    #expect(byName["db"]?.state == "restarting")
    #expect(byName["web"]?.health == nil)
    #expect(snapshot.childrenReaped == 6)
    #expect(snapshot.bootDurationNanoseconds == nil)  // crash still waits out its backoff
    snapshot.timers = [TimerMetrics(name: "backup")]
    #expect(MetricsSnapshot(json: try #require(JSONValue(parsing: snapshot.json.encoded))) == snapshot)
  }

  @Test("boot duration: from boot until every service is ready or settled")
  func bootDuration() throws {
    var h = try Harness([service("slow", type: .notify)])
    h.boot()
    h.advance(.milliseconds(1500))
    #expect(h.supervisor.metrics(version: "x", startTimeUnixMilliseconds: 0, now: h.now, wallNow: 0).bootDurationNanoseconds == nil)
    h.notify("slow", "READY=1")
    #expect(h.supervisor.metrics(version: "x", startTimeUnixMilliseconds: 0, now: h.now, wallNow: 0).bootDurationNanoseconds == 1_500_000_000)
  }

  @Test("orphans count as reaped children")
  func orphans() throws {
    var h = try Harness([service("web")])
    h.boot()
    h.send(.exited(pid: 4242, .exited(code: 0)))
    #expect(h.supervisor.counters.childrenReaped == 1)
  }

  @Test("Prometheus text: exact families and samples")
  func prometheusText() {
    var snapshot = MetricsSnapshot(version: "0.1.0", startTimeUnixMilliseconds: 1_700_000_000_250)
    snapshot.bootDurationNanoseconds = 12_500_000
    snapshot.childrenReaped = 7
    var web = ServiceMetrics(name: "web", state: "running", up: true, ready: true, restarts: 2)
    web.startTimeUnixMilliseconds = 1_700_000_001_000
    web.lastExit = .signaled(.kill, coreDumped: false)
    web.processes = ProcessUsage(count: 3, cpuTicks: 250, residentBytes: 4096)
    web.logs = [LogStreamCounters(stream: "stdout", lines: 1, bytes: 6), LogStreamCounters(stream: "stderr")]
    snapshot.services = [web]
    let text = MetricsExposition.render(snapshot, format: .prometheus)
    #expect(text.hasPrefix("""
      # HELP ibex_build_info The version of ibex (always 1).
      # TYPE ibex_build_info gauge
      ibex_build_info{version="0.1.0"} 1
      # HELP ibex_start_time_seconds When ibex started, in seconds since the Unix epoch.
      # TYPE ibex_start_time_seconds gauge
      ibex_start_time_seconds 1700000000.25
      # HELP ibex_boot_duration_seconds Time from start until every service was ready or settled.
      # TYPE ibex_boot_duration_seconds gauge
      ibex_boot_duration_seconds 0.0125

      """))
    for line in [
      "ibex_children_reaped_total 7", "ibex_service_up{service=\"web\"} 1", "ibex_service_restarts_total{service=\"web\"} 2",
      "ibex_service_state{service=\"web\",state=\"running\"} 1", "ibex_service_state{service=\"web\",state=\"failed\"} 0",
      "ibex_service_start_time_seconds{service=\"web\"} 1700000001", "ibex_service_last_exit_code{service=\"web\"} 137",
      "ibex_service_last_exit_signal{service=\"web\"} 9", "ibex_service_processes{service=\"web\"} 3",
      "ibex_service_cpu_seconds_total{service=\"web\"} 2.5", "ibex_service_resident_memory_bytes{service=\"web\"} 4096",
      "ibex_service_log_lines_total{service=\"web\",stream=\"stdout\"} 1",
      "ibex_service_log_bytes_total{service=\"web\",stream=\"stderr\"} 0",
      "ibex_service_log_backpressure_seconds_total{service=\"web\",stream=\"stdout\"} 0",
      "# TYPE ibex_service_restarts_total counter",
    ] {
      #expect(text.contains("\n" + line + "\n"), "\(line)")
    }
    #expect(!text.contains("health_state"))
    #expect(!text.contains("ibex_timer"))
    #expect(!text.contains("# EOF"))
    // Nine states, one of them set.
    #expect(text.split(separator: "\n").filter { $0.hasPrefix("ibex_service_state{") }.count == ServiceMetrics.states.count)
  }

  @Test("OpenMetrics: counter and info families lose their suffix, samples keep it, # EOF ends it")
  func openMetricsText() {
    var snapshot = MetricsSnapshot(version: "0.1.0", startTimeUnixMilliseconds: 0)
    var timer = TimerMetrics(name: "backup")
    timer.lastResult = "failure"
    timer.skippedRuns = 2
    snapshot.timers = [timer]
    let text = MetricsExposition.render(snapshot, format: .openMetrics)
    #expect(text.contains("# TYPE ibex_build info\nibex_build_info{version=\"0.1.0\"} 1\n"))
    #expect(text.contains("# TYPE ibex_children_reaped counter\nibex_children_reaped_total 0\n"))
    #expect(text.contains("ibex_timer_last_success{timer=\"backup\"} 0\n"))
    #expect(text.contains("ibex_timer_skipped_runs_total{timer=\"backup\"} 2\n"))
    #expect(!text.contains("ibex_timer_last_run_timestamp_seconds"))
    #expect(text.hasSuffix("# EOF\n"))
  }

  @Test("seconds and label values are written exactly")
  func formatting() {
    #expect(MetricsExposition.seconds(nanoseconds: 0) == "0")
    #expect(MetricsExposition.seconds(nanoseconds: 1) == "0.000000001")
    #expect(MetricsExposition.seconds(nanoseconds: 1_000_000_000) == "1")
    #expect(MetricsExposition.seconds(nanoseconds: 61_050_000_000) == "61.05")
    #expect(MetricsExposition.seconds(nanoseconds: -1_500_000_000) == "-1.5")
    #expect(MetricsExposition.seconds(milliseconds: 1_700_000_000_007) == "1700000000.007")
    var snapshot = MetricsSnapshot(version: "a\"b\\c\nd", startTimeUnixMilliseconds: 0)
    snapshot.services = []
    #expect(MetricsExposition.render(snapshot, format: .prometheus).contains(#"ibex_build_info{version="a\"b\\c\nd"} 1"#))
  }

  @Test(
    "Accept chooses OpenMetrics only when it names it with a non-zero q",
    arguments: [
      (nil, MetricsFormat.prometheus), ("text/plain", .prometheus), ("*/*", .prometheus),
      ("application/openmetrics-text; version=1.0.0", .openMetrics),
      ("application/openmetrics-text;version=1.0.0;q=0.5,text/plain;version=0.0.4;q=0.4", .openMetrics),
      ("text/plain, Application/OpenMetrics-Text ;q=0", .prometheus),
      ("text/plain, application/openmetrics-text; q=0.0", .prometheus),
    ] as [(String?, MetricsFormat)])
  func accept(header: String?, format: MetricsFormat) {
    #expect(MetricsFormat(accept: header) == format)
  }
}

@Suite("Metrics: HTTP subset")
struct HTTPTests {
  func parse(_ text: String) -> HTTPParseResult { HTTPRequestParser.parse(Array(text.utf8)) }

  @Test("a GET with headers; query strings are dropped; Accept lines are joined")
  func good() {
    #expect(parse("GET /metrics HTTP/1.1\r\nHost: x\r\nAccept: text/plain\r\naccept:  application/openmetrics-text \r\n\r\n")
      == .complete(HTTPRequestHead(method: "GET", path: "/metrics", accept: "text/plain,application/openmetrics-text")))
    #expect(parse("\r\nGET /readyz?verbose=1 HTTP/1.0\n\n") == .complete(HTTPRequestHead(method: "GET", path: "/readyz")))
    #expect(parse("HEAD /healthz HTTP/1.1\r\nHOST: h\r\n\r\n") == .complete(HTTPRequestHead(method: "HEAD", path: "/healthz")))
  }

  @Test("an unfinished head waits; one past 8 KiB is refused")
  func limits() {
    #expect(parse("") == .incomplete)
    #expect(parse("GET /metrics HTTP/1.1\r\nHost: x\r\n") == .incomplete)
    let big = "GET / HTTP/1.1\r\nHost: x\r\nX: " + String(repeating: "a", count: 8200)
    #expect(parse(big) == .invalid(.headersTooLarge))
    let justTooBig = "GET / HTTP/1.1\r\nHost: x\r\nX: " + String(repeating: "a", count: 8192 - 31) + "\r\n\r\n"
    #expect(parse(justTooBig) == .invalid(.headersTooLarge))
    let fits = "GET / HTTP/1.1\r\nHost: x\r\nX: " + String(repeating: "a", count: 8192 - 32) + "\r\n\r\n"
    #expect(fits.utf8.count == 8192)
    #expect(parse(fits) == .complete(HTTPRequestHead(method: "GET", path: "/")))
  }

  @Test(
    "malformed requests are 400 (505 for another major version)",
    arguments: [
      ("GET /metrics\r\n\r\n", HTTPStatus.badRequest), ("GET  /metrics HTTP/1.1\r\nHost: x\r\n\r\n", .badRequest),
      ("GET metrics HTTP/1.1\r\nHost: x\r\n\r\n", .badRequest), ("GET http://x/metrics HTTP/1.1\r\nHost: x\r\n\r\n", .badRequest),
      ("G(T /metrics HTTP/1.1\r\nHost: x\r\n\r\n", .badRequest), ("GET /metrics HTTP/1.1\r\n\r\n", .badRequest),
      ("GET /metrics HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", .badRequest),
      ("GET /metrics HTTP/1.1\r\nHost : x\r\n\r\n", .badRequest), ("GET /metrics HTTP/1.1\r\nHost: x\r\n folded\r\n\r\n", .badRequest),
      ("GET /metrics HTTP/1.1\r\nHost: x\r\nNoColon\r\n\r\n", .badRequest), ("GET /metrics HTTP/1.x\r\n\r\n", .badRequest),
      ("GET /metrics HTTPS/1.1\r\n\r\n", .badRequest), ("GET /metrics HTTP/2.0\r\n\r\n", .versionNotSupported),
      ("GET /m\u{7f} HTTP/1.1\r\nHost: x\r\n\r\n", .badRequest), ("GET /metrics HTTP/1.1\r\nHost: x\u{1}\r\n\r\n", .badRequest),
    ] as [(String, HTTPStatus)])
  func bad(request: String, status: HTTPStatus) {
    #expect(parse(request) == .invalid(status))
  }

  @Test("routes: three GET/HEAD endpoints, 404 elsewhere, 405 for other methods")
  func routes() {
    #expect(HTTPEndpoint.route(HTTPRequestHead(method: "GET", path: "/metrics")) == .success(.metrics))
    #expect(HTTPEndpoint.route(HTTPRequestHead(method: "HEAD", path: "/readyz")) == .success(.readiness))
    #expect(HTTPEndpoint.route(HTTPRequestHead(method: "GET", path: "/healthz")) == .success(.health))
    #expect(HTTPEndpoint.route(HTTPRequestHead(method: "GET", path: "/")) == .failure(HTTPRefusal(.notFound)))
    #expect(HTTPEndpoint.route(HTTPRequestHead(method: "GET", path: "/metrics/../etc/passwd")) == .failure(HTTPRefusal(.notFound)))
    for method in ["POST", "PUT", "DELETE", "OPTIONS", "TRACE", "get"] {
      #expect(HTTPEndpoint.route(HTTPRequestHead(method: method, path: "/metrics")) == .failure(HTTPRefusal(.methodNotAllowed)))
    }
  }

  @Test("responses close the connection and say how long they are; HEAD keeps the length, drops the body")
  func responses() {
    #expect(HTTPResponse.encode(.ok, body: "hi\n") == "HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 3\r\nCache-Control: no-store\r\nX-Content-Type-Options: nosniff\r\nConnection: close\r\n\r\nhi\n")
    #expect(HTTPResponse.encode(.ok, body: "hi\n", head: true).hasSuffix("Content-Length: 3\r\nCache-Control: no-store\r\nX-Content-Type-Options: nosniff\r\nConnection: close\r\n\r\n"))
    #expect(HTTPResponse.refusal(.methodNotAllowed).contains("\r\nAllow: GET, HEAD\r\n"))
    #expect(HTTPResponse.refusal(.notFound).hasSuffix("\r\n\r\n404 Not Found\n"))
  }

  @Test("--listen: IPv4 and bracketed IPv6 with a port; anything else is a clear error")
  func listen() throws {
    #expect(try ListenAddress(parsing: "0.0.0.0:9469") == ListenAddress(host: "0.0.0.0", port: 9469, isIPv6: false))
    #expect(try ListenAddress(parsing: "[::]:80") == ListenAddress(host: "::", port: 80, isIPv6: true))
    #expect(try ListenAddress(parsing: "[::1]:9469").description == "[::1]:9469")
    for bad in ["", "9469", "localhost:9469", "1.2.3:80", "1.2.3.256:80", "127.0.0.1:0", "127.0.0.1:65536", "127.0.0.1:", "[::1:80", "[zz]:80", "::1:80"] {
      #expect(throws: ConfigError.self, "\(bad)") { try ListenAddress(parsing: bad) }
    }
    #expect(throws: ConfigError("--listen 1.2.3:80: not an IPv4 address (names are not resolved) (use ADDR:PORT such as 127.0.0.1:9469, 0.0.0.0:9469 or [::]:9469)")) {
      try ListenAddress(parsing: "1.2.3:80")
    }
  }
}

@Suite("Metrics: /proc/PID/stat")
struct ProcessStatTests {
  @Test("fields are read after the last ')' of the command name")
  func parse() throws {
    let line = "4242 (we ird) (name)) S 1 4242 4240 0 -1 4194560 100 0 0 0 150 50 7 3 20 0 1 0 12345 1000000 321 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 0 0 0 0 0 0\n"
    let stat = try #require(ProcessStat(parsing: Array(line.utf8)))
    #expect(stat == ProcessStat(pid: 4242, session: 4240, cpuTicks: 210, residentPages: 321))
    for bad in ["", "12 (x) S 1 2", "x (y) S 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22", "12 (x S 1 2 3"] {
      #expect(ProcessStat(parsing: Array(bad.utf8)) == nil, "\(bad)")
    }
  }

  @Test("usage is summed per session; other sessions are ignored; asked sessions with nothing are zero")
  func usage() {
    let stats = [
      ProcessStat(pid: 10, session: 10, cpuTicks: 100, residentPages: 2), ProcessStat(pid: 11, session: 10, cpuTicks: 5, residentPages: 1),
      ProcessStat(pid: 12, session: 12, cpuTicks: 9, residentPages: 9), ProcessStat(pid: 1, session: 1, cpuTicks: 1, residentPages: 1),
    ]
    let usage = ProcessStat.usage(stats, sessions: [10, 12, 99], pageSize: 4096)
    #expect(usage[10] == ProcessUsage(count: 2, cpuTicks: 105, residentBytes: 3 * 4096))
    #expect(usage[12] == ProcessUsage(count: 1, cpuTicks: 9, residentBytes: 9 * 4096))
    #expect(usage[99] == ProcessUsage())
    #expect(usage[1] == nil)
  }
}
