/// The kind of input a rule reads.
public enum InputKind: String, Sendable, CaseIterable {
  case dockerfile, compose, kubernetes, meta
}

/// When a rule is on: `core` by default, `strict` with `--profile strict`, `policy` once configured.
public enum Profile: String, Sendable, CaseIterable {
  case core, strict, policy
}

/// One entry of the rule catalogue (spec section 3-5 and 7).
public struct Rule: Sendable {
  /// `IBX-DF-001` and so on; never reused.
  public let id: String
  /// CamelCase name for SARIF (`FinalImageRunsAsRoot`).
  public let name: String
  public let kind: InputKind
  public let severity: Severity
  public let profile: Profile
  /// One line: what the rule checks.
  public let title: String
  /// Why it matters, and what to do instead.
  public let help: String
  /// Equivalent ids in other tools: `hl:DL3002`, `ck:CKV_DOCKER_3`, `CIS 4.1`.
  public let equivalents: [String]

  public init(
    _ id: String, _ name: String, _ kind: InputKind, _ severity: Severity, _ profile: Profile,
    title: String, help: String, equivalents: [String] = []
  ) {
    self.id = id
    self.name = name
    self.kind = kind
    self.severity = severity
    self.profile = profile
    self.title = title
    self.help = help
    self.equivalents = equivalents
  }

  /// Anchor of the rule in docs/audit.md, for `helpUri`.
  public var helpURI: String { "\(IbexAuditVersion.documentationURL)#\(id.lowercased())" }

  /// hadolint ids this rule corresponds to (`hl:` equivalents).
  public var hadolintIDs: [String] { equivalents.filter { $0.hasPrefix("hl:") }.map { String($0.dropFirst(3)) } }
  /// checkov ids this rule corresponds to (`ck:` equivalents).
  public var checkovIDs: [String] { equivalents.filter { $0.hasPrefix("ck:") }.map { String($0.dropFirst(3)) } }
}
