import ArgumentParser
import Foundation
import IbexAudit

/// `ibex-audit`: checks Dockerfiles, compose files and Kubernetes manifests against the ibex
/// hardening rules. Exit codes: 0 clean, 1 finding at or above --fail-on, 2 usage or config
/// error, 3 an input could not be read or parsed.
struct IbexAuditCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "ibex-audit",
    abstract: "Check Dockerfiles, compose files and Kubernetes manifests against the ibex hardening rules.",
    discussion: """
      Exit codes: 0 no finding at or above --fail-on; 1 at least one; 2 usage or configuration error; \
      3 an input could not be read or parsed (findings are still printed).
      Rules and suppression comments: docs/audit.md, or --list-rules.
      """,
    version: IbexAuditVersion.current)

  enum Format: String, ExpressibleByArgument, CaseIterable { case text, json, sarif }

  @Argument(help: "Files or directories to audit (default: the current directory).")
  var paths: [String] = []

  @Option(help: "Output format: text, json or sarif.")
  var format: Format = .text

  @Option(help: "Rule profile: core (default) or strict.")
  var profile: String?

  @Option(name: .customLong("fail-on"), help: "Lowest severity that fails the run: critical, high (default), medium, low, info or never.")
  var failOn: String?

  @Option(help: "Configuration file (default: .ibex.yaml found from the current directory up to the repository root).")
  var config: String?

  @Option(help: "Dockerfile stage to treat as the final image (like docker build --target).")
  var target: String?

  @Option(name: .customLong("env-file"), help: "Variables for compose interpolation (KEY=value lines).")
  var envFile: String?

  @Option(name: [.customShort("o"), .customLong("output")], help: "Write the report to this file instead of standard output.")
  var output: String?

  @Option(name: .customLong("max-file-size"), help: "Largest input to read, in MiB (default 16); a larger file is reported as not audited (exit 3).")
  var maxFileSize: Int?

  @Flag(name: .customLong("no-color"), help: "Never colour the text output (colour is used only on a terminal and without NO_COLOR).")
  var noColor = false

  @Flag(name: .customLong("list-rules"), help: "Print the rule catalogue (text or --format json) and exit.")
  var listRules = false

  @Flag(name: .customLong("print-config"), help: "Print the effective configuration and exit.")
  var printConfig = false

  @Flag(name: .customLong("include-suppressed"), help: "Also report suppressed findings, marked as such.")
  var includeSuppressed = false

  @Flag(name: .customLong("require-suppression-reason"), help: "Treat an ibex-ignore without '-- reason' as IBX-META-002 and do not honour it.")
  var requireSuppressionReason = false

  @Flag(name: .customLong("report-unused-suppressions"), help: "Report ibex-ignore comments that suppressed nothing (IBX-META-003).")
  var reportUnusedSuppressions = false

  @Flag(name: .customLong("honor-foreign-suppressions"), help: "Map '# hadolint ignore=' and 'checkov:skip=' comments to the equivalent ibex rules.")
  var honorForeignSuppressions = false

  func run() throws {
    let cwd = URL(fileURLWithPath: FileManager.default.currentDirectoryPath)
    var configuration = Configuration()
    let configURL = config.map { URL(fileURLWithPath: $0, relativeTo: cwd) } ?? Configuration.discover(from: cwd)
    if let configURL {
      do {
        configuration = try Configuration.load(configURL, displayPath: config ?? configURL.path)
      } catch {
        // Configuration errors lead with the position to fix; no usage banner.
        FileHandle.standardError.write(Data("ibex-audit: \(error)\n".utf8))
        throw ExitCode(2)
      }
    }
    var options = AuditOptions(paths: paths.isEmpty ? ["."] : paths, configuration: configuration, workingDirectory: cwd)
    if let profile {
      guard let value = Profile(rawValue: profile), value != .policy else {
        throw ValidationError("invalid --profile '\(profile)'; use core or strict")
      }
      options.profile = value
    }
    if let failOn {
      guard let value = FailThreshold(name: failOn) else {
        throw ValidationError("invalid --fail-on '\(failOn)'; use critical, high, medium, low, info or never")
      }
      options.failOn = value
    }
    if let envFile {
      guard let text = try? String(contentsOfFile: envFile, encoding: .utf8) else {
        throw ValidationError("unable to read --env-file \(envFile)")
      }
      for line in text.split(separator: "\n") where !line.hasPrefix("#") {
        let parts = line.split(separator: "=", maxSplits: 1).map(String.init)
        if parts.count == 2 { options.environment[parts[0].trimmingCharacters(in: .whitespaces)] = parts[1] }
      }
    }
    options.target = target
    if let maxFileSize {
      guard maxFileSize > 0, maxFileSize <= 4096 else { throw ValidationError("invalid --max-file-size \(maxFileSize); give MiB between 1 and 4096") }
      options.maxFileSize = maxFileSize << 20
    }
    options.requireSuppressionReason = requireSuppressionReason
    options.reportUnusedSuppressions = reportUnusedSuppressions
    options.honorForeignSuppressions = honorForeignSuppressions

    if listRules {
      try emit(format == .json ? RuleListing.json() : RuleListing.text())
      return
    }
    if printConfig {
      var effective = options.configuration
      effective.profile = options.effectiveProfile
      effective.failOn = options.effectiveFailOn
      try emit(effective.rendered())
      return
    }
    let report = Auditor.run(options)
    switch format {
    case .text:
      let environment = ProcessInfo.processInfo.environment
      let color = !noColor && output == nil && environment["NO_COLOR"] == nil && isatty(STDOUT_FILENO) == 1
      try emit(TextReporter(color: color, includeSuppressed: includeSuppressed).render(report))
    case .json:
      try emit(JSONReporter(includeSuppressed: includeSuppressed).render(report))
    case .sarif:
      try emit(SARIFReporter(includeSuppressed: includeSuppressed).render(report))
    }
    if report.exitCode != 0 { throw ExitCode(report.exitCode) }
  }

  func emit(_ text: String) throws {
    if let output {
      do {
        try text.write(toFile: output, atomically: true, encoding: .utf8)
      } catch {
        FileHandle.standardError.write(Data("ibex-audit: fatal: unable to write \(output): \(error.localizedDescription)\n".utf8))
        throw ExitCode(2)
      }
    } else {
      FileHandle.standardOutput.write(Data(text.utf8))
    }
  }
}

// Usage and configuration errors exit with 2 (ArgumentParser's default would be 64).
do {
  var command = try IbexAuditCommand.parseAsRoot()
  try command.run()
} catch {
  let code = IbexAuditCommand.exitCode(for: error)
  if code == .validationFailure {
    FileHandle.standardError.write(Data((IbexAuditCommand.fullMessage(for: error) + "\n").utf8))
    exit(2)
  }
  IbexAuditCommand.exit(withError: error)
}
