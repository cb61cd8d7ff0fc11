import Foundation
import Glibc
import Testing

/// A TCP port on 127.0.0.1 that nothing listens on right now (the kernel's choice).
func freeLoopbackPort() -> Int {
  let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
  defer { close(fd) }
  var address = sockaddr_in()
  address.sin_family = sa_family_t(AF_INET)
  address.sin_addr.s_addr = inet_addr("127.0.0.1")
  var size = socklen_t(MemoryLayout<sockaddr_in>.size)
  _ = withUnsafeMutablePointer(to: &address) {
    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, size) == 0 && getsockname(fd, $0, &size) == 0 }
  }
  return Int(UInt16(bigEndian: address.sin_port))
}

/// `curl` of a URL: status code and body (empty on a connection failure).
func httpGet(_ url: String, headers: [String] = []) -> (status: Int, body: String) {
  let marker = "\n--ibex-status:"
  let arguments = ["/usr/bin/curl", "-s", "--max-time", "10", "-w", marker + "%{http_code}"] + headers.flatMap { ["-H", $0] } + [url]
  guard let result = try? runCommand(arguments, timeout: 20), let range = result.stdout.range(of: marker, options: .backwards) else {
    return (0, "")
  }
  return (Int(result.stdout[range.upperBound...]) ?? 0, String(result.stdout[..<range.lowerBound]))
}

/// The value of the sample `name{labels}` in an exposition, if it is there.
func sample(_ text: String, _ series: String) -> Double? {
  for line in text.split(separator: "\n") where line.hasPrefix(series + " ") {
    return Double(line.dropFirst(series.count + 1))
  }
  return nil
}

/// Services in every state: web running, crash waiting out its backoff, broken failed, setup
/// (oneshot) done, sick unhealthy (and restarting), chatty writing a line every 50 ms.
private let everyState: [String: String] = [
  "web.service": "[Service]\nExecStart=/bin/sh -c 'sleep 100000 & sleep 100000'\n",
  "crash.service": "[Service]\nExecStart=/bin/sh -c 'echo crashing; exit 3'\nRestart=always\nRestartSec=1h\n",
  "broken.service": "[Service]\nExecStart=/bin/sh -c 'exit 7'\n",
  "setup.service": "[Service]\nType=oneshot\nExecStart=/bin/true\n",
  "sick.service":
    "[Service]\nExecStart=/bin/sleep 100000\nRestart=always\nRestartSec=1h\n[Health]\nExec=/bin/false\nIntervalSec=100ms\nRetries=1\n",
]

/// Runs `ibex ARGS` inside the pid namespace of the ibex init `pid` (where the services' pids
/// are what ibex reports), as a service-side reader would.
private func inside(_ pid: Int32, _ arguments: [String]) throws -> CommandResult {
  try runCommand(["/usr/bin/nsenter", "--target", "\(pid)", "--pid", "--mount", ibexBinary] + arguments)
}

@Suite("ibex metrics and serve-metrics", .enabled(if: canUnshare, "needs unshare --pid"))
struct MetricsTests {
  @Test(
    "promtool accepts the exposition of services in every state; the values are the supervisor's and /proc's",
    .enabled(if: executable("promtool") != nil, "needs promtool (Debian package prometheus)"))
  func promtool() throws {
    let services = try ServiceRoot(everyState)
    let ibex = try services.start()
    let pid = try #require(services.ibexPID(ibex))
    defer {
      kill(pid, SIGTERM)
      _ = ibex.finish()
    }
    var text = ""
    let settled = waitUntil(timeout: 30) {
      text = (try? inside(pid, ["metrics", "--root", services.root]).stdout) ?? ""
      return sample(text, #"ibex_service_state{service="crash",state="restarting"}"#) == 1
        && sample(text, #"ibex_service_state{service="broken",state="failed"}"#) == 1
        && sample(text, #"ibex_service_state{service="setup",state="done"}"#) == 1
        && sample(text, #"ibex_service_health_state{service="sick",state="unhealthy"}"#) == 1
        && sample(text, #"ibex_service_state{service="web",state="running"}"#) == 1
    }
    #expect(settled, "\(text)\n\(ibex.stderrSoFar)")
    #expect(sample(text, #"ibex_service_up{service="web"}"#) == 1)
    #expect(sample(text, #"ibex_service_up{service="setup"}"#) == 0)
    #expect(sample(text, #"ibex_service_last_exit_code{service="broken"}"#) == 7)
    #expect(sample(text, #"ibex_service_last_exit_signal{service="broken"}"#) == 0)
    #expect(sample(text, #"ibex_service_restarts_total{service="crash"}"#) == 1)  // the restart it waits for
    // web's shell and its two sleeps, in web's session; real memory.
    #expect(sample(text, #"ibex_service_processes{service="web"}"#) == 3)
    #expect((sample(text, #"ibex_service_resident_memory_bytes{service="web"}"#) ?? 0) > 100_000)
    #expect(sample(text, #"ibex_service_log_lines_total{service="crash",stream="stdout"}"#) == 1)
    #expect(sample(text, #"ibex_service_log_bytes_total{service="crash",stream="stdout"}"#) == 9)
    #expect((sample(text, "ibex_children_reaped_total") ?? 0) >= 3)
    #expect(sample(text, #"ibex_build_info{version="0.1.0"}"#) == 1)

    for format in [[], ["--openmetrics"]] {
      let exposition = try inside(pid, ["metrics", "--root", services.root] + format).stdout
      let file = makeScratchDirectory() + "/metrics.txt"
      try exposition.write(toFile: file, atomically: true, encoding: .utf8)
      // promtool lints the Prometheus text format; OpenMetrics is parsed by the real Prometheus
      // in the scrape test below (it asks for OpenMetrics first).
      if format.isEmpty {
        let check = try runCommand(["/bin/sh", "-c", "promtool check metrics < \(file)"])
        #expect(check.status == 0, "\(check.stdout)\(check.stderr)")
      } else {
        #expect(exposition.hasSuffix("# EOF\n"))
        #expect(exposition.contains("\n# TYPE ibex_service_restarts counter\n"))
      }
    }
  }

  @Test(
    "a real Prometheus scrapes serve-metrics: up, restarts that increase, log bytes that grow",
    .enabled(if: executable("prometheus") != nil, "needs prometheus (Debian package prometheus)"),
    .enabled(if: executable("curl") != nil, "needs curl"))
  func prometheusScrapes() throws {
    let port = freeLoopbackPort()
    var definitions = everyState
    definitions["crash.service"] =
      "[Service]\nExecStart=/bin/sh -c 'sleep 0.2; exit 1'\nRestart=always\nRestartSec=100ms\nStartLimitBurst=0\n"
    definitions["chatty.service"] = "[Service]\nExecStart=/bin/sh -c 'while :; do echo chatter; sleep 0.05; done'\n"
    definitions["metrics.service"] = "[Service]\nExecStart=\(ibexBinary) serve-metrics --listen 127.0.0.1:\(port)\nRestart=always\n"
    let services = try ServiceRoot(definitions)
    let ibex = try services.start(environment: ["IBEX_ROOT": services.root])
    let pid = try #require(services.ibexPID(ibex))
    defer {
      kill(pid, SIGTERM)
      _ = ibex.finish()
    }
    #expect(waitUntil(timeout: 30) { httpGet("http://127.0.0.1:\(port)/healthz").status == 200 }, "\(ibex.stderrSoFar)")

    let promPort = freeLoopbackPort()
    let directory = makeScratchDirectory()
    try """
      global:
        scrape_interval: 1s
        scrape_timeout: 1s
      scrape_configs:
        - job_name: ibex
          static_configs:
            - targets: ["127.0.0.1:\(port)"]
      """.write(toFile: directory + "/prometheus.yml", atomically: true, encoding: .utf8)
    let prometheus = try RunningCommand([
      try #require(executable("prometheus")), "--config.file=\(directory)/prometheus.yml",
      "--storage.tsdb.path=\(directory)/data", "--web.listen-address=127.0.0.1:\(promPort)",
    ])
    defer {
      prometheus.signal(SIGTERM)
      _ = prometheus.finish()
    }
    /// The value of an instant query with one result.
    func query(_ expression: String) -> Double? {
      let encoded = expression.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? ""
      let (status, body) = httpGet("http://127.0.0.1:\(promPort)/api/v1/query?query=\(encoded)")
      guard status == 200, let json = try? JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any],
        let data = json["data"] as? [String: Any], let results = data["result"] as? [[String: Any]], results.count == 1,
        let value = results[0]["value"] as? [Any], value.count == 2, let text = value[1] as? String
      else { return nil }
      return Double(text)
    }
    #expect(waitUntil(timeout: 60) { query(#"up{job="ibex"}"#) == 1 }, "\(prometheus.stderrSoFar)")
    #expect(waitUntil(timeout: 30) { query(#"ibex_service_up{service="web"}"#) == 1 })
    var restarts = 0.0
    #expect(waitUntil(timeout: 30) {
      restarts = query(#"ibex_service_restarts_total{service="crash"}"#) ?? 0
      return restarts >= 1
    })
    #expect(waitUntil(timeout: 30) { (query(#"ibex_service_restarts_total{service="crash"}"#) ?? 0) > restarts })
    var bytes = 0.0
    #expect(waitUntil(timeout: 30) {
      bytes = query(#"ibex_service_log_bytes_total{service="chatty",stream="stdout"}"#) ?? 0
      return bytes > 0
    })
    #expect(waitUntil(timeout: 30) { (query(#"ibex_service_log_bytes_total{service="chatty",stream="stdout"}"#) ?? 0) > bytes })
    // The scrapes were OpenMetrics (Prometheus asks for it first) and every one succeeded.
    #expect(query(#"scrape_samples_scraped{job="ibex"}"#).map { $0 > 50 } == true)
  }

  @Test(
    "HTTP: 404, 405, 400, 431, HEAD, Accept, /readyz as ibex check; a 1 byte/s client is dropped without delaying others; 200 concurrent connections",
    .enabled(if: executable("curl") != nil, "needs curl"))
  func http() throws {
    let services = try ServiceRoot([
      "web.service": "[Service]\nExecStart=/bin/sleep 100000\nEssential=yes\n",
      "late.service": "[Unit]\nRequires=web\n[Service]\nType=notify\nExecStart=/bin/sleep 100000\nTimeoutStartSec=infinity\n",
    ])
    let ibex = try services.start()
    let pid = try #require(services.ibexPID(ibex))
    defer {
      kill(pid, SIGTERM)
      _ = ibex.finish()
    }
    let port = freeLoopbackPort()
    let server = try RunningCommand([
      ibexBinary, "serve-metrics", "--listen", "127.0.0.1:\(port)", "--read-timeout", "2s", "--root", services.root,
    ])
    defer {
      server.signal(SIGTERM)
      #expect(server.finish().status == 0)
    }
    let base = "http://127.0.0.1:\(port)"
    #expect(waitUntil(timeout: 20) { httpGet(base + "/healthz").status == 200 }, "\(server.stderrSoFar)")
    #expect(httpGet(base + "/healthz").body == "ok\n")
    let metrics = httpGet(base + "/metrics")
    #expect(metrics.status == 200 && metrics.body.contains(#"ibex_service_up{service="web"} 1"#))
    // web is essential, so `ibex check` looks at it only: ready.
    #expect(httpGet(base + "/readyz") == (200, "ready\n"))
    #expect(httpGet(base + "/") .status == 404)
    #expect(httpGet(base + "/metrics/../../etc/passwd").status == 404)

    // Raw requests: methods, malformed heads, oversized headers, HEAD, Accept.
    let python = """
      import select, socket, sys, threading, time
      port = int(sys.argv[1])
      def exchange(data, chunks=None):
          s = socket.create_connection(("127.0.0.1", port), timeout=30)
          s.sendall(data)
          out = b""
          while True:
              b = s.recv(65536)
              if not b: break
              out += b
          return out.decode(errors="replace")
      def status(data): return exchange(data).split("\\r\\n", 1)[0]
      for method in ["POST", "PUT", "DELETE", "PATCH", "OPTIONS"]:
          print(method, status(f"{method} /metrics HTTP/1.1\\r\\nHost: x\\r\\nContent-Length: 0\\r\\n\\r\\n".encode()))
      print("garbage", status(b"\\x00\\x01\\x02 nonsense\\r\\n\\r\\n"))
      print("nohost", status(b"GET /metrics HTTP/1.1\\r\\n\\r\\n"))
      print("absolute", status(b"GET http://x/metrics HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n"))
      print("http2", status(b"GET /metrics HTTP/2.0\\r\\nHost: x\\r\\n\\r\\n"))
      print("big", status(b"GET /metrics HTTP/1.1\\r\\nHost: x\\r\\nX-Big: " + b"a" * 9000 + b"\\r\\n\\r\\n"))
      head = exchange(b"HEAD /metrics HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n")
      print("head", head.split("\\r\\n", 1)[0], head.endswith("\\r\\n\\r\\n"), "Connection: close" in head)
      om = exchange(b"GET /metrics HTTP/1.1\\r\\nHost: x\\r\\nAccept: application/openmetrics-text; version=1.0.0\\r\\n\\r\\n")
      print("openmetrics", "application/openmetrics-text" in om, om.endswith("# EOF\\n"))

      # A client sending one byte a second: others are answered meanwhile, it gets 408.
      slow_result = []
      def slow():
          s = socket.create_connection(("127.0.0.1", port), timeout=30)
          data = b""
          try:
              for byte in b"GET /metrics HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n":
                  if select.select([s], [], [], 0)[0]: break  # answered (and dropped)
                  s.sendall(bytes([byte]))
                  time.sleep(1)
          except OSError:
              pass
          try:
              while True:
                  b = s.recv(65536)
                  if not b: break
                  data += b
          except OSError:
              pass
          slow_result.append(data.decode(errors="replace").split("\\r\\n", 1)[0])
      t = threading.Thread(target=slow); t.start()
      time.sleep(0.3)
      fast = [status(b"GET /healthz HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n") for _ in range(5)]
      print("fast", all(f == "HTTP/1.1 200 OK" for f in fast), len(slow_result) == 0)
      t.join()
      print("slow", slow_result[0] if slow_result else "none")

      # 200 connections at once: all open, then all ask, all get 200.
      socks = [socket.create_connection(("127.0.0.1", port), timeout=30) for _ in range(200)]
      for s in socks: s.sendall(b"GET /healthz HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n")
      ok = 0
      for s in socks:
          out = b""
          while True:
              b = s.recv(65536)
              if not b: break
              out += b
          ok += out.startswith(b"HTTP/1.1 200 OK")
      print("concurrent", ok)
      """
    let result = try runCommand(["/usr/bin/python3", "-c", python, "\(port)"], timeout: 120)
    let lines = result.stdout.split(separator: "\n").map(String.init)
    #expect(lines == [
      "POST HTTP/1.1 405 Method Not Allowed", "PUT HTTP/1.1 405 Method Not Allowed", "DELETE HTTP/1.1 405 Method Not Allowed",
      "PATCH HTTP/1.1 405 Method Not Allowed", "OPTIONS HTTP/1.1 405 Method Not Allowed",
      "garbage HTTP/1.1 400 Bad Request", "nohost HTTP/1.1 400 Bad Request", "absolute HTTP/1.1 400 Bad Request",
      "http2 HTTP/1.1 505 HTTP Version Not Supported", "big HTTP/1.1 431 Request Header Fields Too Large",
      "head HTTP/1.1 200 OK True True", "openmetrics True True", "fast True True", "slow HTTP/1.1 408 Request Timeout",
      "concurrent 200",
    ], "\(result.stdout)\(result.stderr)\n\(server.stderrSoFar)")

    // The port is taken: a second server says so and exits 111.
    let second = try runCommand([ibexBinary, "serve-metrics", "--listen", "127.0.0.1:\(port)", "--root", services.root])
    #expect(second.status == 111)
    #expect(second.stderr.contains("unable to listen on 127.0.0.1:\(port)"))

    // Not ready: the essential service stops (an operator's stop): /readyz says 503 and why.
    #expect(try runCommand([ibexBinary, "stop", "web", "--root", services.root]).status == 0)
    #expect(waitUntil(timeout: 20) { httpGet(base + "/readyz") == (503, "not ready: web\n") })
    // ibex gone: /healthz and /metrics are 503, serve-metrics itself goes on.
    kill(pid, SIGTERM)
    _ = ibex.finish()
    #expect(waitUntil(timeout: 20) { httpGet(base + "/healthz").status == 503 })
    #expect(httpGet(base + "/metrics").status == 503)
  }

  @Test("usage errors: bad --listen, unknown options; --help; ibex not running", .enabled(if: executable("curl") != nil))
  func usage() throws {
    let bad = try runCommand([ibexBinary, "serve-metrics", "--listen", "localhost:80"])
    #expect(bad.status == 2)
    #expect(bad.stderr.contains("--listen localhost:80: not an IPv4 address (names are not resolved)"))
    #expect(try runCommand([ibexBinary, "metrics", "--bogus"]).status == 2)
    #expect(try runCommand([ibexBinary, "serve-metrics", "--help"]).stdout.contains("GET /readyz"))
    #expect(try runCommand([ibexBinary, "metrics", "--help"]).stdout.contains("--openmetrics"))
    let notRunning = try runCommand([ibexBinary, "metrics", "--root", makeScratchDirectory()])
    #expect(notRunning.status == 6)
  }
}
