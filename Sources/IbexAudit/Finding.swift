/// One rule violation (or diagnostic) found in a file.
public struct Finding: Equatable, Sendable {
  public var ruleID: String
  public var severity: Severity
  public var kind: InputKind
  /// Path as given on the command line / discovered, relative to the working directory when below it.
  public var file: String
  public var start: SourcePosition
  public var end: SourcePosition
  /// The unit inside the file: `stage/runtime`, `service/api`, `Deployment/default/web/container/app`.
  public var object: String
  public var message: String
  /// Text the fingerprint is computed from (normalized offending snippet); never line numbers.
  public var snippet: String
  /// Lines whose `# ibex-ignore` comments apply to this finding (the finding's own line first,
  /// then the lines of the nodes that contain it: instruction range, service key, container item).
  public var scopeLines: [Int]
  /// Set once a suppression matched.
  public var suppression: Suppression?

  public init(
    ruleID: String, severity: Severity, kind: InputKind, file: String, start: SourcePosition,
    end: SourcePosition? = nil, object: String = "", message: String, snippet: String = "",
    scopeLines: [Int] = []
  ) {
    self.ruleID = ruleID
    self.severity = severity
    self.kind = kind
    self.file = file
    self.start = start
    self.end = end ?? start
    self.object = object
    self.message = message
    self.snippet = snippet
    self.scopeLines = scopeLines.isEmpty ? [start.line] : scopeLines
    self.suppression = nil
  }

  public var line: Int { start.line }
  public var column: Int { start.column }

  public var isSuppressed: Bool { suppression != nil }

  /// Stable across unrelated edits: rule id, file, object and normalized snippet, not line numbers.
  public var fingerprint: String {
    let normalized = snippet.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\n" }).joined(separator: " ")
    return "sha256:" + SHA256.hex(of: "\(ruleID)\u{0}\(file)\u{0}\(object)\u{0}\(normalized)")
  }

  /// Sort order of every output format: path, line, column, rule id.
  static func ordered(_ a: Finding, _ b: Finding) -> Bool {
    (a.file, a.start.line, a.start.column, a.ruleID, a.message) < (b.file, b.start.line, b.start.column, b.ruleID, b.message)
  }
}
