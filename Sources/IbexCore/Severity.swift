/// How serious a finding is (ibex-audit and `ibex doctor`). Ordered from least to most severe,
/// so `>=` means "at least as severe".
public enum Severity: Int, Comparable, CaseIterable, Sendable, CustomStringConvertible {
  case info, low, medium, high, critical

  /// The spelling used in output, configuration and `--fail-on`.
  public var description: String {
    switch self {
    case .info: "info"
    case .low: "low"
    case .medium: "medium"
    case .high: "high"
    case .critical: "critical"
    }
  }

  /// A severity's name, in any ASCII case.
  public init?(name: String) {
    let lowered = name.lowercasedASCII
    guard let match = Severity.allCases.first(where: { $0.description == lowered }) else { return nil }
    self = match
  }

  /// GitHub code scanning buckets `security-severity`: >= 9.0 critical, 7.0-8.9 high, 4.0-6.9 medium, else low.
  public var securitySeverity: String {
    switch self {
    case .critical: "9.5"
    case .high: "8.0"
    case .medium: "5.5"
    case .low: "3.0"
    case .info: "1.0"
    }
  }

  /// SARIF `level`: critical/high are errors, medium a warning, the rest notes.
  public var sarifLevel: String {
    switch self {
    case .critical, .high: "error"
    case .medium: "warning"
    case .low, .info: "note"
    }
  }

  public static func < (lhs: Severity, rhs: Severity) -> Bool { lhs.rawValue < rhs.rawValue }
}

/// The `--fail-on` threshold: a severity, or `never`.
public enum FailThreshold: Equatable, Sendable, CustomStringConvertible {
  case atLeast(Severity)
  case never

  public init?(name: String) {
    if name == "never" || name == "NEVER" || name == "Never" {
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
