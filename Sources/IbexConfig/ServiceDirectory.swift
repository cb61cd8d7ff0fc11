import IbexCore
import IbexRuntime

/// The user and groups a service runs as, resolved from `User=`, `Group=` and
/// `SupplementaryGroups=`.
public struct Identity: Equatable, Sendable {
  public var name: String
  public var uid: UInt32
  public var gid: UInt32
  public var groups: [UInt32]
  public var home: String
}

/// The native service files of a container, loaded and checked.
public struct LoadedServices: Sendable {
  public var services: [ServiceDefinition]
  /// For each service, who it runs as (nil: as ibex).
  public var identities: [Identity?]
}

/// Loads `<root>/etc/ibex/services/NAME.service` and the drop-ins in
/// `NAME.service.d/*.conf`, and checks what can be checked before anything starts: syntax,
/// directives, values, users and groups, and that every program exists.
public enum ServiceDirectory {
  public static let path = "/etc/ibex/services"

  public static func load(root: String, users: UserDatabase, searchPath: String) throws(ConfigError) -> LoadedServices {
    let directory = root + path
    guard let info = FileSystem.info(directory) else { return LoadedServices(services: [], identities: []) }
    guard info.isDirectory else { throw ConfigError("\(directory) is not a directory") }
    let names: [String]
    do {
      names = try FileSystem.list(directory)
    } catch {
      throw ConfigError("unable to read \(directory): \(error.description)")
    }
    var services: [ServiceDefinition] = []
    var identities: [Identity?] = []
    for entry in names where !entry.hasPrefix(".") {
      let file = directory + "/" + entry
      if entry.hasSuffix(".service.d") && FileSystem.info(file)?.isDirectory == true { continue }
      if entry.hasSuffix(".timer") { continue }  // ScheduleLoader reads the timers
      guard entry.hasSuffix(".service") else {
        throw ConfigError("\(file): not a service file (service files end in .service, timers in .timer; drop-ins go in NAME.service.d/)")
      }
      let name = String(entry.dropLast(8))
      guard ServiceFileParser.isValidName(name) else {
        throw ConfigError("\(file): '\(name)' is not a valid service name (letters, digits, - _ . @ :)")
      }
      var entries = try parse(file)
      if let dropIns = try? FileSystem.list(file + ".d") {
        for dropIn in dropIns where dropIn.hasSuffix(".conf") { entries += try parse(file + ".d/" + dropIn) }
      }
      let definition = try ServiceFileParser.parse(name: name, entries: entries, location: SourceLocation(file: file, line: 1))
      identities.append(try resolveIdentity(definition, users))
      try checkPrograms(definition, searchPath: searchPath)
      try checkEnvironmentFiles(definition)
      services.append(definition)
    }
    return LoadedServices(services: services, identities: identities)
  }

  private static func parse(_ file: String) throws(ConfigError) -> [UnitEntry] {
    let text: String
    do {
      text = try FileSystem.readText(file)
    } catch {
      throw ConfigError("unable to read \(file): \(error.description)")
    }
    return try UnitFile.parse(text, file: file)
  }

  static func resolveIdentity(_ service: ServiceDefinition, _ users: UserDatabase) throws(ConfigError) -> Identity? {
    guard service.user != nil || service.group != nil || !service.supplementaryGroups.isEmpty else { return nil }
    var identity = Identity(name: "root", uid: 0, gid: 0, groups: [], home: "/root")
    for (directive, values) in [("User", service.user.map { [$0] } ?? []), ("Group", service.group.map { [$0] } ?? []),
      ("SupplementaryGroups", service.supplementaryGroups)]
    {
      for value in values where UInt32(value) == UserDatabase.unchangedID {
        throw ConfigError(
          "\(directive)=\(value): 4294967295 is (uid_t)-1, which the kernel takes as \"unchanged\" (the service would run as root): use a real id",
          at: service.location)
      }
    }
    if let user = service.user {
      guard let account = users.account(user) else {
        throw ConfigError("User=\(user): no such user in /etc/passwd", at: service.location)
      }
      identity = Identity(name: account.name, uid: account.uid, gid: account.gid, groups: users.memberships(of: account.name), home: account.home)
    }
    if let group = service.group {
      guard let gid = users.gid(of: group) else { throw ConfigError("Group=\(group): no such group in /etc/group", at: service.location) }
      identity.gid = gid
    }
    for group in service.supplementaryGroups {
      guard let gid = users.gid(of: group) else {
        throw ConfigError("SupplementaryGroups=\(group): no such group in /etc/group", at: service.location)
      }
      if !identity.groups.contains(gid) { identity.groups.append(gid) }
    }
    return identity
  }

  /// An `EnvironmentFile=` is read when the service starts (an init step may write it), but
  /// one that exists already must be a regular file: a FIFO would block ibex in `open(2)`.
  static func checkEnvironmentFiles(_ service: ServiceDefinition) throws(ConfigError) {
    for file in service.environmentFiles {
      if let info = FileSystem.info(file.path), !info.isRegularFile {
        throw ConfigError("EnvironmentFile=\(file.path): not a regular file (a FIFO, device or socket is refused)", at: service.location)
      }
    }
  }

  /// Every program of the service must exist and be executable (a name is looked up in PATH).
  static func checkPrograms(_ service: ServiceDefinition, searchPath: String) throws(ConfigError) {
    var commands = service.startPre + service.start + service.startPost + service.stop + service.stopPost
    if let health = service.health { commands.append(health.command) }
    for command in commands where !command.program.contains("$") {
      if resolveProgram(command.program, searchPath: searchPath) == nil {
        throw ConfigError(
          "\(command.program): no such executable" + (command.program.contains("/") ? "" : " in PATH (\(searchPath))"),
          at: command.location ?? service.location)
      }
    }
  }

  /// The path `program` would be executed from, or nil when there is none.
  public static func resolveProgram(_ program: String, searchPath: String) -> String? {
    if program.contains("/") {
      guard let info = FileSystem.info(program), info.isRegularFile, info.isExecutable else { return nil }
      return program
    }
    for directory in searchPath.split(separator: ":", omittingEmptySubsequences: false) {
      let candidate = (directory.isEmpty ? "." : String(directory)) + "/" + program
      if let info = FileSystem.info(candidate), info.isRegularFile, info.isExecutable { return candidate }
    }
    return nil
  }
}
