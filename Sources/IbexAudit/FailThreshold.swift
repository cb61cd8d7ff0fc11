/// The `--fail-on` threshold: a severity, or `never`.
public enum FailThreshold: Equatable, Sendable, CustomStringConvertible {
  case atLeast(Severity)
  case never

  public init?(name: String) {
    if name.lowercased() == "never" {
      self = .never
    } else if let severity = Severity(name: name) {
      self = .atLeast(severity)
    } else {
      return nil
    }
  }

  public var description: String {
    switch self {
    case .atLeast(let severity): severity.description
    case .never: "never"
    }
  }

  public func fails(_ severity: Severity) -> Bool {
    switch self {
    case .atLeast(let threshold): severity >= threshold
    case .never: false
    }
  }
}
