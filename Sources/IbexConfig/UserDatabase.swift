import IbexCore

/// A user from /etc/passwd.
public struct Account: Equatable, Sendable {
  public var name: String
  public var uid: UInt32
  public var gid: UInt32
  public var home: String
}

/// /etc/passwd and /etc/group, parsed (the files NSS reads in a container; no NSS modules).
public struct UserDatabase: Sendable {
  public var accounts: [Account] = []
  /// (name, gid, members)
  public var groups: [(name: String, gid: UInt32, members: [String])] = []

  public init(passwd: String, group: String) {
    for line in passwd.split(separator: "\n") where !line.hasPrefix("#") {
      let fields = line.split(separator: ":", omittingEmptySubsequences: false)
      guard fields.count >= 7, let uid = UserDatabase.id(fields[2]), let gid = UserDatabase.id(fields[3]) else { continue }
      accounts.append(Account(name: String(fields[0]), uid: uid, gid: gid, home: String(fields[5])))
    }
    for line in group.split(separator: "\n") where !line.hasPrefix("#") {
      let fields = line.split(separator: ":", omittingEmptySubsequences: false)
      guard fields.count >= 4, let gid = UserDatabase.id(fields[2]) else { continue }
      groups.append((String(fields[0]), gid, fields[3].split(separator: ",").map(String.init)))
    }
  }

  /// A user by name or number. A number without an entry is accepted (as on OpenShift's
  /// arbitrary uids) with gid = uid and home /.
  public func account(_ user: String) -> Account? {
    if let found = accounts.first(where: { $0.name == user }) { return found }
    if let uid = UserDatabase.id(user) {
      return accounts.first { $0.uid == uid } ?? Account(name: user, uid: uid, gid: uid, home: "/")
    }
    return nil
  }

  /// A group by name or number.
  public func gid(of group: String) -> UInt32? {
    if let found = groups.first(where: { $0.name == group }) { return found.gid }
    return UserDatabase.id(group)
  }

  /// A numeric uid or gid. 4294967295, `(uid_t)-1`, is refused: `setresuid(2)` and its kind
  /// take it as "leave this id unchanged", so a service asking for it would stay root. An
  /// entry of /etc/passwd or /etc/group with that id is ignored for the same reason.
  public static func id<Text: StringProtocol>(_ text: Text) -> UInt32? {
    guard let value = UInt32(text), value != unchangedID else { return nil }
    return value
  }

  /// `(uid_t)-1`: "unchanged" to the kernel, never a usable id.
  public static let unchangedID = UInt32.max

  /// The groups that list `user` as a member (initgroups).
  public func memberships(of user: String) -> [UInt32] {
    groups.filter { $0.members.contains(user) }.map { $0.gid }
  }
}
