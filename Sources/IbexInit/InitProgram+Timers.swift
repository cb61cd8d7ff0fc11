import IbexConfig
import IbexCore
import IbexRuntime

/// The thin part of the timers (docs/timers.md): the `Scheduler` decides; this file feeds it
/// the clocks and what the supervisor's job services do, turns its "start" into the
/// supervisor's start request, arms the wall-clock timerfd and writes `Persistent=` stamps.
extension InitProgram {
  /// Where `Persistent=` timers keep their last trigger: one file per timer holding UTC seconds.
  static let stampPath = "/var/lib/ibex/timers"

  /// The stamp directory, created if needed; nil (with a warning) when it is not writable.
  /// Only looked at when a timer is persistent.
  static func prepareStampDirectory(root: String, timers: [TimerDefinition]) -> String? {
    guard timers.contains(where: { $0.persistent }) else { return nil }
    let directory = root + stampPath
    do {
      try FileSystem.makeDirectories(directory, mode: 0o755)
      let probe = directory + "/.probe"
      try FileSystem.write(probe, "", mode: 0o600)
      FileSystem.remove(probe)
      return directory
    } catch {
      Console.warning(
        "Persistent= timers: \(directory) is not writable (\(error.description)): runs missed while the container is down will not be made up; mount a volume there")
      return nil
    }
  }

  /// Random bits for `RandomizedDelaySec=`.
  static func randomSeed() -> UInt64 {
    var generator = SystemRandomNumberGenerator()
    return generator.next()
  }

  func schedulerClock() -> SchedulerClock {
    let wall = WallTime.now()
    return SchedulerClock(monotonic: EventLoop.now(), realtime: wall.seconds &* 1_000_000_000 &+ Int64(wall.nanoseconds))
  }

  /// Starts the scheduler once the services have booted, with the stamps of persistent timers.
  mutating func bootScheduler() -> Int32? {
    var stamps: [String: Int64] = [:]
    if let directory = stampDirectory {
      for timer in scheduler.timers where timer.persistent {
        if let text = try? FileSystem.readText(directory + "/" + timer.name), let second = Int64(text.split(separator: "\n").first ?? "") {
          stamps[timer.name] = second
        }
      }
    }
    if let code = syncJobs() { return code }
    return feedScheduler(.boot(lastTriggers: stamps))
  }

  mutating func feedScheduler(_ event: SchedulerEvent) -> Int32? {
    if scheduler.timers.isEmpty { return nil }
    return performSchedule(scheduler.handle(event, clock: schedulerClock()))
  }

  mutating func reloadTimers(_ timers: [TimerDefinition]) {
    _ = performSchedule(scheduler.reload(timers, clock: schedulerClock()))
  }

  mutating func performSchedule(_ actions: [SchedulerAction]) -> Int32? {
    for action in actions {
      switch action {
      case .start(let unit, let timer):
        guard !supervisor.isShuttingDown, let i = supervisor.graph.services.firstIndex(where: { $0.name == unit }) else { continue }
        Console.emit("\(timer).timer: starting \(unit)")
        if let code = deliver(.commanded(.start(service: i))) { return code }
      case .armRealtime(let at):
        loop.armWallClock(at: at)
      case .armMonotonic(let at):
        schedulerDeadline = at
        rearm()
      case .persist(let timer, let second):
        writeStamp(timer: timer, second: second)
      case .log(let line, let level):
        Console.emit(level == .warning ? "warning: " + line : line)
      }
    }
    return nil
  }

  /// Written atomically (temporary file, then rename), readable by all, owned by ibex.
  private func writeStamp(timer: String, second: Int64) {
    guard let directory = stampDirectory else { return }
    let path = directory + "/" + timer
    do {
      try FileSystem.write(path + ".tmp", "\(second)\n", mode: 0o644)
      try LogFiles.rename(path + ".tmp", to: path)
    } catch {
      Console.warning("\(timer).timer: unable to write \(path): \(error.description)")
    }
  }

  /// Tells the scheduler which job services started or ended since the last look.
  mutating func syncJobs() -> Int32? {
    if scheduler.timers.isEmpty { return nil }
    var events: [SchedulerEvent] = []
    for (i, service) in supervisor.graph.services.enumerated() where scheduler.activates(service.name) {
      let phase = supervisor.phase(of: i)
      let active: Bool
      switch phase {
      case .inactive, .done, .stopped, .failed: active = false
      default: active = true
      }
      guard (jobActive[service.name] ?? false) != active else { continue }
      jobActive[service.name] = active
      if active {
        events.append(.jobStarted(unit: service.name))
      } else {
        var result = supervisor.lastExit(of: i)?.description ?? phase.name
        if case .failed(let reason) = phase { result = reason.description }
        let succeeded = phase == .done || phase == .stopped
        events.append(.jobFinished(unit: service.name, succeeded: succeeded, result: result))
      }
    }
    for event in events {
      if let code = feedScheduler(event) { return code }
    }
    return nil
  }

  /// Splits names into timers (`NAME.timer`) and the rest; an unknown timer is an error.
  func timerIndices(_ names: [String]) throws(ControlFailure) -> (timers: [Int], services: [String]) {
    if names.isEmpty { return (Array(scheduler.timers.indices), []) }
    var timers: [Int] = []
    var services: [String] = []
    for name in names {
      if name.hasSuffix(".timer") {
        guard let i = scheduler.index(of: name) else { throw ControlFailure(.unknownService, "no timer named '\(name)'") }
        timers.append(i)
      } else {
        services.append(name)
      }
    }
    return (timers, services)
  }
}
