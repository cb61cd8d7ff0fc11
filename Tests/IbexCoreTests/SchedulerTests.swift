import IbexCore
import Testing

/// A fake clock and a scheduler driven by hand: both clocks move together unless a test steps
/// the wall clock.
private struct SchedulerHarness {
  var scheduler: Scheduler
  var clock = SchedulerClock(monotonic: Instant(nanoseconds: 1_000_000_000), realtime: SchedulerHarness.epoch * 1_000_000_000)
  var started: [String] = []
  var logs: [String] = []
  var persisted: [String: Int64] = [:]
  var realtimeDeadline: Int64?
  var monotonicDeadline: Instant?
  /// 2026-01-01 00:00:00 UTC.
  static let epoch: Int64 = 1_767_225_600

  init(_ timers: [TimerDefinition], seed: UInt64 = 42) {
    scheduler = Scheduler(timers: timers, seed: seed)
  }

  mutating func send(_ event: SchedulerEvent) {
    for action in scheduler.handle(event, clock: clock) {
      switch action {
      case .start(let unit, _): started.append(unit)
      case .armRealtime(let at): realtimeDeadline = at
      case .armMonotonic(let at): monotonicDeadline = at
      case .persist(let timer, let second): persisted[timer] = second
      case .log(let line, _): logs.append(line)
      }
    }
  }

  /// Moves both clocks forward by `span`, delivering `tick` at every armed deadline on the way
  /// (as the runtime's timerfds would).
  mutating func advance(_ span: TimeSpan) {
    let end = clock.monotonic + span
    while true {
      var next: Instant?
      if let m = monotonicDeadline { next = m }
      if let r = realtimeDeadline {
        let asMonotonic = clock.monotonic + TimeSpan(nanoseconds: r - clock.realtime)
        next = next.map { min($0, asMonotonic) } ?? asMonotonic
      }
      guard let at = next, at <= end else { break }
      move(to: max(at, clock.monotonic))
      send(.tick)
    }
    move(to: end)
  }

  private mutating func move(to instant: Instant) {
    clock.realtime += (instant - clock.monotonic).nanoseconds
    clock.monotonic = instant
  }

  /// Sets the wall clock by `span` (the monotonic clock does not move).
  mutating func stepWallClock(_ span: TimeSpan) {
    clock.realtime += span.nanoseconds
    send(.clockStepped)
  }

  /// The service ran: started now, finished after `duration`.
  mutating func runJob(_ unit: String, for duration: TimeSpan = .zero) {
    send(.jobStarted(unit: unit))
    advance(duration)
    send(.jobFinished(unit: unit, succeeded: true, result: "done"))
  }
}

/// Every `period` seconds, aligned to the epoch (as `*:*:0/period`).
private func every(_ period: Int64) -> CalendarTrigger {
  CalendarTrigger(expression: "every \(period)s") { after in (after / period + 1) * period }
}

private func timer(_ name: String, _ configure: (inout TimerDefinition) -> Void = { _ in }) -> TimerDefinition {
  var definition = TimerDefinition(name: name, unit: name, location: SourceLocation(file: "\(name).timer", line: 1))
  configure(&definition)
  return definition
}

@Suite("Scheduler: when timers fire (fake clock)")
struct SchedulerTests {
  @Test("a calendar timer fires at each elapse, and the wall-clock deadline is the elapse second")
  func calendarFires() {
    var h = SchedulerHarness([timer("job") { $0.calendars = [every(60)] }])
    h.send(.boot(lastTriggers: [:]))
    #expect(h.started.isEmpty)
    #expect(h.realtimeDeadline == (SchedulerHarness.epoch + 60) * 1_000_000_000)
    #expect(h.monotonicDeadline == nil)
    for expected in 1...3 {
      h.advance(.seconds(60))
      #expect(h.started.count == expected)
      h.send(.jobStarted(unit: "job"))
      h.send(.jobFinished(unit: "job", succeeded: true, result: "done"))
    }
    #expect(h.realtimeDeadline == (SchedulerHarness.epoch + 240) * 1_000_000_000)
  }

  @Test("a run whose previous run is still active is skipped, counted and logged")
  func overlapSkipped() {
    var h = SchedulerHarness([timer("slow") { $0.calendars = [every(1)] }])
    h.send(.boot(lastTriggers: [:]))
    h.advance(.seconds(1))
    #expect(h.started == ["slow"])
    h.send(.jobStarted(unit: "slow"))
    h.advance(.seconds(3))
    #expect(h.started == ["slow"])
    #expect(h.scheduler.skippedCount(of: 0) == 3)
    #expect(h.logs.contains("slow.timer: skipped: slow is still running (3 skipped so far)"))
    h.send(.jobFinished(unit: "slow", succeeded: true, result: "done"))
    h.advance(.seconds(1))
    #expect(h.started == ["slow", "slow"])
  }

  @Test("OnBootSec= fires once; OnUnitActiveSec= counts from the last start")
  func monotonicTriggers() {
    var h = SchedulerHarness([
      timer("poll") {
        $0.afterBoot = [.seconds(5)]
        $0.afterActive = [.seconds(10)]
      }
    ])
    h.send(.boot(lastTriggers: [:]))
    #expect(h.monotonicDeadline == Instant(nanoseconds: 6_000_000_000))
    h.advance(.seconds(5))
    #expect(h.started == ["poll"])
    h.runJob("poll", for: .seconds(2))
    h.advance(.seconds(7))
    #expect(h.started == ["poll"])
    h.advance(.seconds(1))
    #expect(h.started == ["poll", "poll"])
    h.runJob("poll")
    h.advance(.seconds(10))
    #expect(h.started.count == 3)
  }

  @Test("OnUnitInactiveSec= counts from the end of the last run, and never fires before a first run")
  func inactiveTrigger() {
    var h = SchedulerHarness([timer("tidy") { $0.afterInactive = [.seconds(30)] }])
    h.send(.boot(lastTriggers: [:]))
    h.advance(.seconds(300))
    #expect(h.started.isEmpty)
    h.runJob("tidy", for: .seconds(20))
    h.advance(.seconds(29))
    #expect(h.started.isEmpty)
    h.advance(.seconds(1))
    #expect(h.started == ["tidy"])
  }

  @Test("a forward step of the wall clock past an elapse fires it once, then the schedule follows the new time")
  func forwardStep() {
    var h = SchedulerHarness([timer("daily") { $0.calendars = [every(86400)] }])
    h.send(.boot(lastTriggers: [:]))
    h.advance(.seconds(3600))
    h.stepWallClock(.seconds(3 * 86400))
    #expect(h.started == ["daily"])
    #expect(h.logs.contains("the wall clock was set: timers recomputed"))
    let today = h.clock.second / 86400 * 86400
    #expect(h.realtimeDeadline == (today + 86400) * 1_000_000_000)
  }

  @Test("a backward step of the wall clock before the last trigger schedules from the new time")
  func backwardStep() {
    var h = SchedulerHarness([timer("hourly") { $0.calendars = [every(3600)] }])
    h.send(.boot(lastTriggers: [:]))
    h.advance(.seconds(3600))
    #expect(h.started == ["hourly"])
    h.runJob("hourly")
    h.stepWallClock(.seconds(-2 * 3600 - 1800))
    // Without the reset it would wait until after the last trigger, 2.5 h away.
    #expect(h.realtimeDeadline == (SchedulerHarness.epoch - 3600) * 1_000_000_000)
    #expect(h.started.count == 1)
    h.advance(.seconds(1800))
    #expect(h.started.count == 2)
  }

  @Test("the clock event re-arms the wall-clock timer even when the deadline is the same")
  func stepReArms() {
    var h = SchedulerHarness([timer("t") { $0.calendars = [every(60)] }])
    h.send(.boot(lastTriggers: [:]))
    let actions = h.scheduler.handle(.clockStepped, clock: h.clock)
    #expect(actions.contains(.armRealtime((SchedulerHarness.epoch + 60) * 1_000_000_000)))
  }

  @Test("Persistent= makes up a run missed while ibex was down, once, and stores each trigger")
  func persistentMakesUp() {
    var h = SchedulerHarness([timer("backup") {
      $0.calendars = [every(86400)]
      $0.persistent = true
    }])
    h.clock.realtime += 3600 * 1_000_000_000  // 01:00; the last run was two days ago
    h.send(.boot(lastTriggers: ["backup": SchedulerHarness.epoch - 2 * 86400]))
    #expect(h.started == ["backup"])
    #expect(h.persisted["backup"] == SchedulerHarness.epoch + 3600)
    h.runJob("backup")
    h.advance(.seconds(3600))
    #expect(h.started.count == 1)
    #expect(h.realtimeDeadline == (SchedulerHarness.epoch + 86400) * 1_000_000_000)
  }

  @Test("without Persistent= a stamp is ignored and nothing is made up")
  func notPersistent() {
    var h = SchedulerHarness([timer("backup") { $0.calendars = [every(86400)] }])
    h.send(.boot(lastTriggers: ["backup": SchedulerHarness.epoch - 2 * 86400]))
    #expect(h.started.isEmpty)
    #expect(h.persisted.isEmpty)
  }

  @Test("a persistent timer whose last run is recent does not run at start")
  func persistentUpToDate() {
    var h = SchedulerHarness([timer("backup") {
      $0.calendars = [every(86400)]
      $0.persistent = true
    }])
    h.send(.boot(lastTriggers: ["backup": SchedulerHarness.epoch]))
    #expect(h.started.isEmpty)
  }

  @Test("a disabled timer does not fire; enabling it again schedules from then")
  func enableDisable() {
    var h = SchedulerHarness([timer("t") { $0.calendars = [every(10)] }])
    h.send(.boot(lastTriggers: [:]))
    h.send(.disable(timer: "t.timer"))
    #expect(h.realtimeDeadline == nil)
    h.advance(.seconds(100))
    #expect(h.started.isEmpty)
    h.send(.enable(timer: "t"))
    #expect(h.started.isEmpty)
    h.advance(.seconds(10))
    #expect(h.started == ["t"])
    #expect(h.logs.contains("t.timer: disabled"))
    #expect(h.logs.contains("t.timer: enabled"))
  }

  @Test("RandomizedDelaySec= moves each elapse by at most the delay; FixedRandomDelay= keeps it constant")
  func randomizedDelay() {
    for fixed in [false, true] {
      var h = SchedulerHarness([timer("r") {
        $0.calendars = [every(3600)]
        $0.randomizedDelay = .seconds(600)
        $0.fixedRandomDelay = fixed
      }])
      h.send(.boot(lastTriggers: [:]))
      var offsets: Set<Int64> = []
      for hour in 1...20 {
        let deadline = h.realtimeDeadline!
        let offset = deadline - (SchedulerHarness.epoch + Int64(hour) * 3600) * 1_000_000_000
        #expect(offset >= 0 && offset <= 600_000_000_000)
        offsets.insert(offset)
        h.advance(TimeSpan(nanoseconds: deadline - h.clock.realtime))
        #expect(h.started.count == hour)
        h.runJob("r")
      }
      #expect(h.started.count == 20)
      #expect(fixed ? offsets.count == 1 : offsets.count > 10)
    }
  }

  @Test("the status shows the last run, its result and duration, and the next elapse")
  func status() {
    var h = SchedulerHarness([timer("job") { $0.calendars = [every(60)] }])
    h.send(.boot(lastTriggers: [:]))
    h.advance(.seconds(60))
    h.send(.jobStarted(unit: "job"))
    h.advance(.milliseconds(1500))
    h.send(.jobFinished(unit: "job", succeeded: false, result: "exited 3"))
    let status = h.scheduler.status(of: 0, clock: h.clock)
    #expect(status["name"] == .string("job.timer"))
    #expect(status["last_run_ms"] == .number((SchedulerHarness.epoch + 60) * 1000))
    #expect(status["last_result"] == .string("exited 3"))
    #expect(status["last_succeeded"] == .bool(false))
    #expect(status["last_duration_ms"] == .number(1500))
    #expect(status["next_elapse_ms"] == .number((SchedulerHarness.epoch + 120) * 1000))
    #expect(status["triggers"] == .array([.string("OnCalendar=every 60s")]))
  }

  @Test("a reload keeps the history of timers that stay and adds the new ones")
  func reload() {
    var h = SchedulerHarness([timer("a") { $0.calendars = [every(60)] }])
    h.send(.boot(lastTriggers: [:]))
    h.advance(.seconds(60))
    h.runJob("a")
    let actions = h.scheduler.reload([timer("a") { $0.calendars = [every(60)] }, timer("b") { $0.calendars = [every(30)] }], clock: h.clock)
    #expect(actions.contains(.armRealtime((SchedulerHarness.epoch + 90) * 1_000_000_000)))
    #expect(h.scheduler.runCount(of: 0) == 1)
    #expect(h.scheduler.index(of: "b.timer") == 1)
  }

  @Test("several calendar triggers: the earliest wins")
  func severalCalendars() {
    var h = SchedulerHarness([timer("m") { $0.calendars = [every(100), every(70)] }])
    h.send(.boot(lastTriggers: [:]))
    #expect(h.realtimeDeadline == (SchedulerHarness.epoch + 70) * 1_000_000_000)
    h.advance(.seconds(70))
    h.runJob("m")
    #expect(h.realtimeDeadline == (SchedulerHarness.epoch + 100) * 1_000_000_000)
  }
}
