/// `--format json`: the versioned `ibex.audit/v1` document (docs/audit.md, "JSON output").
public struct JSONReporter: Sendable {
  public static let schema = "ibex.audit/v1"
  public var includeSuppressed: Bool
  public var version: String

  public init(includeSuppressed: Bool = false, version: String = IbexAuditVersion.current) {
    self.includeSuppressed = includeSuppressed
    self.version = version
  }

  public func document(_ report: AuditReport) -> JSONValue {
    let findings = report.findings.filter { includeSuppressed || !$0.isSuppressed }
    var bySeverity: [(String, JSONValue)] = []
    for severity in Severity.allCases.reversed() {
      let count = report.unsuppressed.filter { $0.severity == severity }.count
      if count > 0 { bySeverity.append((severity.description, .int(count))) }
    }
    return .object([
      ("schema", .string(Self.schema)),
      ("tool", .object([("name", .string("ibex")), ("version", .string(version))])),
      ("findings", .array(findings.map(entry))),
      ("errors", .array(report.errors.map { error in
        .object([
          ("rule_id", .string(error.ruleID)), ("file", .string(error.file)), ("line", .int(error.line)),
          ("column", .int(error.column)), ("message", .string(error.message)),
        ])
      })),
      ("summary", .object([
        ("files", .int(report.filesScanned)), ("files_failed", .int(report.filesFailed)),
        ("by_severity", .object(bySeverity)), ("suppressed", .int(report.suppressedCount)),
        ("fail_on", .string(report.failOn.description)), ("exit_code", .int(Int(report.exitCode))),
      ])),
    ])
  }

  func entry(_ finding: Finding) -> JSONValue {
    var pairs: [(String, JSONValue)] = [
      ("rule_id", .string(finding.ruleID)), ("severity", .string(finding.severity.description)),
      ("kind", .string(finding.kind.rawValue)), ("file", .string(finding.file)),
      ("line", .int(finding.start.line)), ("column", .int(finding.start.column)),
      ("end_line", .int(finding.end.line)), ("end_column", .int(finding.end.column)),
      ("object", .string(finding.object)), ("message", .string(finding.message)),
      ("help_uri", .string(RuleCatalog.rule(finding.ruleID)?.helpURI ?? "")),
      ("fingerprint", .string(finding.fingerprint)), ("suppressed", .bool(finding.isSuppressed)),
    ]
    if let suppression = finding.suppression {
      pairs.append(("suppression", .object([("kind", .string(suppression.kind.rawValue)), ("justification", .string(suppression.justification))])))
    }
    return .object(pairs)
  }

  public func render(_ report: AuditReport) -> String { document(report).render() }
}
