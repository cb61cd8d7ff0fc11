/// Collects findings for one file, dropping rules that are not enabled.
final class FindingSink {
  let file: String
  let kind: InputKind
  let enabled: Set<String>
  var findings: [Finding] = []

  init(file: String, kind: InputKind, enabled: Set<String>) {
    self.file = file
    self.kind = kind
    self.enabled = enabled
  }

  func isEnabled(_ id: String) -> Bool { enabled.contains(id) }

  func add(
    _ id: String, at start: SourcePosition, end: SourcePosition? = nil, object: String, _ message: String,
    snippet: String = "", scope: [Int] = [], severity: Severity? = nil
  ) {
    guard enabled.contains(id), let rule = RuleCatalog.rule(id) else { return }
    findings.append(Finding(
      ruleID: id, severity: severity ?? rule.severity, kind: kind, file: file, start: start, end: end,
      object: object, message: message, snippet: snippet.isEmpty ? message : snippet,
      scopeLines: [start.line] + scope))
  }
}
