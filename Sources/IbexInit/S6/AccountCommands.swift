import IbexConfig
import IbexCore
import IbexRuntime

/// What `s6-envuidgid` was asked: its options and ACCOUNT.
public struct EnvUidGidRequest: Equatable, Sendable {
  public enum Mode: Equatable, Sendable {
    /// ACCOUNT is a user: UID, GID and GIDLIST (the default).
    case user
    /// `-u`: ACCOUNT is a user: UID only.
    case uidOnly
    /// `-g`: ACCOUNT is a group: GID only.
    case groupOnly
    /// `-B`: ACCOUNT is `user:group`: UID and GID.
    case both
  }
  public var mode = Mode.user
  /// `-n`: a name that is not in the database is taken as a number.
  public var numericFallback = false
  /// `-D uid:gid[:gidlist]`: the values for an unknown account (instead of failing, `-i`).
  public var defaults: (uid: String, gid: String, gidlist: String)?
  public var account = ""
  /// Where PROG starts in the arguments.
  public var programIndex = 0

  public init() {}

  public static func == (a: EnvUidGidRequest, b: EnvUidGidRequest) -> Bool {
    a.mode == b.mode && a.numericFallback == b.numericFallback && a.account == b.account
      && a.programIndex == b.programIndex && a.defaults?.uid == b.defaults?.uid && a.defaults?.gid == b.defaults?.gid
      && a.defaults?.gidlist == b.defaults?.gidlist
  }

  /// Parses `[-u|-g|-B] [-n] [-i|-D uid:gid[:gidlist]] ACCOUNT PROG...`.
  public static func parse(_ words: [String]) throws(S6UsageError) -> EnvUidGidRequest {
    var request = EnvUidGidRequest()
    var options = ShortOptions(words, flags: "ugBni", values: "D")
    while let (letter, value) = try options.next() {
        switch letter {
        case "u": request.mode = .uidOnly
        case "g": request.mode = .groupOnly
        case "B": request.mode = .both
        case "n": request.numericFallback = true
        case "i": request.defaults = nil
        default:
          let parts = value!.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
          guard parts.count == 2 || parts.count == 3 else { throw S6UsageError("-D needs uid:gid[:gidlist]") }
          request.defaults = (parts[0], parts[1], parts.count == 3 ? parts[2] : "")
        }
    }
    let operands = options.operands
    guard operands.count >= 2 else { throw S6UsageError(operands.isEmpty ? "no account given" : "no program given") }
    request.account = operands[0]
    request.programIndex = options.index + 1
    return request
  }

  /// The assignments (`UID=...`, `GID=...`, `GIDLIST=...`) for `database`, or nil when the
  /// account is unknown and no default applies.
  public func assignments(_ database: UserDatabase) -> [String]? {
    func user(_ name: String) -> (uid: UInt32, gid: UInt32)? {
      if let found = database.accounts.first(where: { $0.name == name }) { return (found.uid, found.gid) }
      if numericFallback, let uid = UserDatabase.id(name) { return (uid, uid) }
      return nil
    }
    func group(_ name: String) -> UInt32? {
      if let found = database.groups.first(where: { $0.name == name }) { return found.gid }
      return numericFallback ? UserDatabase.id(name) : nil
    }
    switch mode {
    case .user:
      guard let found = user(account) else {
        return defaults.map { ["UID=" + $0.uid, "GID=" + $0.gid, "GIDLIST=" + $0.gidlist] }
      }
      let list = database.memberships(of: account).map { "\($0)" }
      var text = ""
      for (i, gid) in list.enumerated() { text += (i == 0 ? "" : ",") + gid }
      return ["UID=\(found.uid)", "GID=\(found.gid)", "GIDLIST=" + text]
    case .uidOnly:
      guard let found = user(account) else { return defaults.map { ["UID=" + $0.uid] } }
      return ["UID=\(found.uid)"]
    case .groupOnly:
      guard let gid = group(account) else { return defaults.map { ["GID=" + $0.gid] } }
      return ["GID=\(gid)"]
    case .both:
      let parts = account.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
      let uid = user(parts[0]).map { "\($0.uid)" } ?? defaults?.uid ?? "0"
      let gid = (parts.count > 1 ? group(parts[1]).map { "\($0)" } : nil) ?? defaults?.gid ?? "0"
      return ["UID=" + uid, "GID=" + gid]
    }
  }
}

/// Credentials to apply, as `s6-setuidgid` resolves ACCOUNT.
public struct AccountCredentials: Equatable, Sendable {
  public var uid: UInt32
  public var gid: UInt32
  public var groups: [UInt32]

  /// `uid:gid` (no supplementary groups), or a user name looked up in `database` (its primary
  /// group first, then the groups that list it). nil when unknown or malformed.
  public static func resolve(_ account: String, in database: UserDatabase) -> AccountCredentials? {
    if let colon = account.firstIndex(of: ":") {
      guard let uid = UserDatabase.id(account[..<colon]), let gid = UserDatabase.id(account[account.index(after: colon)...]) else { return nil }
      return AccountCredentials(uid: uid, gid: gid, groups: [])
    }
    guard let found = database.accounts.first(where: { $0.name == account }) else { return nil }
    var groups = [found.gid]
    for gid in database.memberships(of: account) where !groups.contains(gid) { groups.append(gid) }
    return AccountCredentials(uid: found.uid, gid: found.gid, groups: groups)
  }
}

/// `s6-setuidgid`, `s6-envuidgid`, `s6-applyuidgid`.
enum AccountCommands {
  static func database() -> UserDatabase {
    UserDatabase(
      passwd: (try? FileSystem.readText("/etc/passwd")) ?? "", group: (try? FileSystem.readText("/etc/group")) ?? "")
  }

  static func apply(_ tool: S6Tool, groups: [UInt32]?, gid: UInt32?, uid: UInt32?) -> Int32? {
    do {
      try S6System.setCredentials(groups: groups, gid: gid, uid: uid)
      return nil
    } catch {
      let hint = error == .notPermitted ? " (only root can change its user)" : ""
      return tool.fatal("unable to set uid/gid: \(error.description)\(hint)", 111)
    }
  }

  static func setuidgid(_ tool: S6Tool, _ arguments: [String]) -> Int32 {
    var words = arguments
    if words.first == "--" { words.removeFirst() }
    guard words.count >= 2 else { return tool.usageFailure(words.isEmpty ? "no account given" : "no program given") }
    let account = words[0]
    let program = Array(words.dropFirst())
    if account.isEmpty { return tool.exec(program, environment: tool.environment) }
    guard let credentials = AccountCredentials.resolve(account, in: database()) else {
      return tool.fatal("unknown account: \(account)", 1)
    }
    if let failure = apply(tool, groups: credentials.groups, gid: credentials.gid, uid: credentials.uid) { return failure }
    return tool.exec(program, environment: tool.environment)
  }

  static func envuidgid(_ tool: S6Tool, _ arguments: [String]) -> Int32 {
    let request: EnvUidGidRequest
    do {
      request = try EnvUidGidRequest.parse(arguments)
    } catch {
      return tool.usageFailure(error.message)
    }
    guard let assignments = request.assignments(database()) else {
      return tool.fatal("unknown account: \(request.account)", 1)
    }
    return tool.exec(Array(arguments[request.programIndex...]), environment: Environment.merge(tool.environment, assignments))
  }

  static func applyuidgid(_ tool: S6Tool, _ arguments: [String]) -> Int32 {
    var uid: UInt32?
    var gid: UInt32?
    var groups: [UInt32]?
    var unexport = false
    var options = ShortOptions(arguments, flags: "Uz", values: "ugG")
    func gidList(_ text: String) -> [UInt32]? {
      if text.isEmpty { return [] }
      var list: [UInt32] = []
      for part in text.split(separator: ",", omittingEmptySubsequences: false) {
        guard let gid = UserDatabase.id(part) else { return nil }
        list.append(gid)
      }
      return list
    }
    do throws(S6UsageError) {
      while let (letter, value) = try options.next() {
        switch letter {
        case "u":
          guard let number = UserDatabase.id(value!) else { throw S6UsageError("-u needs a numeric uid below 4294967295") }
          uid = number
        case "g":
          guard let number = UserDatabase.id(value!) else { throw S6UsageError("-g needs a numeric gid below 4294967295") }
          gid = number
        case "G":
          guard let list = gidList(value!) else { throw S6UsageError("-G needs a comma-separated list of gids") }
          groups = list
        case "U":
          if let text = tool.value("UID") {
            guard let number = UserDatabase.id(text) else { throw S6UsageError("UID is not a number: \(text)") }
            uid = number
          }
          if let text = tool.value("GID") {
            guard let number = UserDatabase.id(text) else { throw S6UsageError("GID is not a number: \(text)") }
            gid = number
          }
          if let text = tool.value("GIDLIST") {
            guard let list = gidList(text) else { throw S6UsageError("GIDLIST is not a list of gids: \(text)") }
            groups = list
          }
        default: unexport = true
        }
      }
    } catch {
      return tool.usageFailure(error.message)
    }
    let program = options.operands
    guard !program.isEmpty else { return tool.usageFailure("no program given") }
    if let failure = apply(tool, groups: groups, gid: gid, uid: uid) { return failure }
    var environment = tool.environment
    if unexport {
      environment.removeAll { $0.hasPrefix("UID=") || $0.hasPrefix("GID=") || $0.hasPrefix("GIDLIST=") }
    }
    return tool.exec(program, environment: environment)
  }
}
