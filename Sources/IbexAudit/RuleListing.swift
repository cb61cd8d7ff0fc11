import Foundation

/// `--list-rules`: the catalogue with id, severity, profile, title and equivalent ids.
public enum RuleListing {
  public static func text(_ rules: [Rule] = RuleCatalog.all) -> String {
    var lines: [String] = []
    for rule in rules {
      let equivalents = rule.equivalents.isEmpty ? "" : "  [\(rule.equivalents.joined(separator: ", "))]"
      let id = rule.id.padding(toLength: 13, withPad: " ", startingAt: 0)
      let severity = rule.severity.description.padding(toLength: 9, withPad: " ", startingAt: 0)
      let profile = rule.profile.rawValue.padding(toLength: 7, withPad: " ", startingAt: 0)
      lines.append("\(id)\(severity)\(profile)\(rule.title)\(equivalents)")
    }
    return lines.joined(separator: "\n") + "\n"
  }

  public static func json(_ rules: [Rule] = RuleCatalog.all) -> String {
    JSONValue.object([
      ("schema", .string("ibex.audit.rules/v1")),
      ("rules", .array(rules.map { rule in
        .object([
          ("id", .string(rule.id)), ("name", .string(rule.name)), ("kind", .string(rule.kind.rawValue)),
          ("severity", .string(rule.severity.description)), ("profile", .string(rule.profile.rawValue)),
          ("title", .string(rule.title)), ("help", .string(rule.help)),
          ("equivalents", .array(rule.equivalents.map { .string($0) })),
        ])
      })),
    ]).render()
  }
}
