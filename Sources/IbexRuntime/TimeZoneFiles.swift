import IbexCore

/// Loads time zone rules from the zoneinfo files: the zone an expression names, or the default
/// zone (`TZ`, else `/etc/localtime`, else UTC), as the C library would.
public enum TimeZoneFiles {
  public static let directory = "/usr/share/zoneinfo"
  public static let localtime = "/etc/localtime"

  /// The rules of a named zone (`Europe/Berlin`, `UTC`), from `directory`.
  public static func load(named name: String, directory: String = directory) throws(TimeZoneError) -> TimeZoneRules {
    guard TimeZoneRules.isValidName(name) else { throw TimeZoneError("'\(name)' is not a time zone name") }
    let path = directory + "/" + name
    let bytes: [UInt8]
    do {
      bytes = try FileSystem.read(path)
    } catch {
      if name == "UTC" { return .utc }
      throw TimeZoneError("unknown time zone '\(name)' (\(path): \(error.description); is the tzdata package installed?)")
    }
    do {
      return try TimeZoneRules.parse(tzif: bytes)
    } catch {
      throw TimeZoneError("\(path): \(error.message)")
    }
  }

  /// The default zone and a name for it: `TZ` (`Europe/Berlin`, `:Europe/Berlin`, a path, or a
  /// POSIX rule such as `CET-1CEST,M3.5.0,M10.5.0/3`), else `/etc/localtime`, else UTC.
  public static func defaultZone(tz: String?, directory: String = directory, localtime: String = localtime)
    throws(TimeZoneError) -> (rules: TimeZoneRules, name: String)
  {
    if let tz {
      var name = Substring(tz)
      if name.hasPrefix(":") { name = name.dropFirst() }
      if name.isEmpty { return (.utc, "UTC") }
      if name.hasPrefix("/") {
        guard let bytes = try? FileSystem.read(String(name)), let rules = try? TimeZoneRules.parse(tzif: bytes) else {
          throw TimeZoneError("TZ=\(tz): \(String(name)) is not a readable TZif file")
        }
        return (rules, String(name))
      }
      if TimeZoneRules.isValidName(String(name)), let bytes = try? FileSystem.read(directory + "/" + name) {
        do {
          return (try TimeZoneRules.parse(tzif: bytes), String(name))
        } catch {
          throw TimeZoneError("TZ=\(tz): \(error.message)")
        }
      }
      do {
        return (try TimeZoneRules.parse(posix: String(name)), String(name))
      } catch {
        throw TimeZoneError("TZ=\(tz) is neither a zone under \(directory) nor a POSIX rule (\(error.message))")
      }
    }
    guard let bytes = try? FileSystem.read(localtime) else { return (.utc, "UTC") }
    do {
      let rules = try TimeZoneRules.parse(tzif: bytes)
      // The name: the link target below the zoneinfo directory, if it is a link.
      if let target = try? FileSystem.linkTarget(localtime), let name = zoneName(linkTarget: target) {
        return (rules, name)
      }
      return (rules, localtime)
    } catch {
      throw TimeZoneError("\(localtime): \(error.message)")
    }
  }

  /// `Europe/Berlin` from `/usr/share/zoneinfo/Europe/Berlin` or `../usr/share/zoneinfo/...`.
  static func zoneName(linkTarget: String) -> String? {
    let bytes = Array(linkTarget.utf8)
    let marker = Array("zoneinfo/".utf8)
    guard bytes.count > marker.count else { return nil }
    var index = bytes.count - marker.count
    while index >= 0 {
      if bytes[index..<index + marker.count].elementsEqual(marker) {
        let name = String(decoding: bytes[(index + marker.count)...], as: UTF8.self)
        return TimeZoneRules.isValidName(name) ? name : nil
      }
      index -= 1
    }
    return nil
  }
}
