import IbexCore
import IbexRuntime

/// `ibex serve-metrics`: a small HTTP/1.1 server for Prometheus and Kubernetes probes, run as
/// an ordinary unprivileged service (PID 1 never listens on the network).
///
/// One thread and one epoll loop, like the rest of ibex. Each connection gets one request:
/// its line and headers must arrive within the read timeout and fit in 8 KiB; the answer
/// ends with `Connection: close`. `GET /metrics` asks ibex for its snapshot over the control
/// socket (a short blocking exchange: ibex answers from memory) and adds /proc's view of the
/// services' processes; `GET /healthz` says whether ibex answers; `GET /readyz` is
/// `ibex check`. Anything else is 404, 405 or 400; nothing is ever read from disk.
public struct MetricsServer: ~Copyable {
  public static let help = """
    Usage: ibex serve-metrics [--listen ADDR:PORT] [--read-timeout DURATION]
                              [--max-connections N] [--root DIR]

    Serve the metrics of the running `ibex init` over HTTP, for Prometheus and for
    Kubernetes httpGet probes. Run it as a service under an unprivileged user that is in
    $IBEX_CONTROL_GROUP (the -monitoring image does); it never runs inside PID 1.

      GET /metrics   Prometheus text 0.0.4, or OpenMetrics when Accept asks for
                     application/openmetrics-text
      GET /healthz   200 while ibex answers on its control socket, else 503
      GET /readyz    200 when `ibex check` passes (the essential services, or all, are
                     ready), else 503 with the services that are not

      --listen ADDR:PORT    where to listen (default 127.0.0.1:9469; 0.0.0.0:9469 or
                            [::]:9469 for every interface)
      --read-timeout D      time a client has to send its request line and headers
                            (default 5s); slower clients get 408 and are dropped
      --max-connections N   open connections at most (default 256); more get 503

    Requests: GET or HEAD, line and headers at most 8 KiB, no body; every answer closes
    the connection. See docs/metrics.md.

    """

  struct Client {
    var fd: FileDescriptor
    var received: [UInt8] = []
    var deadline: Instant
    /// The answer, once there is one, and how much of it is written.
    var answer: [UInt8]?
    var written = 0
    /// Answered and shut down for writing: what the client still sends is read and dropped
    /// until it closes (or the deadline), so that closing never resets the connection before
    /// the client has read the answer.
    var draining = false
  }

  static let listenerToken = EventLoop.firstUserToken
  static let firstClientToken = EventLoop.firstUserToken + 1
  static let controlTimeoutMilliseconds: Int32 = 2000

  private var loop: EventLoop
  private let listener: FileDescriptor
  private let root: String
  private let readTimeout: TimeSpan
  private let maximumConnections: Int
  private var clients: [UInt64: Client] = [:]
  private var nextToken = firstClientToken
  private var listening = true

  /// Runs `ibex serve-metrics ARGS` until TERM or INT.
  public static func main(arguments: [String]) -> Int32 {
    var root = Environment.value(of: "IBEX_ROOT", in: ThisProcess.environmentStrings) ?? ""
    var address = ListenAddress.default
    var readTimeout = TimeSpan.seconds(5)
    var maximumConnections = 256
    var index = 0
    func usage(_ message: String) -> Int32 { MetricsProgram.usage(message, "serve-metrics") }
    while index < arguments.count {
      let word = arguments[index]
      index += 1
      if word == "-h" || word == "--help" {
        Console.output(help)
        return ExitCode.success
      }
      guard index < arguments.count else { return usage(word.hasPrefix("-") ? "\(word) needs a value" : "unknown argument '\(word)'") }
      let value = arguments[index]
      index += 1
      switch word {
      case "--listen":
        do {
          address = try ListenAddress(parsing: value)
        } catch {
          return usage(error.description)
        }
      case "--read-timeout":
        guard let span = try? TimeSpan(parsing: value), span > .zero else { return usage("--read-timeout needs a duration such as 5s") }
        readTimeout = span
      case "--max-connections":
        guard let n = Int(value), n >= 1, n <= 4096 else { return usage("--max-connections needs a number from 1 to 4096") }
        maximumConnections = n
      case "--root":
        guard value.hasPrefix("/") else { return usage("--root needs an absolute path") }
        root = value
      default:
        return usage("unknown option '\(word)'")
      }
    }
    let loop: EventLoop
    let listener: FileDescriptor
    do throws(Errno) {
      _ = try InheritedSignalState.takeOver()
      listener = try TCPSocket.listen(address)
      // Last: a non-copyable value must not be left half-initialized by a later failure.
      loop = try EventLoop(handling: .handled)
    } catch {
      Console.fatal("unable to listen on \(address.description): \(error.description)")
      return ExitCode.systemFailure
    }
    Console.emit("serve-metrics: listening on http://\(address.description)/metrics")
    var server = MetricsServer(
      loop: loop, listener: listener, root: root, readTimeout: readTimeout, maximumConnections: maximumConnections)
    return server.run()
  }

  private init(loop: consuming EventLoop, listener: FileDescriptor, root: String, readTimeout: TimeSpan, maximumConnections: Int) {
    self.loop = loop
    self.listener = listener
    self.root = root
    self.readTimeout = readTimeout
    self.maximumConnections = maximumConnections
  }

  private mutating func run() -> Int32 {
    do {
      try loop.watch(listener, token: MetricsServer.listenerToken, events: EventLoop.readable)
    } catch {
      Console.fatal("unable to watch the listening socket: \(error.description)")
      return ExitCode.systemFailure
    }
    var events: [LoopEvent] = []
    while true {
      loop.wait(into: &events)
      for event in events {
        switch event {
        case .signal(let signal, _) where signal == .terminate || signal == .interrupt:
          for token in Array(clients.keys) { close(token) }
          listener.close()
          return ExitCode.success
        case .signal:
          break  // SIGPIPE and the like: a write then fails with EPIPE instead
        case .deadline:
          let now = EventLoop.now()
          for (token, client) in clients where client.deadline <= now {
            if client.answer == nil && !client.draining {
              send(HTTPResponse.refusal(.requestTimeout), token: token)
            } else {
              close(token)  // it does not read its answer
            }
          }
        case .ready(MetricsServer.listenerToken, _):
          acceptAll()
        case .ready(let token, _):
          guard let client = clients[token] else { break }
          if client.draining {
            drain(token)
          } else if client.answer != nil {
            flush(token)
          } else {
            receive(token)
          }
        }
      }
      loop.arm(at: clients.values.map { $0.deadline }.min())
    }
  }

  private mutating func acceptAll() {
    while true {
      let accepted: FileDescriptor?
      do {
        accepted = try TCPSocket.accept(from: listener)
      } catch {
        // Out of descriptors (EMFILE) and the like: stop accepting until a connection ends.
        if clients.isEmpty { Console.warning("serve-metrics: unable to accept a connection: \(error.description)") }
        pauseListening()
        return
      }
      guard let fd = accepted else { return }
      guard clients.count < maximumConnections else {
        let answer = Array(HTTPResponse.refusal(.serviceUnavailable).utf8)
        answer.withUnsafeBytes { _ = try? fd.writeAll($0) }
        fd.close()
        continue
      }
      let token = nextToken
      nextToken += 1
      do {
        try loop.watch(fd, token: token, events: EventLoop.readable)
      } catch {
        fd.close()
        continue
      }
      clients[token] = Client(fd: fd, deadline: EventLoop.now() + readTimeout)
    }
  }

  private mutating func pauseListening() {
    guard listening else { return }
    loop.unwatch(listener)
    listening = false
  }

  /// Reads what a client sent and answers once its head is complete (or bad).
  private mutating func receive(_ token: UInt64) {
    guard var client = clients[token] else { return }
    var chunk = [UInt8](repeating: 0, count: 4096)
    while true {
      let read = chunk.withUnsafeMutableBytes { bytes -> Int? in
        do throws(Errno) { return try client.fd.read(into: bytes) } catch { return 0 }
      }
      guard let read else { break }
      if read == 0 {
        close(token)
        return
      }
      client.received += chunk[0..<read]
      if client.received.count > HTTPRequestParser.maximumHeadLength { break }
    }
    clients[token] = client
    switch HTTPRequestParser.parse(client.received) {
    case .incomplete:
      return
    case .invalid(let status):
      send(HTTPResponse.refusal(status), token: token)
    case .complete(let head):
      switch HTTPEndpoint.route(head) {
      case .failure(let refusal): send(HTTPResponse.refusal(refusal.status), token: token)
      case .success(let endpoint): send(answer(endpoint, head: head), token: token)
      }
    }
  }

  /// The response for an endpoint, from ibex's answer.
  private func answer(_ endpoint: HTTPEndpoint, head: HTTPRequestHead) -> String {
    let omitBody = head.method == "HEAD"
    func unavailable(_ failure: ControlFailure) -> String {
      HTTPResponse.encode(.serviceUnavailable, body: failure.message + "\n", head: omitBody)
    }
    switch endpoint {
    case .metrics:
      switch MetricsProgram.fetch(root: root, timeoutMilliseconds: MetricsServer.controlTimeoutMilliseconds) {
      case .success(let snapshot):
        let format = MetricsFormat(accept: head.accept)
        return HTTPResponse.encode(
          .ok, contentType: format.contentType, body: MetricsExposition.render(snapshot, format: format), head: omitBody)
      case .failure(let failure):
        return unavailable(failure)
      }
    case .health, .readiness:
      var connection: Connection
      switch Connection.open(root: root, timeoutMilliseconds: MetricsServer.controlTimeoutMilliseconds) {
      case .success(let opened): connection = opened
      case .failure(let failure): return unavailable(failure)
      }
      defer { connection.close() }
      switch connection.request(endpoint == .health ? .status(names: []) : .check(.ready, names: [])) {
      case .success: return HTTPResponse.encode(.ok, body: endpoint == .health ? "ok\n" : "ready\n", head: omitBody)
      case .failure(let failure): return unavailable(failure)
      }
    }
  }

  /// Queues `response` and writes as much as the client takes now.
  private mutating func send(_ response: String, token: UInt64) {
    guard var client = clients[token] else { return }
    client.answer = Array(response.utf8)
    client.deadline = EventLoop.now() + readTimeout
    clients[token] = client
    flush(token)
  }

  private mutating func flush(_ token: UInt64) {
    guard var client = clients[token], let answer = client.answer else { return }
    while client.written < answer.count {
      let result = answer.withUnsafeBytes { bytes -> Int? in
        let rest = UnsafeRawBufferPointer(rebasing: bytes[client.written...])
        do throws(Errno) { return try client.fd.writeSome(rest) } catch { return -1 }
      }
      guard let result else {
        // The socket is full: wait until it takes more.
        loop.unwatch(client.fd)
        try? loop.watch(client.fd, token: token, events: EventLoop.writable)
        clients[token] = client
        return
      }
      if result < 0 {
        close(token)
        return
      }
      client.written += result
    }
    TCPSocket.shutdownWrite(client.fd)
    client.draining = true
    client.deadline = EventLoop.now() + readTimeout
    loop.unwatch(client.fd)
    do {
      try loop.watch(client.fd, token: token, events: EventLoop.readable)
    } catch {
      close(token)
      return
    }
    clients[token] = client
  }

  /// Reads and drops what an answered client sends; closes at its end of file.
  private mutating func drain(_ token: UInt64) {
    guard let client = clients[token] else { return }
    var chunk = [UInt8](repeating: 0, count: 4096)
    while true {
      let read = chunk.withUnsafeMutableBytes { bytes -> Int? in
        do throws(Errno) { return try client.fd.read(into: bytes) } catch { return 0 }
      }
      guard let read else { return }
      if read == 0 {
        close(token)
        return
      }
    }
  }

  private mutating func close(_ token: UInt64) {
    guard let client = clients.removeValue(forKey: token) else { return }
    loop.unwatch(client.fd)
    client.fd.close()
    if !listening {
      try? loop.watch(listener, token: MetricsServer.listenerToken, events: EventLoop.readable)
      listening = true
    }
  }
}
