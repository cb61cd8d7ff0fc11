import CIbex
import IbexCore

/// What woke the event loop.
public enum LoopEvent {
  /// A signal arrived; `sender` is the pid of the process that sent it (0 from outside
  /// ibex's pid namespace or from the kernel).
  case signal(Signal, sender: Int32)
  /// The deadline set with `arm(at:)` has passed.
  case deadline
  /// The wall-clock deadline set with `armWallClock(at:)` has passed, or (`changed`) the wall
  /// clock was set (the deadline is then disarmed: arm it again).
  case wallClock(changed: Bool)
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
  private let wallTimer: FileDescriptor
  private var deadline: Instant?
  private var wallDeadline: Int64?
  private var handled: SignalSet
  private var watchedCount = 0
  private var readyBuffer: [epoll_event]
  private var signalBuffer: [signalfd_siginfo]

  private static let signalToken: UInt64 = 0
  private static let timerToken: UInt64 = 1
  private static let wallTimerToken: UInt64 = 2
  /// Readiness to read (`EPOLLIN`), for `watch`.
  public static let readable: UInt32 = ibex_EPOLLIN
  public static let writable: UInt32 = ibex_EPOLLOUT

  /// Tokens below this value are the loop's own.
  public static let firstUserToken: UInt64 = 16

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
      let wallTimer = FileDescriptor(rawValue: try Errno.check(ibex_timerfd_create_realtime()))
      opened.append(wallTimer)
      try EventLoop.add(signals, to: epoll, token: EventLoop.signalToken, events: ibex_EPOLLIN)
      try EventLoop.add(timer, to: epoll, token: EventLoop.timerToken, events: ibex_EPOLLIN)
      try EventLoop.add(wallTimer, to: epoll, token: EventLoop.wallTimerToken, events: ibex_EPOLLIN)
    } catch {
      for fd in opened { fd.close() }
      throw error
    }
    epoll = opened[0]
    signals = opened[1]
    timer = opened[2]
    wallTimer = opened[3]
    deadline = nil
    wallDeadline = nil
    self.handled = handled
    readyBuffer = Array(repeating: epoll_event(), count: 32)
    signalBuffer = Array(repeating: signalfd_siginfo(), count: 32)
  }

  deinit {
    epoll.close()
    signals.close()
    timer.close()
    wallTimer.close()
  }

  private static func add(_ fd: FileDescriptor, to epoll: FileDescriptor, token: UInt64, events: UInt32) throws(Errno) {
    _ = try Errno.check(ibex_epoll_ctl(epoll.rawValue, ibex_EPOLL_CTL_ADD, fd.rawValue, events, token))
  }

  /// Watches `fd` for `events` (`ibex_EPOLLIN`, ...); readiness is reported with `token`,
  /// which must be at least `firstUserToken`.
  public mutating func watch(_ fd: FileDescriptor, token: UInt64, events: UInt32) throws(Errno) {
    precondition(token >= EventLoop.firstUserToken, "ibex bug: token \(token) is reserved")
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

  /// Sets the one wall-clock deadline (ns since the epoch, `CLOCK_REALTIME`; nil clears it).
  /// While it is armed, a change of the wall clock is reported as `.wallClock(changed: true)`.
  public mutating func armWallClock(at nanoseconds: Int64?) {
    wallDeadline = nanoseconds
    let at = nanoseconds.map { max($0, 1) } ?? 0
    if ibex_timerfd_arm_realtime(wallTimer.rawValue, at) < 0 { fatalError("ibex bug: timerfd_settime (realtime) failed") }
  }

  /// The current time on the monotonic clock.
  public static func now() -> Instant { Instant(nanoseconds: ibex_monotonic_ns()) }

  /// Blocks until at least one event and replaces the contents of `events` with what
  /// happened.
  public mutating func wait(into events: inout [LoopEvent]) {
    events.removeAll(keepingCapacity: true)
    if watchedCount == 0 && wallDeadline == nil {
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
        case EventLoop.wallTimerToken: readWallTimer(into: &events)
        default: events.append(.ready(token: ready.data.u64, events: ready.events))
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

  private mutating func readWallTimer(into events: inout [LoopEvent]) {
    var expirations: UInt64 = 0
    var changed = false
    let read = withUnsafeMutableBytes(of: &expirations) { (bytes) -> Int? in
      do throws(Errno) {
        return try wallTimer.read(into: bytes)
      } catch {
        changed = error == .canceled
        return nil
      }
    }
    guard read == 8 || changed else { return }
    wallDeadline = nil
    events.append(.wallClock(changed: changed))
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
