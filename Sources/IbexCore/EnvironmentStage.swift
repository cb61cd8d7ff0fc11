/// What a file read by the environment stage turned out to be (looked up by the shell).
public enum FileLookup: Equatable, Sendable {
  case contents([UInt8])
  case missing
  /// Not a regular file, unreadable, too large: why.
  case unusable(String)
}

/// The boot stage "environment" (docs/environment.md): from the container's environment, the
/// defaults files, /etc/passwd, /etc/group and the zoneinfo files it reads, the plan of what
/// to change before any service starts. Pure: the shell reads what `Input.read` asks for and
/// carries out the edits (temp + rename, owner and mode kept).
///
/// The order: defaults files, `X_FILE` secrets, booleans, time zone, groups (`PGID`,
/// `CONTAINER_GROUP_<NAME>`), users (`PUID`, `CONTAINER_USER_<NAME>`), group members
/// (`CONTAINER_GROUP_ADD_<GROUP>`). Any error: no edit is made.
public enum EnvironmentStage {
  public struct Input {
    /// Prefix of every path the stage edits or looks up (`IBEX_ROOT`; empty in a container).
    public var root: String
    /// The container's environment, `NAME=value`.
    public var environment: [String]
    /// The defaults files (`/etc/ibex/defaults/*.env`), in order: path and text.
    public var defaults: [(path: String, text: String)]
    /// /etc/passwd and /etc/group (nil: missing).
    public var passwd: String?
    public var group: String?
    /// Whether /etc can be written (not a read-only root, and ibex may write there).
    public var writableEtc: Bool
    /// Reads a file: secrets, zone files, /etc/localtime, /etc/timezone.
    public var read: (String) -> FileLookup

    public init(
      root: String = "", environment: [String], defaults: [(path: String, text: String)] = [], passwd: String? = nil,
      group: String? = nil, writableEtc: Bool = true, read: @escaping (String) -> FileLookup = { _ in .missing }
    ) {
      self.root = root
      self.environment = environment
      self.defaults = defaults
      self.passwd = passwd
      self.group = group
      self.writableEtc = writableEtc
      self.read = read
    }
  }

  public struct Message: Equatable, Sendable {
    public enum Level: Equatable, Sendable { case info, notice, warning }
    public var level: Level
    public var text: String
  }

  /// A file to replace: the shell writes `contents` to a temporary file beside `path`, gives it
  /// the owner and mode of the file it replaces (`mode` and root when there is none, or it is
  /// not a regular file), and renames it over `path`.
  public struct Edit: Equatable, Sendable {
    public var path: String
    public var contents: [UInt8]
    public var mode: UInt32
  }

  public struct Plan: Sendable {
    /// The environment services, CMD and `with-contenv` get.
    public var environment: [String] = []
    /// Variables whose values came from `X_FILE` (never shown).
    public var secrets: [String] = []
    public var edits: [Edit] = []
    public var messages: [Message] = []
    /// Each names the variable (or file and line) at fault; with any, nothing is changed.
    public var errors: [String] = []
  }

  /// The boolean variables ibex reads: checked here, so a bad value stops the boot at once.
  public static let booleanVariables = ["IBEX_LOG_PREFIX", "IBEX_LOG_CMD", "CONTAINER_ENABLE_SCHEDULING"]
  /// The list of `X_FILE` variables that are not secrets (names, separated by commas or
  /// blanks; `*`: none is).
  public static let exceptionsVariable = "IBEX_SECRET_FILE_EXCEPTIONS"
  /// Well-known `_FILE` variables that name files for programs, not secrets: always exceptions.
  public static let builtInExceptions = [
    "SSL_CERT_FILE", "NIX_SSL_CERT_FILE", "CLOUDSDK_CORE_CUSTOM_CA_CERTS_FILE", "TF_CLI_CONFIG_FILE", "LLVM_PROFILE_FILE",
    "COMPOSE_FILE",
  ]
  /// Names the image's service account for `PUID`/`PGID`.
  public static let serviceUserVariable = "IBEX_SERVICE_USER"
  /// The service account when the image names none (linuxserver's images call it `abc`).
  public static let defaultServiceUser = "abc"

  public static func plan(_ input: Input) -> Plan {
    var plan = Plan()
    var environment = mergeDefaults(input, &plan)
    resolveSecrets(input, &environment, &plan)
    plan.environment = environment
    for name in booleanVariables {
      if let text = Environment.value(of: name, in: environment), Boolean.parse(text) == nil {
        plan.errors.append("\(shown(name, text, plan)): not a boolean; \(Boolean.accepted)")
      }
    }
    guard plan.errors.isEmpty else { return plan }
    timeZone(input, &plan)
    accounts(input, &plan)
    if !plan.errors.isEmpty { plan.edits = [] }
    return plan
  }

  /// `NAME=value`, or only the name and where it came from for a secret.
  static func shown(_ name: String, _ value: String, _ plan: Plan) -> String {
    plan.secrets.contains(name) ? "\(name) (from \(name)_FILE)" : "\(name)=\(value)"
  }

  // MARK: - Defaults files

  private static func mergeDefaults(_ input: Input, _ plan: inout Plan) -> [String] {
    var defaults: [String] = []
    for file in input.defaults {
      switch Environment.parseFile(file.text) {
      case .success(let assignments):
        // Within one file, X and X_FILE both set is an error, as in the container's environment.
        for name in conflictingSecrets(assignments) {
          plan.errors.append("\(file.path): \(name) and \(name)_FILE are both set: set only one")
        }
        defaults = Environment.merge(defaults, assignments)
      case .failure(let bad):
        plan.errors.append("\(file.path):\(bad.line): \(bad.reason)")
      }
    }
    // The container's environment wins, also across the X / X_FILE pair: its X drops a
    // default X_FILE, and its X_FILE a default X.
    let container = names(input.environment)
    defaults = defaults.filter { assignment in
      let name = String(Environment.name(of: assignment))
      if name.hasSuffix("_FILE") && container.contains(String(name.dropLast(5))) { return false }
      return !container.contains(name + "_FILE")
    }
    return Environment.merge(defaults, input.environment)
  }

  /// The variables' names.
  static func names(_ environment: [String]) -> [String] { environment.map { String(Environment.name(of: $0)) } }

  /// Words separated by commas or blanks.
  static func words(_ text: String) -> [String] {
    text.split(whereSeparator: { $0 == "," || $0 == " " || $0 == "\t" || $0 == "\n" }).map(String.init)
  }

  private static func conflictingSecrets(_ environment: [String]) -> [String] {
    let names = names(environment)
    return environment.compactMap { assignment in
      let name = String(Environment.name(of: assignment))
      guard name.count > 5, name.hasSuffix("_FILE"), names.contains(String(name.dropLast(5))) else { return nil }
      return String(name.dropLast(5))
    }
  }

  // MARK: - Secrets

  private static func resolveSecrets(_ input: Input, _ environment: inout [String], _ plan: inout Plan) {
    let listed = words(Environment.value(of: exceptionsVariable, in: environment) ?? "")
    if listed.contains("*") { return }
    let exceptions = listed + builtInExceptions
    for name in conflictingSecrets(input.environment) where !exceptions.contains(name + "_FILE") {
      plan.errors.append("\(name) and \(name)_FILE are both set: set only one (\(name)_FILE names a file holding \(name)'s value)")
    }
    guard plan.errors.isEmpty else { return }
    var resolved: [String] = []
    var removed: [String] = []
    for assignment in environment {
      let fileVariable = String(Environment.name(of: assignment))
      guard fileVariable.count > 5, fileVariable.hasSuffix("_FILE"), !exceptions.contains(fileVariable) else { continue }
      let name = String(fileVariable.dropLast(5))
      let path = String(assignment.dropFirst(fileVariable.utf8.count + 1))
      guard path.hasPrefix("/") else {
        plan.errors.append("\(fileVariable)=\(path): not an absolute path (or list it in \(exceptionsVariable) if it is no secret)")
        continue
      }
      switch input.read(path) {
      case .contents(var bytes):
        if bytes.last == 0x0a { bytes.removeLast() }
        if bytes.contains(0) {
          plan.errors.append("\(fileVariable)=\(path): the file holds a NUL byte, which no environment variable can")
          continue
        }
        resolved.append(name + "=" + String(decoding: bytes, as: UTF8.self))
        removed.append(fileVariable)
        plan.secrets.append(name)
        plan.messages.append(Message(level: .info, text: "\(name) set from \(fileVariable)"))
      case .missing:
        plan.errors.append(
          "\(fileVariable)=\(path): no such file (or list \(fileVariable) in \(exceptionsVariable) if it is no secret)")
      case .unusable(let reason):
        plan.errors.append("\(fileVariable)=\(path): \(reason)")
      }
    }
    environment = environment.filter { !removed.contains(String(Environment.name(of: $0))) }
    environment = Environment.merge(environment, resolved)
  }

  // MARK: - Time zone

  /// Whether `name` may name a file under /usr/share/zoneinfo: relative, no `.` or `..`
  /// component, no empty component, letters, digits and `_+-./` only.
  public static func isZoneName(_ name: String) -> Bool {
    guard !name.isEmpty, name.utf8.count <= 255 else { return false }
    for component in name.split(separator: "/", omittingEmptySubsequences: false) {
      if component.isEmpty || component == "." || component == ".." { return false }
    }
    return name.utf8.allSatisfy { byte in
      (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5a) || (byte >= 0x61 && byte <= 0x7a)
        || byte == UInt8(ascii: "_") || byte == UInt8(ascii: "+") || byte == UInt8(ascii: "-")
        || byte == UInt8(ascii: ".") || byte == UInt8(ascii: "/")
    }
  }

  private static func timeZone(_ input: Input, _ plan: inout Plan) {
    let tz = Environment.value(of: "TZ", in: plan.environment).flatMap { $0.isEmpty ? nil : $0 }
    let timezone = Environment.value(of: "TIMEZONE", in: plan.environment).flatMap { $0.isEmpty ? nil : $0 }
    guard let value = tz ?? timezone else { return }
    let variable = tz != nil ? "TZ" : "TIMEZONE"
    if let tz, let timezone, tz != timezone {
      plan.messages.append(Message(level: .warning, text: "TZ and TIMEZONE differ: using TZ"))
    }
    let name = value.hasPrefix(":") ? String(value.dropFirst()) : value
    let shownValue = shown(variable, value, plan)
    guard isZoneName(name) else {
      plan.messages.append(
        Message(level: .warning, text: "\(shownValue): not a zone name (such as Europe/Paris); the time zone is unchanged"))
      return
    }
    let zone: [UInt8]
    switch input.read(input.root + "/usr/share/zoneinfo/" + name) {
    case .contents(let bytes) where bytes.starts(with: Array("TZif".utf8)):
      zone = bytes
    default:
      plan.messages.append(
        Message(level: .warning, text: "\(shownValue): no such time zone in /usr/share/zoneinfo; the time zone is unchanged"))
      return
    }
    let timezoneText = Array((name + "\n").utf8)
    var edits: [Edit] = []
    if input.read(input.root + "/etc/localtime") != .contents(zone) {
      edits.append(Edit(path: input.root + "/etc/localtime", contents: zone, mode: 0o644))
    }
    if input.read(input.root + "/etc/timezone") != .contents(timezoneText) {
      edits.append(Edit(path: input.root + "/etc/timezone", contents: timezoneText, mode: 0o644))
    }
    if edits.isEmpty {
      plan.messages.append(Message(level: .info, text: "time zone \(name): already set"))
    } else if input.writableEtc {
      plan.edits += edits
      plan.messages.append(Message(level: .info, text: "time zone \(name): /etc/localtime and /etc/timezone replaced"))
    } else {
      if tz == nil { plan.environment = Environment.merge(plan.environment, ["TZ=" + name]) }
      plan.messages.append(
        Message(level: .notice, text: "time zone \(name): /etc is read-only, so services get TZ=\(name) instead of /etc/localtime"))
    }
  }

  // MARK: - Users and groups

  /// /etc/passwd or /etc/group as lines, edited one field at a time: every other byte stays.
  struct Table {
    var lines: [String]
    let endsWithNewline: Bool
    let minimumFields: Int

    init(_ text: String, minimumFields: Int) {
      self.minimumFields = minimumFields
      endsWithNewline = text.hasSuffix("\n")
      lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
      if endsWithNewline { lines.removeLast() }
    }

    /// Field `k` of entry `i`; nil for a comment or a line with too few fields.
    func field(_ i: Int, _ k: Int) -> Substring? {
      guard !lines[i].hasPrefix("#") else { return nil }
      let fields = lines[i].split(separator: ":", omittingEmptySubsequences: false)
      return fields.count >= minimumFields ? fields[k] : nil
    }

    /// The first entry other than `except` whose field `k` is `value`.
    func first(_ k: Int, is value: String, except: Int = -1) -> Int? {
      lines.indices.first { $0 != except && field($0, k) == Substring(value) }
    }

    mutating func set(_ i: Int, _ k: Int, _ value: String) {
      var line = ""
      for (n, field) in lines[i].split(separator: ":", omittingEmptySubsequences: false).enumerated() {
        line += (n == 0 ? "" : ":") + (n == k ? Substring(value) : field)
      }
      lines[i] = line
    }

    var text: String {
      var out = ""
      for line in lines { out += line + "\n" }
      return endsWithNewline || out.isEmpty ? out : String(out.dropLast())
    }
  }

  /// The account or group a variable's `<NAME>` means: lower-cased, exact match, `_` may
  /// stand for `-` (an exact match with `_` wins over one with `-`). nil: why not.
  static func lookUp(_ suffix: String, in table: Table, _ what: String) -> Result<Int, Failure> {
    let lower = suffix.lowercasedASCII
    if let i = table.first(0, is: lower) { return .success(i) }
    let dashed = String(decoding: lower.utf8.map { $0 == UInt8(ascii: "_") ? UInt8(ascii: "-") : $0 }, as: UTF8.self)
    if dashed != lower, let i = table.first(0, is: dashed) { return .success(i) }
    return .failure(Failure("no " + what + " named '" + lower + (dashed == lower ? "'" : "' or '" + dashed + "'")))
  }

  /// A message about one variable, as a `Result` failure.
  struct Failure: Error {
    var text: String
    init(_ text: String) { self.text = text }
  }

  /// A uid or gid: digits only, below 2^32 - 1 (which means "none").
  public static func numericID(_ text: String) -> UInt32? {
    guard !text.isEmpty, text.utf8.count <= 10, text.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }),
      let value = UInt64(text), value < UInt64(UInt32.max)
    else { return nil }
    return UInt32(value)
  }

  /// The id variables, by pass: groups (`PGID`, `CONTAINER_GROUP_<NAME>`), users (`PUID`,
  /// `CONTAINER_USER_<NAME>`), group members (`CONTAINER_GROUP_ADD_<GROUP>`). Returns the pass
  /// (0, 1, 2) and `<NAME>` ("" for PUID and PGID), or nil for other variables.
  static func idVariable(_ variable: String) -> (pass: Int, name: String)? {
    if variable == "PGID" { return (0, "") }
    if variable == "PUID" { return (1, "") }
    func after(_ prefix: String) -> String? {
      variable.hasPrefix(prefix) && variable.utf8.count > prefix.utf8.count ? String(variable.dropFirst(prefix.utf8.count)) : nil
    }
    if let name = after("CONTAINER_GROUP_ADD_") { return (2, name) }
    if let name = after("CONTAINER_GROUP_") { return (0, name) }
    if let name = after("CONTAINER_USER_") { return (1, name) }
    return nil
  }

  private static func accounts(_ input: Input, _ plan: inout Plan) {
    // In name order, each pass over the variables that are set and not empty.
    let assignments = plan.environment.filter { assignment in
      let name = Environment.name(of: assignment)
      return assignment.utf8.count > name.utf8.count + 1 && idVariable(String(name)) != nil
    }
    let variables = names(assignments).stablySorted(by: String.bytewiseLess)
    guard let firstVariable = variables.first else { return }
    guard let passwdText = input.passwd, let groupText = input.group else {
      plan.errors.append(firstVariable + ": " + input.root + "/etc/passwd or " + input.root + "/etc/group is missing")
      return
    }
    var passwd = Table(passwdText, minimumFields: 7)
    var group = Table(groupText, minimumFields: 4)
    let serviceUser = Environment.value(of: serviceUserVariable, in: plan.environment) ?? defaultServiceUser
    for pass in 0..<3 {
      for variable in variables {
        guard let (kind, suffix) = idVariable(variable), kind == pass else { continue }
        let value = Environment.value(of: variable, in: assignments) ?? ""
        let result: Result<String?, Failure>
        switch pass {
        case 0: result = setGroup(suffix, value, &passwd, &group, serviceUser)
        case 1: result = setUser(suffix, value, &passwd, serviceUser)
        default: result = addMembers(suffix, value, passwd, &group)
        }
        switch result {
        case .success(let done?): plan.messages.append(Message(level: .info, text: variable + ": " + done))
        case .success(nil): break
        case .failure(let failure): plan.errors.append(shown(variable, value, plan) + ": " + failure.text)
        }
      }
    }
    var edits: [Edit] = []
    if group.text != groupText { edits.append(Edit(path: input.root + "/etc/group", contents: Array(group.text.utf8), mode: 0o644)) }
    if passwd.text != passwdText { edits.append(Edit(path: input.root + "/etc/passwd", contents: Array(passwd.text.utf8), mode: 0o644)) }
    guard !edits.isEmpty, plan.errors.isEmpty else { return }
    guard input.writableEtc else {
      plan.errors.append(
        firstVariable + ": /etc is read-only: the ids cannot be changed (set them in the image, or give the container a writable root)")
      return
    }
    plan.edits += edits
  }

  /// The service account for PUID and PGID.
  private static func serviceAccount(_ passwd: Table, _ serviceUser: String) -> Result<Int, Failure> {
    if let index = passwd.first(0, is: serviceUser) { return .success(index) }
    return .failure(Failure("no service account '" + serviceUser + "' in /etc/passwd (name it with " + serviceUserVariable + ")"))
  }

  /// `PGID` (`name` empty) or `CONTAINER_GROUP_<NAME>`: what was done, or why not.
  private static func setGroup(
    _ name: String, _ value: String, _ passwd: inout Table, _ group: inout Table, _ serviceUser: String
  ) -> Result<String?, Failure> {
    guard let gid = numericID(value) else { return .failure(Failure("not a group id (digits only)")) }
    let gidText = String(gid)
    let i: Int
    if !name.isEmpty {
      switch lookUp(name, in: group, "group") {
      case .success(let index): i = index
      case .failure(let failure): return .failure(Failure(failure.text + " in /etc/group"))
      }
    } else {
      // PGID: the primary group of the service account.
      let user: Int
      switch serviceAccount(passwd, serviceUser) {
      case .success(let index): user = index
      case .failure(let failure): return .failure(failure)
      }
      let primary = String(passwd.field(user, 3)!)
      guard let index = group.first(2, is: primary) else {
        // No line for it in /etc/group: the primary gid alone.
        if primary == gidText { return .success(nil) }
        if let clash = group.first(2, is: gidText) { return gidUsed(gidText, group, clash) }
        passwd.set(user, 3, gidText)
        return .success("primary gid of '" + serviceUser + "' set to " + gidText)
      }
      i = index
    }
    let old = String(group.field(i, 2)!)
    if old == gidText { return .success(nil) }
    if let clash = group.first(2, is: gidText, except: i) { return gidUsed(gidText, group, clash) }
    group.set(i, 2, gidText)
    // Its members by primary gid follow it.
    for k in passwd.lines.indices where passwd.field(k, 3) == Substring(old) { passwd.set(k, 3, gidText) }
    return .success("group '" + group.field(i, 0)! + "' gid " + old + " -> " + gidText)
  }

  private static func gidUsed(_ gid: String, _ group: Table, _ clash: Int) -> Result<String?, Failure> {
    .failure(Failure("gid " + gid + " is already used by group '" + group.field(clash, 0)! + "'"))
  }

  /// `PUID` (`name` empty) or `CONTAINER_USER_<NAME>`: what was done, or why not.
  private static func setUser(_ name: String, _ value: String, _ passwd: inout Table, _ serviceUser: String) -> Result<String?, Failure> {
    guard let uid = numericID(value) else { return .failure(Failure("not a user id (digits only)")) }
    let uidText = String(uid)
    let found = name.isEmpty ? serviceAccount(passwd, serviceUser) : lookUp(name, in: passwd, "user")
    let i: Int
    switch found {
    case .success(let index): i = index
    case .failure(let failure): return .failure(Failure(failure.text + (name.isEmpty ? "" : " in /etc/passwd")))
    }
    let old = String(passwd.field(i, 2)!)
    if old == uidText { return .success(nil) }
    if let clash = passwd.first(2, is: uidText, except: i) {
      return .failure(Failure("uid " + uidText + " is already used by user '" + passwd.field(clash, 0)! + "'"))
    }
    passwd.set(i, 2, uidText)
    return .success("user '" + passwd.field(i, 0)! + "' uid " + old + " -> " + uidText)
  }

  /// `CONTAINER_GROUP_ADD_<GROUP>=user1,user2`: what was done, or why not.
  private static func addMembers(_ name: String, _ value: String, _ passwd: Table, _ group: inout Table) -> Result<String?, Failure> {
    let i: Int
    switch lookUp(name, in: group, "group") {
    case .success(let index): i = index
    case .failure(let failure): return .failure(Failure(failure.text + " in /etc/group"))
    }
    var members = group.field(i, 3)!.split(separator: ",").map(String.init)
    var added = 0
    for user in words(value) {
      guard passwd.first(0, is: user) != nil else { return .failure(Failure("no user named '" + user + "' in /etc/passwd")) }
      if !members.contains(user) {
        members.append(user)
        added += 1
      }
    }
    if added == 0 { return .success(nil) }
    var list = ""
    for member in members { list += (list.isEmpty ? "" : ",") + member }
    group.set(i, 3, list)
    return .success(String(added) + " member(s) added to group '" + group.field(i, 0)! + "'")
  }
}
