import Foundation
import IbexAudit
import Testing

@Suite("Configuration file")
struct ConfigurationTests {
  func error(_ text: String) -> String? {
    do {
      _ = try Configuration.parse(text, path: ".ibex.yaml")
      return nil
    } catch {
      return error.description
    }
  }

  @Test("every key is read")
  func readsAllKeys() throws {
    let text = """
      version: 1
      profile: strict
      fail_on: medium
      ignore: [IBX-DF-015]
      severity: {IBX-CO-014: info}
      paths:
        exclude: ["vendor/**"]
      overrides:
        - files: ["deploy/dev/**"]
          ignore: [IBX-CO-006]
      settings:
        trusted_registries: [ghcr.io/acme]
        writable_mounts: [/var/lib/postgresql/data]
      """
    let configuration = try Configuration.parse(text, path: ".ibex.yaml")
    #expect(configuration.profile == .strict)
    #expect(configuration.failOn == .atLeast(.medium))
    #expect(configuration.ignore == ["IBX-DF-015"])
    #expect(configuration.severity == ["IBX-CO-014": .info])
    #expect(configuration.exclude == ["vendor/**"])
    #expect(configuration.overrides.first?.ignore == ["IBX-CO-006"])
    #expect(configuration.settings.trustedRegistries == ["ghcr.io/acme"])
  }

  @Test("errors lead with the position and read as guidance", arguments: [
    ("fial_on: high\n", ".ibex.yaml:1:1: unknown key 'fial_on' (did you mean 'fail_on'?)"),
    ("ignore: [IBX-DF-999]\n", ".ibex.yaml:1:10: unknown rule id 'IBX-DF-999' (did you mean 'IBX-DF-009'?); see ibex-audit --list-rules"),
    ("profile: paranoid\n", ".ibex.yaml:1:10: invalid profile 'paranoid'; use core or strict"),
    ("fail_on: sometimes\n", ".ibex.yaml:1:10: invalid fail_on 'sometimes'; use critical, high, medium, low, info or never"),
    ("severity:\n  IBX-CO-014: urgent\n", ".ibex.yaml:2:15: invalid severity 'urgent' for IBX-CO-014; use critical, high, medium, low or info"),
    ("settings:\n  trusted_registry: [x]\n", ".ibex.yaml:2:3: unknown key 'settings.trusted_registry' (did you mean 'trusted_registries'?)"),
    ("version: 2\n", ".ibex.yaml:1:10: unsupported version '2'; this ibex-audit reads version: 1"),
    ("- a\n", ".ibex.yaml:1:1: the configuration must be a mapping of keys such as profile: and fail_on:"),
    ("settings:\n  secret_name_patterns: [\"(unclosed\"]\n", ".ibex.yaml:2:26: invalid regular expression '(unclosed' in settings.secret_name_patterns"),
  ])
  func errorMessages(_ text: String, _ message: String) {
    #expect(error(text) == message)
  }

  @Test("--print-config renders the effective configuration")
  func rendered() throws {
    let text = try Configuration.parse("profile: strict\nignore: [IBX-DF-015]\n", path: ".ibex.yaml").rendered()
    #expect(text.hasPrefix("version: 1\nprofile: strict\nfail_on: high\nignore: [\"IBX-DF-015\"]\n"))
  }

  @Test("ignore disables a rule, severity overrides it, overrides suppress it for matching paths")
  func effectOnTheAudit() throws {
    var configuration = Configuration()
    configuration.ignore = ["IBX-DF-024"]
    configuration.severity = ["IBX-DF-001": .low]
    configuration.overrides = [.init(files: ["dockerfile/df-003-*"], ignore: ["IBX-DF-003"])]
    let report = audit(["dockerfile/df-003-untagged.pos.Dockerfile", "dockerfile/df-001-no-user.pos.Dockerfile"], profile: .core) { $0.configuration = configuration }
    #expect(!report.findings.contains { $0.ruleID == "IBX-DF-024" })
    #expect(report.findings.first { $0.ruleID == "IBX-DF-001" }?.severity == .low)
    #expect(report.findings.first { $0.ruleID == "IBX-DF-003" }?.suppression?.kind == .external)
    #expect(report.exitCode == 0)
  }

  @Test("the configuration is found from the working directory up to the repository root")
  func discovery() throws {
    let root = FileManager.default.temporaryDirectory.appendingPathComponent("ibex-config-\(UUID().uuidString)")
    let nested = root.appendingPathComponent("a/b")
    try FileManager.default.createDirectory(at: nested, withIntermediateDirectories: true)
    try FileManager.default.createDirectory(at: root.appendingPathComponent(".git"), withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: root) }
    #expect(Configuration.discover(from: nested) == nil)
    try "profile: strict\n".write(to: root.appendingPathComponent(".ibex.yaml"), atomically: true, encoding: .utf8)
    #expect(Configuration.discover(from: nested)?.lastPathComponent == ".ibex.yaml")
  }
}
