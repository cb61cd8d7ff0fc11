import IbexCore
import IbexRuntime

/// One line of `/etc/fix-attrs.d/*` (S6-LAYOUT-13, deprecated):
/// `path recurse account fmode dmode`, e.g. `/var/lib/app true app,1000:1000 0640 0750`.
/// `account` is `user`, `uid`, `user:group` or `uid:gid`, optionally followed by
/// `,uid:gid`: the fallback used, half by half, when a name is unknown. A line whose first
/// word starts with `#` is a comment.
public struct FixAttrsRule: Equatable, Sendable {
  public var path: String
  public var recurse: Bool
  public var account: String
  public var fallbackUID: UInt32?
  public var fallbackGID: UInt32?
  public var fileMode: UInt32
  public var directoryMode: UInt32
  public var location: SourceLocation

  public init(
    path: String, recurse: Bool, account: String, fallbackUID: UInt32? = nil, fallbackGID: UInt32? = nil, fileMode: UInt32,
    directoryMode: UInt32, location: SourceLocation
  ) {
    self.path = path
    self.recurse = recurse
    self.account = account
    self.fallbackUID = fallbackUID
    self.fallbackGID = fallbackGID
    self.fileMode = fileMode
    self.directoryMode = directoryMode
    self.location = location
  }

  /// The rules of one file, and warnings (globs are not expanded).
  public static func parse(_ text: String, file: String) throws(ConfigError) -> (rules: [FixAttrsRule], warnings: [String]) {
    var rules: [FixAttrsRule] = []
    var warnings: [String] = []
    for (i, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
      let location = SourceLocation(file: file, line: i + 1)
      let words = line.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\r" }).map(String.init)
      guard let first = words.first, !first.hasPrefix("#") else { continue }
      guard words.count == 5 else {
        throw ConfigError("expected 'path recurse account fmode dmode', found \(words.count) words", at: location)
      }
      guard first.hasPrefix("/") else { throw ConfigError("'\(first)' is not an absolute path", at: location) }
      if first.contains("*") || first.contains("?") || first.contains("[") {
        warnings.append("\(location.description): '\(first)' is used as a path: ibex does not expand globs in fix-attrs.d")
      }
      let recurse: Bool
      switch words[1] {
      case "true": recurse = true
      case "false": recurse = false
      default: throw ConfigError("recurse must be true or false, not '\(words[1])'", at: location)
      }
      var account = words[2]
      var fallbackUID: UInt32?
      var fallbackGID: UInt32?
      if let comma = account.firstIndex(of: ",") {
        let fallback = account[account.index(after: comma)...].split(separator: ":", omittingEmptySubsequences: false)
        guard fallback.count == 2, let uid = UserDatabase.id(fallback[0]), let gid = UserDatabase.id(fallback[1]) else {
          throw ConfigError("the fallback after ',' must be uid:gid, not '\(account[account.index(after: comma)...])'", at: location)
        }
        fallbackUID = uid
        fallbackGID = gid
        account = String(account[..<comma])
      }
      guard !account.isEmpty else { throw ConfigError("empty account", at: location) }
      guard let fileMode = octal(words[3]) else { throw ConfigError("'\(words[3])' is not an octal mode", at: location) }
      guard let directoryMode = octal(words[4]) else { throw ConfigError("'\(words[4])' is not an octal mode", at: location) }
      rules.append(
        FixAttrsRule(
          path: first, recurse: recurse, account: account, fallbackUID: fallbackUID, fallbackGID: fallbackGID, fileMode: fileMode,
          directoryMode: directoryMode, location: location))
    }
    return (rules, warnings)
  }

  static func octal(_ text: String) -> UInt32? {
    guard !text.isEmpty && text.utf8.count <= 4 else { return nil }
    var value: UInt32 = 0
    for byte in text.utf8 {
      guard byte >= 0x30 && byte <= 0x37 else { return nil }
      value = value * 8 + UInt32(byte - 0x30)
    }
    return value
  }

  /// The uid and gid `account` names, with the fallback used for an unknown half.
  public func owner(users: UserDatabase) -> (uid: UInt32, gid: UInt32)? {
    let halves = account.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
    let user = users.account(halves[0])
    guard let uid = user?.uid ?? fallbackUID else { return nil }
    let gid: UInt32?
    if halves.count == 2 {
      gid = users.gid(of: halves[1]) ?? fallbackGID
    } else {
      gid = user?.gid ?? fallbackGID
    }
    guard let gid else { return nil }
    return (uid, gid)
  }

  /// Applies `rules` under `root`: owner and mode of each path and, with `recurse`, of
  /// everything below it (symlinks are not followed; dotfiles are skipped unless
  /// `includeHidden`, `S6_FIX_ATTRS_HIDDEN`). Returns one message per failure.
  public static func apply(_ rules: [FixAttrsRule], root: String, users: UserDatabase, includeHidden: Bool) -> [String] {
    var failures: [String] = []
    for rule in rules {
      guard let owner = rule.owner(users: users) else {
        failures.append("\(rule.location.description): unknown account '\(rule.account)' and no uid:gid fallback")
        continue
      }
      let top = root + rule.path
      guard FileSystem.info(top) != nil else {
        failures.append("\(rule.location.description): \(top): No such file or directory")
        continue
      }
      var stack = [top]
      while let path = stack.popLast() {
        // The rule's own path may be a symlink (followed, as chown(1) does); below it, links are left alone.
        guard let info = path == top ? FileSystem.info(path) : FileSystem.linkInfo(path), !info.isSymbolicLink else { continue }
        do {
          try FileSystem.setOwner(path, uid: owner.uid, gid: owner.gid)
          try FileSystem.setMode(path, info.isDirectory ? rule.directoryMode : rule.fileMode)
        } catch {
          failures.append("\(rule.location.description): unable to fix \(path): \(error.description)")
        }
        guard rule.recurse && info.isDirectory else { continue }
        do {
          for name in try FileSystem.list(path).reversed() where includeHidden || !name.hasPrefix(".") {
            stack.append(path + "/" + name)
          }
        } catch {
          failures.append("\(rule.location.description): unable to read \(path): \(error.description)")
        }
      }
    }
    return failures
  }
}
