import IbexCore
import IbexRuntime

/// The zones of the timers' expressions: the one an expression names, else the default zone
/// (`TZ`, else `/etc/localtime`, else UTC), read from the zone files under the root with
/// `TimeZoneFiles` and kept once read.
public struct TimeZones: Sendable {
  private let directory: String
  private var cache: [String: TimeZoneRules] = [:]
  public private(set) var defaultZone: TimeZoneRules = .utc
  /// Problems with the default zone (timers then use UTC).
  public private(set) var warnings: [String] = []

  public init(root: String, environment: [String]) {
    directory = root + TimeZoneFiles.directory
    do {
      defaultZone = try TimeZoneFiles.defaultZone(
        tz: Environment.value(of: "TZ", in: environment), directory: directory, localtime: root + TimeZoneFiles.localtime
      ).rules
    } catch {
      warnings.append("\(error.description): timers use UTC")
    }
  }

  /// The rules of zone `name` (`Europe/Berlin`, `UTC`).
  public mutating func rules(named name: String) throws(ConfigError.Message) -> TimeZoneRules {
    if let known = cache[name] { return known }
    do {
      let rules = try TimeZoneFiles.load(named: name, directory: directory)
      cache[name] = rules
      return rules
    } catch {
      throw .init(error.description)
    }
  }

  /// A calendar event (`OnCalendar=`) as a trigger, in its own zone or the default one.
  public mutating func calendarTrigger(_ text: String) throws(ConfigError.Message) -> CalendarTrigger {
    let event: CalendarEvent
    do {
      event = try CalendarEvent.parse(text)
    } catch {
      throw .init(error.description)
    }
    let zone = try event.zoneName.map { (name) throws(ConfigError.Message) in try rules(named: name) } ?? defaultZone
    return CalendarTrigger(expression: event.normalized) { event.nextElapse(after: $0, zone: zone) }
  }

  /// Five cron fields as a trigger, in `zone` (`CRON_TZ=`) or the default one.
  public mutating func cronTrigger(_ fields: String, zone name: String?) throws(ConfigError.Message) -> CalendarTrigger {
    let expression: CronExpression
    do {
      expression = try CronExpression.parse(fields)
    } catch {
      throw .init(error.description)
    }
    let zone = try name.map { (name) throws(ConfigError.Message) in try rules(named: name) } ?? defaultZone
    return CalendarTrigger(expression: expression.normalized) { expression.nextElapse(after: $0, zone: zone) }
  }
}
