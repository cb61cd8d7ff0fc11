/// A Dockerfile that cannot be parsed, with the position to fix.
public struct ParseError: Error, Equatable, Sendable, CustomStringConvertible {
  public var position: SourcePosition
  public var message: String

  public init(_ message: String, at position: SourcePosition) {
    self.message = message
    self.position = position
  }

  public var description: String { "\(position): \(message)" }
}
