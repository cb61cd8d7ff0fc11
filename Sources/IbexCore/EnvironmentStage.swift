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
  public static let booleanVariables = ["IBEX_LOG_PREFIX", "IBEX_LOG_CMD"]
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
        plan.errors.append("\(file.path):\(bad.line): not NAME=value")
      }
    }
    // The container's environment wins, also across the X / X_FILE pair: its X drops a
    // default X_FILE, and its X_FILE a default X.
    let container = Set(input.environment.map { String(Environment.name(of: $0)) })
    defaults.removeAll { assignment in
      let name = String(Environment.name(of: assignment))
      if name.hasSuffix("_FILE") && container.contains(String(name.dropLast(5))) { return true }
      return container.contains(name + "_FILE")
    }
    return Environment.merge(defaults, input.environment)
  }

  private static func conflictingSecrets(_ environment: [String]) -> [String] {
    let names = Set(environment.map { String(Environment.name(of: $0)) })
    return environment.compactMap { assignment in
      let name = String(Environment.name(of: assignment))
      guard name.count > 5, name.hasSuffix("_FILE"), names.contains(String(name.dropLast(5))) else { return nil }
      return String(name.dropLast(5))
    }
  }

  // MARK: - Secrets

  private static func resolveSecrets(_ input: Input, _ environment: inout [String], _ plan: inout Plan) {
    let listed = (Environment.value(of: exceptionsVariable, in: environment) ?? "")
      .split(whereSeparator: { $0 == "," || $0 == " " || $0 == "\t" || $0 == "\n" }).map(String.init)
    if listed.contains("*") { return }
    let exceptions = Set(listed + builtInExceptions)
    for name in conflictingSecrets(input.environment) where !exceptions.contains(name + "_FILE") {
      plan.errors.append("\(name) and \(name)_FILE are both set: set only one (\(name)_FILE names a file holding \(name)'s value)")
    }
    guard plan.errors.isEmpty else { return }
    var resolved: [String] = []
    var removed: Set<String> = []
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
        removed.insert(fileVariable)
        plan.secrets.append(name)
        plan.messages.append(Message(level: .info, text: "\(name) set from \(fileVariable)"))
      case .missing:
        plan.errors.append(
          "\(fileVariable)=\(path): no such file (or list \(fileVariable) in \(exceptionsVariable) if it is no secret)")
      case .unusable(let reason):
        plan.errors.append("\(fileVariable)=\(path): \(reason)")
      }
    }
    environment.removeAll { removed.contains(String(Environment.name(of: $0))) }
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
    var lines: [[Substring]?]
    var raw: [Substring]
    let endsWithNewline: Bool
    let minimumFields: Int

    init(_ text: String, minimumFields: Int) {
      self.minimumFields = minimumFields
      endsWithNewline = text.hasSuffix("\n")
      raw = text.split(separator: "\n", omittingEmptySubsequences: false)
      if endsWithNewline { raw.removeLast() }
      lines = raw.map { line in
        guard !line.hasPrefix("#") else { return nil }
        let fields = line.split(separator: ":", omittingEmptySubsequences: false)
        return fields.count >= minimumFields ? fields : nil
      }
    }

    func indices(named name: String) -> [Int] { lines.indices.filter { lines[$0]?[0] == Substring(name) } }
    /// The first entry other than `except` whose field `k` is `id`.
    func entry(withID id: UInt32, field k: Int, except: Int? = nil) -> Int? {
      lines.indices.first { $0 != except && lines[$0]?[k] == Substring(String(id)) }
    }
    func field(_ i: Int, _ k: Int) -> Substring { lines[i]![k] }

    mutating func set(_ i: Int, _ k: Int, _ value: String) {
      lines[i]![k] = Substring(value)
      var line = ""
      for (n, field) in lines[i]!.enumerated() { line += (n == 0 ? "" : ":") + field }
      raw[i] = Substring(line)
    }

    var text: String {
      var out = ""
      for (n, line) in raw.enumerated() { out += (n == 0 ? "" : "\n") + line }
      return out + (endsWithNewline ? "\n" : "")
    }
  }

  /// The account or group a variable's `<NAME>` means: lower-cased, exact match, `_` may
  /// stand for `-` (an exact match with `_` wins over one with `-`).
  static func lookUp(_ suffix: Substring, in table: Table) -> (index: Int?, tried: String) {
    let lower = String(decoding: suffix.utf8.map { $0 >= 0x41 && $0 <= 0x5a ? $0 + 32 : $0 }, as: UTF8.self)
    if let i = table.indices(named: lower).first { return (i, "'\(lower)'") }
    let dashed = String(decoding: lower.utf8.map { $0 == UInt8(ascii: "_") ? UInt8(ascii: "-") : $0 }, as: UTF8.self)
    if dashed != lower, let i = table.indices(named: dashed).first { return (i, "'\(dashed)'") }
    return (nil, dashed == lower ? "'\(lower)'" : "'\(lower)' or '\(dashed)'")
  }

  /// A uid or gid: digits only, below 2^32 - 1 (which means "none").
  public static func numericID(_ text: String) -> UInt32? {
    guard !text.isEmpty, text.utf8.count <= 10, text.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }),
      let value = UInt64(text), value < UInt64(UInt32.max)
    else { return nil }
    return UInt32(value)
  }

  private static func accounts(_ input: Input, _ plan: inout Plan) {
    var groupVariables: [(variable: String, value: String, name: Substring?)] = []
    var userVariables: [(variable: String, value: String, name: Substring?)] = []
    var memberVariables: [(variable: String, value: String, name: Substring)] = []
    for assignment in plan.environment {
      let variable = String(Environment.name(of: assignment))
      let value = String(assignment.dropFirst(variable.utf8.count + 1))
      if value.isEmpty { continue }
      if variable == "PGID" {
        groupVariables.append((variable, value, nil))
      } else if variable == "PUID" {
        userVariables.append((variable, value, nil))
      } else if variable.hasPrefix("CONTAINER_GROUP_ADD_"), variable.count > 20 {
        memberVariables.append((variable, value, variable.dropFirst(20)))
      } else if variable.hasPrefix("CONTAINER_GROUP_"), variable.count > 16 {
        groupVariables.append((variable, value, variable.dropFirst(16)))
      } else if variable.hasPrefix("CONTAINER_USER_"), variable.count > 15 {
        userVariables.append((variable, value, variable.dropFirst(15)))
      }
    }
    if groupVariables.isEmpty && userVariables.isEmpty && memberVariables.isEmpty { return }
    let byName = { (a: (variable: String, value: String, name: Substring?), b: (variable: String, value: String, name: Substring?)) in
      Array(a.variable.utf8).lexicographicallyPrecedes(Array(b.variable.utf8))
    }
    guard let passwdText = input.passwd, let groupText = input.group else {
      let first = (groupVariables + userVariables).first?.variable ?? memberVariables[0].variable
      plan.errors.append("\(first): \(input.root)/etc/passwd or \(input.root)/etc/group is missing")
      return
    }
    var passwd = Table(passwdText, minimumFields: 7)
    var group = Table(groupText, minimumFields: 4)
    let serviceUser = Environment.value(of: serviceUserVariable, in: plan.environment) ?? defaultServiceUser
    func serviceAccount(_ shownValue: String) -> Int? {
      if let index = passwd.indices(named: serviceUser).first { return index }
      plan.errors.append("\(shownValue): no service account '\(serviceUser)' in /etc/passwd (name it with \(serviceUserVariable))")
      return nil
    }

    for item in groupVariables.sorted(by: byName) {
      let shownValue = shown(item.variable, item.value, plan)
      guard let gid = numericID(item.value) else {
        plan.errors.append("\(shownValue): not a group id (digits only)")
        continue
      }
      var index: Int?
      if let suffix = item.name {
        let found = lookUp(suffix, in: group)
        guard let i = found.index else {
          plan.errors.append("\(shownValue): no group named \(found.tried) in /etc/group")
          continue
        }
        index = i
      } else {
        // PGID: the primary group of the service account.
        guard let user = serviceAccount(shownValue) else { continue }
        let primary = passwd.field(user, 3)
        index = group.lines.indices.first { group.lines[$0]?[2] == primary }
        if index == nil {
          if primary != Substring(String(gid)) {
            if let clash = group.entry(withID: gid, field: 2) {
              plan.errors.append("\(shownValue): gid \(gid) is already used by group '\(group.field(clash, 0))'")
              continue
            }
            passwd.set(user, 3, String(gid))
            plan.messages.append(Message(level: .info, text: "\(item.variable): primary gid of '\(serviceUser)' set to \(gid)"))
          }
          continue
        }
      }
      let i = index!
      let name = group.field(i, 0)
      let old = group.field(i, 2)
      if old == Substring(String(gid)) { continue }
      if let clash = group.entry(withID: gid, field: 2, except: i) {
        plan.errors.append("\(shownValue): gid \(gid) is already used by group '\(group.field(clash, 0))'")
        continue
      }
      group.set(i, 2, String(gid))
      // Its members by primary gid follow it.
      for k in passwd.lines.indices where passwd.lines[k]?[3] == old { passwd.set(k, 3, String(gid)) }
      plan.messages.append(Message(level: .info, text: "\(item.variable): group '\(name)' gid \(old) -> \(gid)"))
    }

    for item in userVariables.sorted(by: byName) {
      let shownValue = shown(item.variable, item.value, plan)
      guard let uid = numericID(item.value) else {
        plan.errors.append("\(shownValue): not a user id (digits only)")
        continue
      }
      let i: Int
      if let suffix = item.name {
        let found = lookUp(suffix, in: passwd)
        guard let index = found.index else {
          plan.errors.append("\(shownValue): no user named \(found.tried) in /etc/passwd")
          continue
        }
        i = index
      } else {
        guard let index = serviceAccount(shownValue) else { continue }
        i = index
      }
      let name = passwd.field(i, 0)
      let old = passwd.field(i, 2)
      if old == Substring(String(uid)) { continue }
      if let clash = passwd.entry(withID: uid, field: 2, except: i) {
        plan.errors.append("\(shownValue): uid \(uid) is already used by user '\(passwd.field(clash, 0))'")
        continue
      }
      passwd.set(i, 2, String(uid))
      plan.messages.append(Message(level: .info, text: "\(item.variable): user '\(name)' uid \(old) -> \(uid)"))
    }

    for item in memberVariables.sorted(by: { Array($0.variable.utf8).lexicographicallyPrecedes(Array($1.variable.utf8)) }) {
      let found = lookUp(item.name, in: group)
      guard let i = found.index else {
        plan.errors.append("\(item.variable): no group named \(found.tried) in /etc/group")
        continue
      }
      var members = group.field(i, 3).split(separator: ",").map(String.init)
      var added: [String] = []
      for word in item.value.split(whereSeparator: { $0 == "," || $0 == " " }) {
        let user = String(word)
        guard passwd.indices(named: user).first != nil else {
          plan.errors.append("\(shown(item.variable, item.value, plan)): no user named '\(user)' in /etc/passwd")
          continue
        }
        if !members.contains(user) {
          members.append(user)
          added.append(user)
        }
      }
      if added.isEmpty { continue }
      var list = ""
      for (n, member) in members.enumerated() { list += (n == 0 ? "" : ",") + member }
      group.set(i, 3, list)
      plan.messages.append(Message(level: .info, text: "\(item.variable): \(added.count) member(s) added to group '\(group.field(i, 0))'"))
    }

    let edits = [
      (input.root + "/etc/group", groupText, group.text), (input.root + "/etc/passwd", passwdText, passwd.text),
    ].filter { $0.1 != $0.2 }
    guard !edits.isEmpty, plan.errors.isEmpty else { return }
    guard input.writableEtc else {
      let first = (groupVariables + userVariables).first?.variable ?? memberVariables[0].variable
      plan.errors.append("\(first): /etc is read-only: the ids cannot be changed (set them in the image, or give the container a writable root)")
      return
    }
    for edit in edits { plan.edits.append(Edit(path: edit.0, contents: Array(edit.2.utf8), mode: 0o644)) }
  }
}
