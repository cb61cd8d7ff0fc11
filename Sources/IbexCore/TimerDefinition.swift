/// One calendar trigger of a timer (`OnCalendar=`, a crontab line, a `CRON_*` value): its
/// normalized text, and the first UTC second strictly after a given one at which it elapses
/// (nil: never again). The zone is captured by the closure, so the scheduler stays free of
/// calendar and zone rules, and tests can use any function.
public struct CalendarTrigger: Sendable {
  public var expression: String
  public var nextElapse: @Sendable (Int64) -> Int64?

  public init(expression: String, nextElapse: @escaping @Sendable (Int64) -> Int64?) {
    self.expression = expression
    self.nextElapse = nextElapse
  }
}

/// A timer: when to start a service (`NAME.timer`, a crontab line, a `CRON_*` variable).
/// Every source produces this value; the scheduler never knows which one it was.
public struct TimerDefinition: Sendable {
  /// `backup` for `backup.timer`; `cron-hello` for `CRON_HELLO`.
  public var name: String
  /// The service it starts (`Unit=`, else the timer's own name).
  public var unit: String
  public var location: SourceLocation
  public var calendars: [CalendarTrigger] = []
  /// `OnBootSec=` and `OnStartupSec=` (the same in a container: ibex starts with it), and
  /// crontab's `@reboot` (0).
  public var afterBoot: [TimeSpan] = []
  /// `OnUnitActiveSec=`: after the service was last started.
  public var afterActive: [TimeSpan] = []
  /// `OnUnitInactiveSec=`: after the service last finished.
  public var afterInactive: [TimeSpan] = []
  /// `RandomizedDelaySec=`: each elapse is moved by a random time up to this.
  public var randomizedDelay: TimeSpan = .zero
  /// `FixedRandomDelay=`: the random time is the same for every elapse (derived from the name).
  public var fixedRandomDelay = false
  /// `Persistent=`: the last trigger time is kept on disk, and a run missed while ibex was
  /// down is made up once at start.
  public var persistent = false

  public init(name: String, unit: String, location: SourceLocation) {
    self.name = name
    self.unit = unit
    self.location = location
  }

  /// What triggers it, as `ibex status` shows it: `OnCalendar=*-*-* 03:00:00`, `OnBootSec=5s`.
  public var triggerDescriptions: [String] {
    var lines = calendars.map { "OnCalendar=" + $0.expression }
    lines += afterBoot.map { "OnBootSec=" + $0.description }
    lines += afterActive.map { "OnUnitActiveSec=" + $0.description }
    lines += afterInactive.map { "OnUnitInactiveSec=" + $0.description }
    return lines
  }
}
