/// The two clocks the scheduler reads: monotonic (`OnBootSec=`, `OnUnitActiveSec=`, durations)
/// and the wall clock (`OnCalendar=`), in nanoseconds since the Unix epoch, UTC.
public struct SchedulerClock: Equatable, Sendable {
  public var monotonic: Instant
  public var realtime: Int64

  public init(monotonic: Instant, realtime: Int64) {
    self.monotonic = monotonic
    self.realtime = realtime
  }

  /// The wall-clock second (floor).
  public var second: Int64 { realtime >= 0 ? realtime / 1_000_000_000 : (realtime - 999_999_999) / 1_000_000_000 }
}

/// What happened, for the scheduler: the runtime reports facts.
public enum SchedulerEvent: Sendable {
  /// ibex started; `lastTriggers` are the `Persistent=` stamps found on disk (UTC seconds, by
  /// timer name).
  case boot(lastTriggers: [String: Int64])
  /// A deadline the scheduler armed has passed (or anything else: due timers fire).
  case tick
  /// The wall clock was set (`TFD_TIMER_CANCEL_ON_SET` reported it): recompute everything.
  case clockStepped
  /// A service started a run (by a timer, by `ibex start`, or as a dependency).
  case jobStarted(unit: String)
  /// A service's run ended: `result` is `done`, `exited 3`, ...
  case jobFinished(unit: String, succeeded: Bool, result: String)
  /// `ibex start NAME.timer` / `ibex stop NAME.timer`.
  case enable(timer: String)
  case disable(timer: String)
}

/// What to do, for the runtime.
public enum SchedulerAction: Equatable, Sendable {
  /// Start this service (the supervisor's start request).
  case start(unit: String, timer: String)
  /// Wake up with `tick` when the wall clock reaches this (ns since the epoch; nil: never).
  case armRealtime(Int64?)
  /// Wake up with `tick` at this monotonic instant (nil: never).
  case armMonotonic(Instant?)
  /// Write the `Persistent=` stamp of this timer: its last trigger, UTC seconds.
  case persist(timer: String, second: Int64)
  case log(String, LogLevel)
}

/// The scheduler of timers: pure, with both clocks and randomness injected. Events and the
/// current time in, actions out; the runtime owns the timerfds and the supervisor starts the
/// services. Deadlines follow systemd's timers:
/// - a calendar trigger elapses at the first time after the last trigger (or after the timer
///   was enabled, when it never triggered); a last trigger in the future (the clock went back)
///   counts as now. So a run missed while ibex was down (`Persistent=`) or skipped by a
///   forward clock step is made up once, at once;
/// - `OnBootSec=` elapses once; `OnUnitActiveSec=`/`OnUnitInactiveSec=` count from the
///   service's last start/end;
/// - a trigger while the service still runs is skipped (counted and logged), and counts as a
///   start for `OnUnitActiveSec=`.
public struct Scheduler: Sendable {
  public private(set) var timers: [TimerDefinition]
  private var states: [TimerState]
  private var bootInstant: Instant?
  private var random: UInt64
  private var armedRealtime: Int64?
  private var armedMonotonic: Instant?
  private var actions: [SchedulerAction] = []

  struct TimerState: Sendable {
    var enabled = true
    /// Wall-clock second the timer was enabled (the base of calendar triggers before the first).
    var enabledAt: Int64 = 0
    var lastTrigger: Int64?
    var lastTriggerInstant: Instant?
    /// Which `afterBoot` spans have elapsed.
    var bootDone: [Bool] = []
    var activeBase: Instant?
    var lastDeactivated: Instant?
    /// The next calendar elapse (UTC second) and the random delay added to it.
    var nextCalendar: Int64?
    var calendarDelay: Int64 = 0
    var monotonicBase: Instant?
    var monotonicDelay: Int64 = 0
    // The service, as the supervisor reported it.
    var active = false
    var startedAt: Instant?
    var lastRun: Int64?
    var lastResult: String?
    var lastSucceeded: Bool?
    var lastDuration: TimeSpan?
    var runs = 0
    var skipped = 0

    var realtimeDeadline: Int64? { nextCalendar.map { $0 &* 1_000_000_000 &+ calendarDelay } }
    var nextMonotonic: Instant? { monotonicBase.map { $0 + TimeSpan(nanoseconds: monotonicDelay) } }
  }

  /// `seed`: randomness for `RandomizedDelaySec=` (the runtime passes random bits).
  public init(timers: [TimerDefinition], seed: UInt64) {
    self.timers = timers
    self.states = timers.map { TimerState(bootDone: Array(repeating: false, count: $0.afterBoot.count)) }
    self.random = seed
  }

  /// The index of the timer named `name` (`backup` or `backup.timer`).
  public func index(of name: String) -> Int? {
    let bare = name.hasSuffix(".timer") ? String(name.dropLast(6)) : name
    return timers.firstIndex { $0.name == bare }
  }

  /// Whether a timer starts this service.
  public func activates(_ unit: String) -> Bool { timers.contains { $0.unit == unit } }

  public mutating func handle(_ event: SchedulerEvent, clock: SchedulerClock) -> [SchedulerAction] {
    actions = []
    var forceRealtime = false
    switch event {
    case .boot(let stamps):
      bootInstant = clock.monotonic
      for i in timers.indices {
        states[i].enabledAt = clock.second
        if timers[i].persistent, let stamp = stamps[timers[i].name] { states[i].lastTrigger = stamp }
      }
    case .tick:
      break
    case .clockStepped:
      log("the wall clock was set: timers recomputed")
      forceRealtime = true
    case .jobStarted(let unit):
      for i in timers.indices where timers[i].unit == unit {
        states[i].active = true
        states[i].startedAt = clock.monotonic
        states[i].activeBase = clock.monotonic
        states[i].lastRun = clock.realtime
        states[i].runs += 1
      }
    case .jobFinished(let unit, let succeeded, let result):
      for i in timers.indices where timers[i].unit == unit && states[i].active {
        states[i].active = false
        states[i].lastDeactivated = clock.monotonic
        states[i].lastResult = result
        states[i].lastSucceeded = succeeded
        states[i].lastDuration = states[i].startedAt.map { clock.monotonic - $0 }
      }
    case .enable(let name):
      if let i = index(of: name), !states[i].enabled {
        states[i].enabled = true
        states[i].enabledAt = clock.second
        log("\(label(i)): enabled")
      }
    case .disable(let name):
      if let i = index(of: name), states[i].enabled {
        states[i].enabled = false
        log("\(label(i)): disabled")
      }
    }
    if bootInstant != nil { fireDue(clock) }
    arm(force: forceRealtime)
    return actions
  }

  /// Replaces the timers (`ibex reload`): those that keep their name keep their history.
  public mutating func reload(_ definitions: [TimerDefinition], clock: SchedulerClock) -> [SchedulerAction] {
    actions = []
    var fresh: [TimerState] = []
    for definition in definitions {
      var state: TimerState
      if let old = timers.firstIndex(where: { $0.name == definition.name }) {
        state = states[old]
        state.nextCalendar = nil
        state.monotonicBase = nil
        if state.bootDone.count != definition.afterBoot.count {
          state.bootDone = Array(repeating: true, count: definition.afterBoot.count)
        }
      } else {
        state = TimerState(bootDone: Array(repeating: false, count: definition.afterBoot.count))
        state.enabledAt = clock.second
      }
      fresh.append(state)
    }
    timers = definitions
    states = fresh
    if bootInstant != nil { fireDue(clock) }
    arm(force: false)
    return actions
  }

  private func label(_ i: Int) -> String { timers[i].name + ".timer" }

  private mutating func log(_ line: String, _ level: LogLevel = .info) { actions.append(.log(line, level)) }

  // MARK: - Deadlines

  /// Fires every due timer (each at most once per event), then computes the next deadlines.
  private mutating func fireDue(_ clock: SchedulerClock) {
    for i in timers.indices {
      schedule(i, clock)
      if states[i].enabled {
        let calendarDue = states[i].realtimeDeadline.map { $0 <= clock.realtime } ?? false
        let monotonicDue = states[i].nextMonotonic.map { $0 <= clock.monotonic } ?? false
        if calendarDue || monotonicDue { trigger(i, clock) }
      }
      schedule(i, clock)
    }
  }

  private mutating func trigger(_ i: Int, _ clock: SchedulerClock) {
    let timer = timers[i]
    states[i].lastTrigger = clock.second
    states[i].lastTriggerInstant = clock.monotonic
    if let boot = bootInstant {
      for (k, span) in timer.afterBoot.enumerated() where boot + span <= clock.monotonic { states[i].bootDone[k] = true }
    }
    if timer.persistent { actions.append(.persist(timer: timer.name, second: clock.second)) }
    if states[i].active {
      states[i].skipped += 1
      states[i].activeBase = clock.monotonic
      log("\(label(i)): skipped: \(timer.unit) is still running (\(states[i].skipped) skipped so far)", .warning)
    } else {
      actions.append(.start(unit: timer.unit, timer: timer.name))
    }
  }

  /// Computes timer `i`'s next elapses from its history.
  private mutating func schedule(_ i: Int, _ clock: SchedulerClock) {
    let timer = timers[i]
    let state = states[i]
    guard state.enabled, let boot = bootInstant else {
      states[i].nextCalendar = nil
      states[i].monotonicBase = nil
      return
    }
    // Calendar: after the last trigger. One in the future means the clock was set back: it
    // is forgotten, and the schedule starts from now (systemd does the same).
    if let last = state.lastTrigger, last > clock.second { states[i].lastTrigger = nil }
    if states[i].enabledAt > clock.second { states[i].enabledAt = clock.second }
    var nextCalendar: Int64?
    if !timer.calendars.isEmpty {
      let base = states[i].lastTrigger ?? states[i].enabledAt
      for calendar in timer.calendars {
        if let next = calendar.nextElapse(base), nextCalendar.map({ next < $0 }) ?? true { nextCalendar = next }
      }
    }
    if nextCalendar != state.nextCalendar {
      states[i].nextCalendar = nextCalendar
      states[i].calendarDelay = nextCalendar == nil ? 0 : randomDelay(i)
    }
    // Monotonic: boot-relative ones once; the others after the service's last start or end,
    // and only later than the last trigger.
    var candidates: [Instant] = []
    for (k, span) in timer.afterBoot.enumerated() where !state.bootDone[k] { candidates.append(boot + span) }
    if let base = state.activeBase { candidates += timer.afterActive.map { base + $0 } }
    if let base = state.lastDeactivated { candidates += timer.afterInactive.map { base + $0 } }
    if let last = state.lastTriggerInstant { candidates = candidates.filter { $0 > last } }
    let nextMonotonic = candidates.min()
    if nextMonotonic != state.monotonicBase {
      states[i].monotonicBase = nextMonotonic
      states[i].monotonicDelay = nextMonotonic == nil ? 0 : randomDelay(i)
    }
  }

  /// A delay in 0...`RandomizedDelaySec=` (ns): fixed per timer with `FixedRandomDelay=`.
  private mutating func randomDelay(_ i: Int) -> Int64 {
    let limit = timers[i].randomizedDelay.nanoseconds
    guard limit > 0 else { return 0 }
    let bits: UInt64
    if timers[i].fixedRandomDelay {
      // FNV-1a of the name: the same delay on every elapse and every start.
      var hash: UInt64 = 0xcbf2_9ce4_8422_2325
      for byte in timers[i].name.utf8 { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
      bits = Scheduler.mix(hash)
    } else {
      random = random &+ 0x9e37_79b9_7f4a_7c15
      bits = Scheduler.mix(random)
    }
    return Int64(bits % UInt64(limit + 1))
  }

  /// SplitMix64's output function.
  private static func mix(_ value: UInt64) -> UInt64 {
    var z = value
    z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
    z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
    return z ^ (z >> 31)
  }

  private mutating func arm(force: Bool) {
    let realtime = states.indices.compactMap { states[$0].enabled ? states[$0].realtimeDeadline : nil }.min()
    let monotonic = states.indices.compactMap { states[$0].enabled ? states[$0].nextMonotonic : nil }.min()
    if realtime != armedRealtime || force {
      armedRealtime = realtime
      actions.append(.armRealtime(realtime))
    }
    if monotonic != armedMonotonic {
      armedMonotonic = monotonic
      actions.append(.armMonotonic(monotonic))
    }
  }

  // MARK: - Status

  /// When timer `i` elapses next, on the wall clock (ns; nil: not scheduled).
  public func nextElapse(of i: Int, clock: SchedulerClock) -> Int64? {
    guard states[i].enabled else { return nil }
    let monotonic = states[i].nextMonotonic.map { clock.realtime &+ ($0 - clock.monotonic).nanoseconds }
    switch (states[i].realtimeDeadline, monotonic) {
    case (let a?, let b?): return min(a, b)
    case (let a?, nil): return a
    case (nil, let b): return b
    }
  }

  public func isEnabled(_ i: Int) -> Bool { states[i].enabled }
  public func skippedCount(of i: Int) -> Int { states[i].skipped }
  public func runCount(of i: Int) -> Int { states[i].runs }

  /// One timer's status, as `ibex status --json` shows it; times are milliseconds since the
  /// epoch.
  public func status(of i: Int, clock: SchedulerClock) -> JSONValue {
    let state = states[i]
    func milliseconds(_ ns: Int64?) -> JSONValue { ns.map { .number($0 / 1_000_000) } ?? .null }
    return .object([
      ("name", .string(label(i))), ("unit", .string(timers[i].unit)), ("enabled", .bool(state.enabled)),
      ("triggers", .array(timers[i].triggerDescriptions.map { .string($0) })),
      ("next_elapse_ms", milliseconds(nextElapse(of: i, clock: clock))),
      ("last_trigger_ms", milliseconds(state.lastTrigger.map { $0 &* 1_000_000_000 })),
      ("last_run_ms", milliseconds(state.lastRun)), ("running", .bool(state.active)),
      ("last_result", state.lastResult.map { .string($0) } ?? .null),
      ("last_succeeded", state.lastSucceeded.map { .bool($0) } ?? .null),
      ("last_duration_ms", milliseconds(state.lastDuration?.nanoseconds)),
      ("runs", .number(Int64(state.runs))), ("skipped", .number(Int64(state.skipped))),
      ("persistent", .bool(timers[i].persistent)),
    ])
  }
}
