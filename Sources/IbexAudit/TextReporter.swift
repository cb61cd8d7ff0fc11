/// Human output: `file:line:col: severity RULE message`, sorted, then a summary line. Colour only
/// when asked (the CLI asks on a TTY with NO_COLOR unset and no --no-color).
public struct TextReporter: Sendable {
  public var color: Bool
  public var includeSuppressed: Bool

  public init(color: Bool = false, includeSuppressed: Bool = false) {
    self.color = color
    self.includeSuppressed = includeSuppressed
  }

  func paint(_ text: String, _ severity: Severity) -> String {
    guard color else { return text }
    let code: String =
      switch severity {
      case .critical: "1;35"
      case .high: "1;31"
      case .medium: "33"
      case .low: "36"
      case .info: "2"
      }
    return "\u{1B}[\(code)m\(text)\u{1B}[0m"
  }

  public func render(_ report: AuditReport) -> String {
    var lines: [String] = []
    let shown = (report.errors + report.findings.filter { includeSuppressed || !$0.isSuppressed }).sorted(by: Finding.ordered)
    for finding in shown {
      var line = "\(finding.file):\(finding.line):\(finding.column): \(paint(finding.severity.description, finding.severity)) \(finding.ruleID) \(finding.message)"
      if let suppression = finding.suppression {
        line += " [suppressed" + (suppression.justification.isEmpty ? "" : ": \(suppression.justification)") + "]"
      }
      lines.append(line)
    }
    lines.append(summary(report))
    return lines.joined(separator: "\n") + "\n"
  }

  public func summary(_ report: AuditReport) -> String {
    let counted = report.unsuppressed
    let bySeverity = Severity.allCases.reversed().compactMap { severity -> String? in
      let count = counted.filter { $0.severity == severity }.count
      return count == 0 ? nil : "\(count) \(severity)"
    }
    let findings = counted.count == 1 ? "1 finding" : "\(counted.count) findings"
    let detail = bySeverity.isEmpty ? "" : " (" + bySeverity.joined(separator: ", ") + ")"
    let files = report.filesScanned == 1 ? "1 file" : "\(report.filesScanned) files"
    return "ibex-audit: \(findings)\(detail) in \(files) scanned; \(report.filesFailed) failed; \(report.suppressedCount) suppressed"
  }
}
