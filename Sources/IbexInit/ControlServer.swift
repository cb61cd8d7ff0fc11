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

  static let listenerToken: UInt64 = EventLoop.firstUserToken + 1
  static let firstConnectionToken: UInt64 = 1 << 21
  /// A client must send a complete request within this time of connecting or of its last one.
  static let idleTimeout = TimeSpan.seconds(5)
  /// 32 connections at a time, 16 for the read-only group; a full table makes room by
  /// closing the connection idle longest that the newcomer may displace (ControlSlots).
  static let slots = ControlSlots(maximum: 32, readerMaximum: 16)
  /// After accept(2) fails (out of descriptors: EMFILE, ENFILE), the listener is left alone
  /// until a connection closes or this time passes, so a pending client cannot spin the loop.
  static let acceptPause = TimeSpan.seconds(1)

  let listener: FileDescriptor
  let path: String
  /// Peers with this primary gid get read-only access.
  let readOnlyGroup: UInt32?
  private(set) var connections: [UInt64: Connection] = [:]
  private var nextToken = firstConnectionToken
  /// While accepting is paused: when to try again.
  private(set) var acceptPausedUntil: Instant?
  /// accept(2) failures since accepting last worked (reported once, with the count, when it
  /// works again).
  private var acceptFailures = 0
  /// Messages for ibex's stderr, taken by `takeNotices()`.
  private var notices: [String] = []

  /// Listens at `path`: mode 0600, or 0660 owned by `readOnlyGroup`.
  init(path: String, readOnlyGroup: UInt32?) throws(Errno) {
    listener = try UnixSocket.listen(at: path, mode: readOnlyGroup == nil ? 0o600 : 0o660, group: readOnlyGroup)
    self.path = path
    self.readOnlyGroup = readOnlyGroup
  }

  /// The earliest connection deadline, or the end of an accept pause.
  var nextDeadline: Instant? {
    let earliest = connections.values.map { $0.deadline }.min()
    guard let pause = acceptPausedUntil else { return earliest }
    return earliest.map { min($0, pause) } ?? pause
  }

  /// Takes the messages collected since the last call.
  mutating func takeNotices() -> [String] {
    defer { notices = [] }
    return notices
  }

  /// Accepts every waiting connection. Root and ibex's own user may control; the read-only
  /// group may look; everyone else is answered "not permitted", logged, and dropped.
  mutating func acceptAll(loop: inout EventLoop, now: Instant) {
    guard acceptPausedUntil == nil else { return }
    var otherFailures = 0
    while true {
      let accepted: (FileDescriptor, PeerCredentials)?
      do {
        accepted = try UnixSocket.accept(from: listener)
      } catch {
        // Out of descriptors or memory: the connection stays queued, so wait. Anything else
        // (ECONNABORTED: the client left) concerns that connection only; a bounded number of
        // them per wake-up, so even a persistent error cannot spin the loop.
        let exhausted = [24, 23, 105, 12].contains(error.rawValue)  // EMFILE ENFILE ENOBUFS ENOMEM
        otherFailures += 1
        if exhausted || otherFailures > 16 {
          pauseAccepting(error, loop: &loop, now: now)
          return
        }
        continue
      }
      guard let (fd, peer) = accepted else { return }
      if acceptFailures > 0 {
        notices.append("control: accepting connections again (accept failed \(acceptFailures) times)")
        acceptFailures = 0
      }
      let owner = peer.uid == 0 || peer.uid == ThisProcess.effectiveUID
      let reader = readOnlyGroup != nil && peer.gid == readOnlyGroup
      guard owner || reader else {
        notices.append("control: refused a connection from uid \(peer.uid) (pid \(peer.pid)): not permitted")
        send(ControlFailure(.notPermitted, "uid \(peer.uid) may not use the control socket").response, to: fd)
        fd.close()
        continue
      }
      guard makeRoom(forOwner: owner, loop: &loop) else {
        send(ControlFailure(.failed, "too many control connections").response, to: fd)
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
      connections[token] = Connection(fd: fd, peer: peer, readOnly: !owner, deadline: now + ControlServer.idleTimeout)
    }
  }

  /// Frees a slot for a new connection if the table (or the readers' share) is full, by
  /// closing the connection idle longest that the newcomer may displace. False: no room.
  private mutating func makeRoom(forOwner owner: Bool, loop: inout EventLoop) -> Bool {
    let occupants = connections.map { ControlSlots.Occupant(key: $0.key, readOnly: $0.value.readOnly, lastActive: $0.value.deadline) }
    switch ControlServer.slots.admit(owner: owner, occupants: occupants) {
    case .admit: return true
    case .refuse: return false
    case .admitClosing(let token):
      if let victim = connections[token] {
        send(ControlFailure(.timeout, "closed to make room for another connection").response, to: victim.fd)
      }
      close(token, loop: &loop)
      return true
    }
  }

  /// accept(2) failed: stop watching the listener until a connection closes or the pause
  /// ends. The first failure is reported; the count comes with the recovery.
  private mutating func pauseAccepting(_ error: Errno, loop: inout EventLoop, now: Instant) {
    if acceptFailures == 0 {
      notices.append("control: unable to accept a connection: \(error.description); retrying when a descriptor is free (at the latest in \(ControlServer.acceptPause.description))")
    }
    acceptFailures += 1
    loop.unwatch(listener)
    acceptPausedUntil = now + ControlServer.acceptPause
  }

  /// Watches the listener again after a pause (a connection closed, or the pause is over).
  mutating func resumeAccepting(loop: inout EventLoop) {
    guard acceptPausedUntil != nil else { return }
    acceptPausedUntil = nil
    try? loop.watch(listener, token: ControlServer.listenerToken, events: EventLoop.readable)
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

  /// Drops connections whose deadline has passed, and ends an accept pause that is over.
  mutating func dropIdle(loop: inout EventLoop, now: Instant) {
    if let pause = acceptPausedUntil, pause <= now { resumeAccepting(loop: &loop) }
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
    connection.fd.close()
    // A descriptor is free again: accepting may work now.
    resumeAccepting(loop: &loop)
  }

  func isReadOnly(_ token: UInt64) -> Bool { connections[token]?.readOnly ?? true }

  mutating func shutdown(loop: inout EventLoop) {
    for token in Array(connections.keys) { close(token, loop: &loop) }
    acceptPausedUntil = Instant?.none
    loop.unwatch(listener)
    listener.close()
    FileSystem.remove(path)
  }
}
