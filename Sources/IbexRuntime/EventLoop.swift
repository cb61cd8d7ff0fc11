import CIbex
import IbexCore

/// What woke the event loop.
public enum LoopEvent {
  /// A signal arrived; `sender` is the pid of the process that sent it (0 from outside
  /// ibex's pid namespace or from the kernel).
  case signal(Signal, sender: Int32)
  /// The deadline set with `arm(at:)` has passed.
  case deadline
  /// A watched file descriptor is ready; `token` is what was given to `watch`.
  case ready(token: UInt64, events: UInt32)
}

/// The one event loop of ibex: an epoll set over a signalfd (every handled signal), a
/// timerfd armed to a single deadline, and whatever descriptors the program watches.
///
/// The loop has no callbacks: `wait` blocks until something happens and returns the events,
/// and the caller dispatches them. With no deadline armed it sleeps until a signal or an fd
/// wakes it: no polling and no periodic wake-ups.
///
/// While no descriptor is watched (`ibex run`), the loop waits in `sigtimedwait` instead of
/// `epoll_wait` + `read`: one system call per wake-up instead of two, which is most of PID 1's
/// cost when it reaps a storm of orphans.
public struct EventLoop: ~Copyable {
  private let epoll: FileDescriptor
  private let signals: FileDescriptor
  private let timer: FileDescriptor
  private var deadline: Instant?
  private var handled: SignalSet
  private var watchedCount = 0
  private var readyBuffer: [epoll_event]
  private var signalBuffer: [signalfd_siginfo]

  private static let signalToken: UInt64 = 0
  private static let timerToken: UInt64 = 1
  /// Readiness to read (`EPOLLIN`), for `watch`.
  public static let readable: UInt32 = ibex_EPOLLIN
  public static let writable: UInt32 = ibex_EPOLLOUT

  /// Tokens are the loop's to give (`makeToken`): a slot, reused once released, and the slot's
  /// generation, bumped on every reuse (as NIO's registration ids). No two holders ever get the
  /// same token, whatever their number or how long ibex runs, and an event for a released
  /// token that was already queued is dropped instead of reaching the slot's next holder.
  private var generations: [UInt32] = []
  private var live: [Bool] = []
  private var freeSlots: [Int] = []

  /// Creates the loop. `handled` must already be blocked (see `InheritedSignalState`).
  public init(handling handled: SignalSet) throws(Errno) {
    var handled = handled
    var opened: [FileDescriptor] = []
    do throws(Errno) {
      let epoll = FileDescriptor(rawValue: try Errno.check(ibex_epoll_create()))
      opened.append(epoll)
      let signals = FileDescriptor(rawValue: try Errno.check(ibex_signalfd(&handled.raw)))
      opened.append(signals)
      let timer = FileDescriptor(rawValue: try Errno.check(ibex_timerfd_create()))
      opened.append(timer)
      try EventLoop.add(signals, to: epoll, token: EventLoop.signalToken, events: ibex_EPOLLIN)
      try EventLoop.add(timer, to: epoll, token: EventLoop.timerToken, events: ibex_EPOLLIN)
    } catch {
      for fd in opened { fd.close() }
      throw error
    }
    epoll = opened[0]
    signals = opened[1]
    timer = opened[2]
    deadline = nil
    self.handled = handled
    readyBuffer = Array(repeating: epoll_event(), count: 32)
    signalBuffer = Array(repeating: signalfd_siginfo(), count: 32)
  }

  deinit {
    epoll.close()
    signals.close()
    timer.close()
  }

  private static func add(_ fd: FileDescriptor, to epoll: FileDescriptor, token: UInt64, events: UInt32) throws(Errno) {
    _ = try Errno.check(ibex_epoll_ctl(epoll.rawValue, ibex_EPOLL_CTL_ADD, fd.rawValue, events, token))
  }

  /// A new token for one watcher (a pipe, a connection, a console): watch and unwatch its fd
  /// with it as often as needed, then give it back with `releaseToken`.
  public mutating func makeToken() -> UInt64 {
    let slot: Int
    if let free = freeSlots.popLast() {
      slot = free
    } else {
      slot = generations.count
      generations.append(0)
      live.append(false)
    }
    generations[slot] &+= 1
    live[slot] = true
    return EventLoop.token(slot: slot, generation: generations[slot])
  }

  /// Gives a token back (its fd is no longer watched): its slot may be reused, with another
  /// generation, and events still queued for it are dropped.
  public mutating func releaseToken(_ token: UInt64) {
    guard let slot = liveSlot(of: token) else { return }
    live[slot] = false
    freeSlots.append(slot)
  }

  /// The loop's own tokens (signals, timer) have slot field 0; a holder's slot `s` is `s + 1`.
  private static func token(slot: Int, generation: UInt32) -> UInt64 { UInt64(slot + 1) << 32 | UInt64(generation) }

  /// The slot of `token` if it is a live token of this loop.
  private func liveSlot(of token: UInt64) -> Int? {
    let field = Int(token >> 32)
    guard field >= 1 && field <= generations.count else { return nil }
    let slot = field - 1
    return live[slot] && generations[slot] == UInt32(truncatingIfNeeded: token) ? slot : nil
  }

  /// Watches `fd` for `events` (`EventLoop.readable`, ...); readiness is reported with
  /// `token`, which must come from `makeToken` and not be released.
  public mutating func watch(_ fd: FileDescriptor, token: UInt64, events: UInt32) throws(Errno) {
    precondition(liveSlot(of: token) != nil, "ibex bug: token \(token) was not made by this loop, or was released")
    try EventLoop.add(fd, to: epoll, token: token, events: events)
    watchedCount += 1
  }

  /// Stops watching `fd`.
  public mutating func unwatch(_ fd: FileDescriptor) {
    if ibex_epoll_ctl(epoll.rawValue, ibex_EPOLL_CTL_DEL, fd.rawValue, 0, 0) == 0 { watchedCount -= 1 }
  }

  /// Sets the one deadline (nil clears it). The caller keeps the nearest of its deadlines here.
  public mutating func arm(at instant: Instant?) {
    if instant == deadline { return }
    deadline = instant
    // A deadline in the past still fires: the timerfd is armed at least 1 ns after 0.
    let at = instant.map { max($0.nanoseconds, 1) } ?? 0
    if ibex_timerfd_arm(timer.rawValue, at) < 0 { fatalError("ibex bug: timerfd_settime failed") }
  }

  /// The current time on the monotonic clock.
  public static func now() -> Instant { Instant(nanoseconds: ibex_monotonic_ns()) }

  /// Blocks until at least one event and replaces the contents of `events` with what
  /// happened.
  public mutating func wait(into events: inout [LoopEvent]) {
    events.removeAll(keepingCapacity: true)
    if watchedCount == 0 {
      waitForSignal(into: &events)
      return
    }
    while events.isEmpty {
      let count = readyBuffer.withUnsafeMutableBufferPointer {
        ibex_epoll_wait(epoll.rawValue, $0.baseAddress, Int32($0.count), -1)
      }
      if count < 0 { fatalError("ibex bug: epoll_wait failed: \(Errno(rawValue: -count).description)") }
      for index in 0..<Int(count) {
        let ready = readyBuffer[index]
        switch ready.data.u64 {
        case EventLoop.signalToken: readSignals(into: &events)
        case EventLoop.timerToken: readTimer(into: &events)
        default:
          // Only live tokens: never one released since (its fd unwatched and closed).
          if liveSlot(of: ready.data.u64) != nil { events.append(.ready(token: ready.data.u64, events: ready.events)) }
        }
      }
    }
  }

  private mutating func waitForSignal(into events: inout [LoopEvent]) {
    while events.isEmpty {
      var timeout: Int64 = -1
      if let deadline {
        timeout = (deadline - EventLoop.now()).nanoseconds
        if timeout <= 0 {
          arm(at: nil)
          events.append(.deadline)
          return
        }
      }
      var number: Int32 = 0
      var sender: Int32 = 0
      let r = ibex_wait_signal(&handled.raw, timeout, &number, &sender)
      if r < 0 { fatalError("ibex bug: sigtimedwait failed: \(Errno(rawValue: -r).description)") }
      if r == 1 { events.append(.signal(Signal(rawValue: number), sender: sender)) }
    }
  }

  private mutating func readSignals(into events: inout [LoopEvent]) {
    let fd = signals
    let size = MemoryLayout<signalfd_siginfo>.stride
    while true {
      let read = signalBuffer.withUnsafeMutableBytes { (bytes) -> Int? in
        do throws(Errno) {
          return try fd.read(into: bytes)
        } catch {
          fatalError("ibex bug: signalfd read: \(error.description)")
        }
      }
      guard let read, read > 0 else { return }
      for index in 0..<(read / size) {
        let info = signalBuffer[index]
        events.append(.signal(Signal(rawValue: Int32(bitPattern: info.ssi_signo)), sender: Int32(bitPattern: info.ssi_pid)))
      }
      if read < signalBuffer.count * size { return }
    }
  }

  private mutating func readTimer(into events: inout [LoopEvent]) {
    var expirations: UInt64 = 0
    let read = withUnsafeMutableBytes(of: &expirations) { (bytes) -> Int? in try? timer.read(into: bytes) }
    // A timer re-armed after it expired but before this read reports nothing: not an event.
    guard read == 8 else { return }
    deadline = nil
    events.append(.deadline)
  }
}
