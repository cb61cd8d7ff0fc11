/// A configuration that ibex refuses to run: where, and what is wrong.
/// `description`: `/etc/ibex/services/web.service:12: unknown directive 'Restrat' (did you mean 'Restart'?)`.
public struct ConfigError: Error, Equatable, Sendable {
  public var location: SourceLocation?
  public var message: String

  public init(_ message: String, at location: SourceLocation? = nil) {
    self.message = message
    self.location = location
  }

  public var description: String { location.map { "\($0.description): \(message)" } ?? message }
}
