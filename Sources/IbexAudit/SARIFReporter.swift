import Foundation

/// `--format sarif`: SARIF 2.1.0 for GitHub code scanning (spec section 8.3).
public struct SARIFReporter: Sendable {
  public static let schemaURI = "https://json.schemastore.org/sarif-2.1.0.json"
  /// GitHub code scanning's limit of results per run.
  public static let maximumResults = 25_000
  public var includeSuppressed: Bool
  public var version: String

  public init(includeSuppressed: Bool = false, version: String = IbexAuditVersion.current) {
    self.includeSuppressed = includeSuppressed
    self.version = version
  }

  public func document(_ report: AuditReport) -> JSONValue {
    let rules = report.rules
    let index = Dictionary(uniqueKeysWithValues: rules.enumerated().map { ($1.id, $0) })
    let findings = report.findings.filter { includeSuppressed || !$0.isSuppressed }
    let results: [JSONValue] = findings.compactMap { finding in
      var pairs: [(String, JSONValue)] = [("ruleId", .string(finding.ruleID))]
      if let i = index[finding.ruleID] { pairs.append(("ruleIndex", .int(i))) }
      pairs += [
        ("level", .string(finding.severity.sarifLevel)),
        ("message", .object([("text", .string(finding.message))])),
        ("locations", .array([location(finding)])),
        ("partialFingerprints", .object([("ibexFingerprint/v1", .string(finding.fingerprint))])),
        ("properties", .object([("severity", .string(finding.severity.description)), ("object", .string(finding.object))])),
      ]
      if let suppression = finding.suppression {
        pairs.append(("suppressions", .array([.object([("kind", .string(suppression.kind.rawValue)), ("justification", .string(suppression.justification))])])))
      }
      return .object(pairs)
    }
    // GitHub code scanning accepts at most 25,000 results per run.
    let truncated = results.count > Self.maximumResults
    let kept = truncated ? Array(results.prefix(Self.maximumResults)) : results
    var notifications: [JSONValue] = report.errors.map { error in
      .object([
        ("level", .string("error")),
        ("message", .object([("text", .string(error.message))])),
        ("locations", .array([location(error)])),
        ("descriptor", .object([("id", .string(error.ruleID))])),
      ])
    }
    if truncated {
      notifications.append(.object([
        ("level", .string("warning")),
        ("message", .object([("text", .string("\(results.count) results truncated to \(Self.maximumResults), GitHub's limit per run; narrow the run with paths.exclude or ignore"))])),
      ]))
    }
    let driver: JSONValue = .object([
      ("name", .string("ibex")),
      ("version", .string(version)),
      ("informationUri", .string(IbexAuditVersion.documentationURL)),
      ("rules", .array(rules.map(descriptor))),
    ])
    let run: JSONValue = .object([
      ("tool", .object([("driver", driver)])),
      ("automationDetails", .object([("id", .string("ibex-audit/"))])),
      ("invocations", .array([.object([
        ("executionSuccessful", .bool(!(report.filesScanned == 0 && !report.errors.isEmpty))),
        ("toolExecutionNotifications", .array(notifications)),
      ])])),
      ("results", .array(kept)),
    ])
    return .object([("$schema", .string(Self.schemaURI)), ("version", .string("2.1.0")), ("runs", .array([run]))])
  }

  func location(_ finding: Finding) -> JSONValue {
    let uri = finding.file.split(separator: "/").map { component in
      component.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed) ?? String(component)
    }.joined(separator: "/")
    return .object([
      ("physicalLocation", .object([
        ("artifactLocation", .object([("uri", .string(uri)), ("uriBaseId", .string("%SRCROOT%"))])),
        ("region", .object([
          ("startLine", .int(max(finding.start.line, 1))), ("startColumn", .int(max(finding.start.column, 1))),
          ("endLine", .int(max(finding.end.line, finding.start.line, 1))),
          ("endColumn", .int(max(finding.end.line > finding.start.line ? finding.end.column : max(finding.end.column, finding.start.column), 1) + 1)),
        ])),
      ])),
    ])
  }

  func descriptor(_ rule: Rule) -> JSONValue {
    let tags: [JSONValue] = ["security", rule.kind.rawValue].map { .string($0) }
      + rule.equivalents.filter { $0.hasPrefix("CIS ") }.map { .string("CIS-" + $0.dropFirst(4)) }
    let equivalents = rule.equivalents.isEmpty ? "" : "\n\nEquivalents: " + rule.equivalents.joined(separator: ", ")
    return .object([
      ("id", .string(rule.id)),
      ("name", .string(rule.name)),
      ("shortDescription", .object([("text", .string(rule.title))])),
      ("fullDescription", .object([("text", .string(rule.title + ". " + rule.help))])),
      ("helpUri", .string(rule.helpURI)),
      ("help", .object([("text", .string(rule.help)), ("markdown", .string("**\(rule.id)** \(rule.title)\n\n\(rule.help)\(equivalents)"))])),
      ("defaultConfiguration", .object([("level", .string(rule.severity.sarifLevel))])),
      ("properties", .object([
        ("tags", .array(tags)),
        ("security-severity", .string(rule.severity.securitySeverity)),
        ("precision", .string("high")),
        ("profile", .string(rule.profile.rawValue)),
      ])),
    ])
  }

  public func render(_ report: AuditReport) -> String { document(report).render() }
}
