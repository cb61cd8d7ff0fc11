import IbexCore
import IbexRuntime

/// The server side of the control socket: connections, their buffers, permissions and
/// deadlines. Requests are answered by `InitProgram`, which owns the supervisor.
struct ControlServer {
  /// One client connection.
  struct Connection {
    var fd: FileDescriptor
    var peer: PeerCredentials
    /// Read-only peers (the control group) may ask for status and checks only.
    var readOnly: Bool
    var buffer: [UInt8] = []
    /// Dropped if no complete request arrives by then.
    var deadline: Instant
  }

  /// A client must send a complete request within this time of connecting or of its last one.
  static let idleTimeout = TimeSpan.seconds(5)
  static let maximumConnections = 32

  let listener: FileDescriptor
  let path: String
  /// Peers with this primary gid get read-only access.
  let readOnlyGroup: UInt32?
  /// Connections by the loop token each got when accepted.
  private(set) var connections: [UInt64: Connection] = [:]
  /// The listening socket's loop token, once it is watched.
  private(set) var listenerToken: UInt64?

  /// Listens at `path`: mode 0600, or 0660 owned by `readOnlyGroup`.
  init(path: String, readOnlyGroup: UInt32?) throws(Errno) {
    listener = try UnixSocket.listen(at: path, mode: readOnlyGroup == nil ? 0o600 : 0o660, group: readOnlyGroup)
    self.path = path
    self.readOnlyGroup = readOnlyGroup
  }

  /// Starts watching the listening socket.
  mutating func listen(loop: inout EventLoop) throws(Errno) {
    let token = listenerToken ?? loop.makeToken()
    listenerToken = token
    try loop.watch(listener, token: token, events: EventLoop.readable)
  }

  /// Whether `token` is a connection's.
  func owns(_ token: UInt64) -> Bool { connections[token] != nil }

  /// The earliest connection deadline.
  var nextDeadline: Instant? { connections.values.map { $0.deadline }.min() }

  /// Accepts every waiting connection. Root and ibex's own user may control; the read-only
  /// group may look; everyone else is answered "not permitted", logged, and dropped.
  mutating func acceptAll(loop: inout EventLoop, now: Instant) {
    while true {
      let accepted: (FileDescriptor, PeerCredentials)?
      do {
        accepted = try UnixSocket.accept(from: listener)
      } catch {
        Console.warning("control: unable to accept a connection: \(error.description)")
        return
      }
      guard let (fd, peer) = accepted else { return }
      let owner = peer.uid == 0 || peer.uid == ThisProcess.effectiveUID
      let reader = readOnlyGroup != nil && peer.gid == readOnlyGroup
      guard owner || reader else {
        Console.warning("control: refused a connection from uid \(peer.uid) (pid \(peer.pid)): not permitted")
        send(ControlFailure(.notPermitted, "uid \(peer.uid) may not use the control socket").response, to: fd)
        fd.close()
        continue
      }
      guard connections.count < ControlServer.maximumConnections else {
        send(ControlFailure(.failed, "too many control connections").response, to: fd)
        fd.close()
        continue
      }
      let token = loop.makeToken()
      do {
        try loop.watch(fd, token: token, events: EventLoop.readable)
      } catch {
        loop.releaseToken(token)
        fd.close()
        continue
      }
      connections[token] = Connection(fd: fd, peer: peer, readOnly: !owner, deadline: now + ControlServer.idleTimeout)
    }
  }

  /// Reads what a connection sent and returns the complete request lines. A line longer than
  /// the protocol allows gets an error and the connection is closed; so is one at end of file.
  mutating func readRequests(token: UInt64, loop: inout EventLoop, now: Instant) -> [String] {
    guard var connection = connections[token] else { return [] }
    var chunk = [UInt8](repeating: 0, count: ControlRequest.maximumLength)
    var lines: [String] = []
    while true {
      let read = chunk.withUnsafeMutableBytes { bytes -> Int? in
        do throws(Errno) { return try connection.fd.read(into: bytes) } catch { return 0 }
      }
      guard let read else { break }  // drained
      if read == 0 {
        close(token, loop: &loop)
        return lines
      }
      connection.buffer += chunk[0..<read]
      while let newline = connection.buffer.firstIndex(of: 0x0a) {
        lines.append(String(decoding: connection.buffer[..<newline], as: UTF8.self))
        connection.buffer.removeSubrange(...newline)
        connection.deadline = now + ControlServer.idleTimeout
      }
      if connection.buffer.count >= ControlRequest.maximumLength {
        send(ControlFailure(.protocolError, "request longer than \(ControlRequest.maximumLength) bytes").response, to: connection.fd)
        close(token, loop: &loop)
        return []
      }
    }
    connections[token] = connection
    return lines
  }

  /// Drops connections whose deadline has passed.
  mutating func dropIdle(loop: inout EventLoop, now: Instant) {
    for (token, connection) in connections where connection.deadline <= now {
      send(ControlFailure(.timeout, "no complete request within \(ControlServer.idleTimeout.description)").response, to: connection.fd)
      close(token, loop: &loop)
    }
  }

  /// Answers on a connection; a client that does not read its answers is dropped.
  mutating func respond(_ response: JSONValue, token: UInt64, loop: inout EventLoop) {
    guard let connection = connections[token] else { return }
    if !send(response, to: connection.fd) { close(token, loop: &loop) }
  }

  @discardableResult
  private func send(_ response: JSONValue, to fd: FileDescriptor) -> Bool {
    do {
      try fd.writeAll(response.encoded + "\n")
      return true
    } catch {
      return false
    }
  }

  mutating func close(_ token: UInt64, loop: inout EventLoop) {
    guard let connection = connections.removeValue(forKey: token) else { return }
    loop.unwatch(connection.fd)
    loop.releaseToken(token)
    connection.fd.close()
  }

  func isReadOnly(_ token: UInt64) -> Bool { connections[token]?.readOnly ?? true }

  mutating func shutdown(loop: inout EventLoop) {
    for token in Array(connections.keys) { close(token, loop: &loop) }
    loop.unwatch(listener)
    listener.close()
    FileSystem.remove(path)
  }
}
