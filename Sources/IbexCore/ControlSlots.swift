/// Who gets a control connection when the table is full (docs/control.md, "Connection
/// slots"): a pure decision over the open connections, so it is tested without sockets.
///
/// At most `maximum` connections, of which read-only peers (the control group) may hold
/// `readerMaximum`. A newcomer that does not fit takes the place of the connection idle
/// longest that it may displace: a reader's first; an owner's (root or ibex's uid) only for
/// another owner. So owners always get in, and a reader hoarding connections only pushes out
/// its own kind.
public struct ControlSlots: Equatable, Sendable {
  public var maximum: Int
  public var readerMaximum: Int

  public init(maximum: Int, readerMaximum: Int) {
    self.maximum = maximum
    self.readerMaximum = readerMaximum
  }

  /// One open connection: its key, whether it is read-only, and when it was last active (a
  /// complete request or the connection itself).
  public struct Occupant: Equatable, Sendable {
    public var key: UInt64
    public var readOnly: Bool
    public var lastActive: Instant
    public init(key: UInt64, readOnly: Bool, lastActive: Instant) {
      self.key = key
      self.readOnly = readOnly
      self.lastActive = lastActive
    }
  }

  public enum Decision: Equatable, Sendable {
    case admit
    /// Admit after closing this connection.
    case admitClosing(UInt64)
    case refuse
  }

  /// What to do with a newcomer (`owner`: root or ibex's uid) given the open connections.
  public func admit(owner: Bool, occupants: [Occupant]) -> Decision {
    let readers = occupants.filter { $0.readOnly }.count
    let full = occupants.count >= maximum
    if owner ? !full : (!full && readers < readerMaximum) { return .admit }
    // A reader over its share displaces a reader even when the table has room.
    let candidates = occupants.filter { $0.readOnly || owner }
    guard let victim = candidates.min(by: { ($0.readOnly ? 0 : 1, $0.lastActive, $0.key) < ($1.readOnly ? 0 : 1, $1.lastActive, $1.key) })
    else { return .refuse }
    return .admitClosing(victim.key)
  }
}
