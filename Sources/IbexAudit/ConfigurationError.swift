/// A configuration problem: exit code 2, reported with the position to fix.
public struct ConfigurationError: Error, Equatable, Sendable, CustomStringConvertible {
  public var path: String
  public var position: SourcePosition?
  public var message: String

  public var description: String {
    if let position { return "\(path):\(position.line):\(position.column): \(message)" }
    return "\(path): \(message)"
  }
}
