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
  /// Names in the directory that were ignored (editors' backup files), one line each.
  public var warnings: [String] = []
}

/// Loads `<root>/etc/ibex/services/NAME.service` and the drop-ins in
/// `NAME.service.d/*.conf`, and checks what can be checked before anything starts: syntax,
/// directives, values, users and groups, and that every program exists. Every error of every
/// file is reported (in file and line order), not only the first.
public enum ServiceDirectory {
  public static let path = "/etc/ibex/services"

  public static func load(root: String, users: UserDatabase, searchPath: String) throws(ConfigError) -> LoadedServices {
    let directory = root + path
    var loaded = LoadedServices(services: [], identities: [])
    guard let info = FileSystem.info(directory) else { return loaded }
    guard info.isDirectory else { throw ConfigError("\(directory) is not a directory") }
    let names: [String]
    do {
      names = try FileSystem.list(directory)
    } catch {
      throw ConfigError("unable to read \(directory): \(error.description)")
    }
    var errors = ConfigErrorCollector()
    for entry in names {
      let file = directory + "/" + entry
      if isEditorLeftover(entry) {
        loaded.warnings.append("\(file): ignored (an editor's backup or swap file)")
        continue
      }
      if entry.hasPrefix(".") { continue }
      if entry.hasSuffix(".service.d") && FileSystem.info(file)?.isDirectory == true { continue }
      if entry.hasSuffix(".timer") { continue }  // ScheduleLoader reads the timers
      guard entry.hasSuffix(".service") else {
        errors.record(ConfigError("\(file): not a service file (service files end in .service, timers in .timer; drop-ins go in NAME.service.d/)"))
        continue
      }
      let name = String(entry.dropLast(8))
      guard ServiceFileParser.isValidName(name) else {
        errors.record(ConfigError("\(file): '\(name)' is not a valid service name (letters, digits, - _ . @ :)"))
        continue
      }
      guard let definition = errors.attempt({ () throws(ConfigError) in try parseService(name, file) }) else { continue }
      let identity = errors.attempt { () throws(ConfigError) in try resolveIdentity(definition, users) }
      errors.attempt { () throws(ConfigError) in try checkPrograms(definition, searchPath: searchPath) }
      errors.attempt { () throws(ConfigError) in try checkEnvironmentFiles(definition) }
      loaded.services.append(definition)
      loaded.identities.append(identity ?? nil)
    }
    try errors.check()
    return loaded
  }

  /// Names editors leave beside the files they edit (`web.service~`, `.web.service.swp`,
  /// `#web.service#`, `web.service.orig`, `web.service.dpkg-new`, ...): ignored with a warning,
  /// so that editing a file in place never stops a reload.
  static func isEditorLeftover(_ name: String) -> Bool {
    if name.hasSuffix("~") || (name.hasPrefix("#") && name.hasSuffix("#")) { return true }
    let suffixes = [".swp", ".swo", ".swx", ".bak", ".orig", ".rej", ".tmp", ".dpkg-old", ".dpkg-new", ".dpkg-dist", ".rpmnew", ".rpmsave"]
    return suffixes.contains { name.hasSuffix($0) }
  }

  /// One service file and its drop-ins, with every wrong line of all of them reported.
  private static func parseService(_ name: String, _ file: String) throws(ConfigError) -> ServiceDefinition {
    var errors = ConfigErrorCollector()
    var entries = errors.attempt { () throws(ConfigError) in try parse(file) } ?? []
    if let dropIns = try? FileSystem.list(file + ".d") {
      for dropIn in dropIns where dropIn.hasSuffix(".conf") {
        entries += errors.attempt { () throws(ConfigError) in try parse(file + ".d/" + dropIn) } ?? []
      }
    }
    try errors.check()
    return try ServiceFileParser.parse(name: name, entries: entries, location: SourceLocation(file: file, line: 1))
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
          at: service.location(of: directive))
      }
    }
    if let user = service.user {
      guard let account = users.account(user) else {
        throw ConfigError("User=\(user): no such user in /etc/passwd", at: service.location(of: "User"))
      }
      identity = Identity(name: account.name, uid: account.uid, gid: account.gid, groups: users.memberships(of: account.name), home: account.home)
    }
    if let group = service.group {
      guard let gid = users.gid(of: group) else { throw ConfigError("Group=\(group): no such group in /etc/group", at: service.location(of: "Group")) }
      identity.gid = gid
    }
    for group in service.supplementaryGroups {
      guard let gid = users.gid(of: group) else {
        throw ConfigError("SupplementaryGroups=\(group): no such group in /etc/group", at: service.location(of: "SupplementaryGroups"))
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
        throw ConfigError("EnvironmentFile=\(file.path): not a regular file (a FIFO, device or socket is refused)", at: service.location(of: "EnvironmentFile"))
      }
    }
  }

  /// Every program of the service must exist and be executable (a name is looked up in PATH);
  /// each one that is not is reported.
  static func checkPrograms(_ service: ServiceDefinition, searchPath: String) throws(ConfigError) {
    var commands = service.startPre + service.start + service.startPost + service.stop + service.stopPost
    if let health = service.health { commands.append(health.command) }
    var errors = ConfigErrorCollector()
    for command in commands where !command.program.contains("$") && resolveProgram(command.program, searchPath: searchPath) == nil {
      errors.record(ConfigError(programProblem(command.program, searchPath: searchPath), at: command.location ?? service.location))
    }
    try errors.check()
  }

  /// Why `program` cannot be executed: missing, or there but not an executable regular file
  /// (with its mode, so that `chmod +x` is the obvious fix).
  static func programProblem(_ program: String, searchPath: String) -> String {
    for candidate in candidates(for: program, searchPath: searchPath) {
      guard let info = FileSystem.info(candidate) else { continue }
      if !info.isRegularFile { return "\(candidate) is not a regular file, so it cannot be executed" }
      return "\(candidate) is not executable (mode \(info.permissionsText)): chmod +x it"
    }
    return "\(program): no such executable" + (program.contains("/") ? "" : " in PATH (\(searchPath))")
  }

  /// The path `program` would be executed from, or nil when there is none.
  public static func resolveProgram(_ program: String, searchPath: String) -> String? {
    candidates(for: program, searchPath: searchPath).first { candidate in
      guard let info = FileSystem.info(candidate) else { return false }
      return info.isRegularFile && info.isExecutable
    }
  }

  /// Where `program` is looked for, in order: itself when it has a `/`, else each directory of
  /// PATH (an empty entry is the current directory, as execvp(3) has it).
  private static func candidates(for program: String, searchPath: String) -> [String] {
    if program.contains("/") { return [program] }
    return searchPath.split(separator: ":", omittingEmptySubsequences: false).map { ($0.isEmpty ? "." : String($0)) + "/" + program }
  }
}
