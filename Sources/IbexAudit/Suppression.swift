/// Why a finding was not counted.
public struct Suppression: Equatable, Sendable {
  public enum Kind: String, Sendable {
    /// A comment or annotation in the file itself.
    case inSource
    /// The configuration file.
    case external
  }

  public var kind: Kind
  public var justification: String

  public init(kind: Kind, justification: String) {
    self.kind = kind
    self.justification = justification
  }
}
