/// The outcome of one run.
public struct AuditReport: Sendable {
  /// Findings (suppressed ones included, marked), sorted by path, line, column, rule.
  public var findings: [Finding]
  /// IBX-META-001: inputs that could not be read or parsed.
  public var errors: [Finding]
  public var filesScanned: Int
  public var rules: [Rule]
  public var failOn: FailThreshold

  public var filesFailed: Int { Set(errors.map(\.file)).count }
  public var unsuppressed: [Finding] { findings.filter { !$0.isSuppressed } }
  public var suppressedCount: Int { findings.count - unsuppressed.count }

  /// 3 if an input was not audited, 1 if a finding reaches the threshold, else 0.
  public var exitCode: Int32 {
    if !errors.isEmpty { return 3 }
    return unsuppressed.contains { failOn.fails($0.severity) } ? 1 : 0
  }
}
