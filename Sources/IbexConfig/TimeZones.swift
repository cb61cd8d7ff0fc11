import IbexCore
import IbexRuntime

/// Zone rules by name, read from the TZif files under `<root>/usr/share/zoneinfo`, and the
/// default zone of expressions without one: `TZ`, else `/etc/localtime`, else UTC.
public struct TimeZones: Sendable {
  public static let directory = "/usr/share/zoneinfo"
  private let root: String
  private var cache: [String: TimeZoneRules] = [:]
  public private(set) var defaultZone: TimeZoneRules = .utc
  /// `TZ=...` or `/etc/localtime`, for messages.
  public private(set) var defaultZoneSource = "UTC"
  /// Problems with the default zone (ibex then uses UTC).
  public private(set) var warnings: [String] = []

  public init(root: String, environment: [String]) {
    self.root = root
    if let tz = Environment.value(of: "TZ", in: environment), !tz.isEmpty {
      let name = tz.hasPrefix(":") ? String(tz.dropFirst()) : tz
      do throws(ConfigError.Message) {
        defaultZone = try rules(named: name)
        defaultZoneSource = "TZ=" + tz
      } catch {
        // Not a zone file: a POSIX rule such as `CET-1CEST,M3.5.0,M10.5.0/3`.
        do throws(TimeZoneError) {
          defaultZone = try TimeZoneRules.parse(posix: name)
          defaultZoneSource = "TZ=" + tz
        } catch {
          warnings.append("TZ=\(tz): neither a zone in \(TimeZones.directory) nor a POSIX TZ rule (\(error.description)): timers use UTC")
        }
      }
    } else if FileSystem.info(root + "/etc/localtime") != nil {
      do throws(TimeZoneError) {
        defaultZone = try TimeZoneRules.parse(tzif: (try? FileSystem.read(root + "/etc/localtime")) ?? [])
        defaultZoneSource = "/etc/localtime"
      } catch {
        warnings.append("/etc/localtime: not a usable zone file: timers use UTC")
      }
    }
  }

  /// The rules of zone `name` (`Europe/Berlin`, `UTC`).
  public mutating func rules(named name: String) throws(ConfigError.Message) -> TimeZoneRules {
    if let known = cache[name] { return known }
    if name == "UTC" || name == "Etc/UTC" || name == "GMT" || name == "Z" { return .utc }
    let valid = !name.isEmpty && !name.hasPrefix("/") && !name.split(separator: "/").contains("..")
    guard valid else { throw .init("'\(name)' is not a time zone name") }
    let path = root + TimeZones.directory + "/" + name
    let bytes: [UInt8]
    do {
      bytes = try FileSystem.read(path)
    } catch {
      throw .init("unknown time zone '\(name)' (\(path): \(error.description))")
    }
    do {
      let rules = try TimeZoneRules.parse(tzif: bytes)
      cache[name] = rules
      return rules
    } catch {
      throw .init("\(path): \(error.description)")
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
