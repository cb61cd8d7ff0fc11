/// Every rule ibex-audit knows, in id order. The texts paraphrase docs/audit.md and the spec.
public enum RuleCatalog {
  public static let all: [Rule] = dockerfile + compose + kubernetes + meta

  private static let byID: [String: Rule] = Dictionary(uniqueKeysWithValues: all.map { ($0.id, $0) })

  public static func rule(_ id: String) -> Rule? { byID[id] }

  /// Rules that run for a profile (policy rules run only when their setting is configured).
  public static func enabled(profile: Profile, policyConfigured: Set<String> = []) -> [Rule] {
    all.filter { rule in
      switch rule.profile {
      case .core: true
      case .strict: profile == .strict
      case .policy: policyConfigured.contains(rule.id)
      }
    }
  }

  public static let meta: [Rule] = [
    Rule("IBX-META-001", "InputNotParsed", .meta, .high, .core,
         title: "input could not be read or parsed",
         help: "The file was not audited. Fix the syntax error at the reported position; other files are still checked and the exit code is 3."),
    Rule("IBX-META-002", "UnknownRuleInSuppression", .meta, .medium, .core,
         title: "unknown rule id or missing reason in a suppression",
         help: "A suppression names a rule that does not exist (or has no reason while --require-suppression-reason is set). Check the id with --list-rules."),
    Rule("IBX-META-003", "UnusedSuppression", .meta, .info, .core,
         title: "suppression comment suppressed nothing",
         help: "Remove the stale suppression so it cannot hide a future finding. Reported only with --report-unused-suppressions."),
    Rule("IBX-META-004", "FileSkipped", .meta, .info, .core,
         title: "file skipped: templated, unsupported kind or construct not resolved",
         help: "Helm templates, Kustomize files and compose `extends`/`include` are not resolved in v1. Audit the rendered output instead (for example `helm template ... > rendered.yaml`)."),
  ]
}
