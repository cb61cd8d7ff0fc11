import Foundation

/// What to audit and how.
public struct AuditOptions: Sendable {
  public var paths: [String]
  public var configuration: Configuration
  /// `--profile` (overrides the configuration).
  public var profile: Profile?
  /// `--fail-on` (overrides the configuration).
  public var failOn: FailThreshold?
  /// Dockerfile stage to treat as final (`--target`).
  public var target: String?
  public var requireSuppressionReason = false
  public var reportUnusedSuppressions = false
  public var honorForeignSuppressions = false
  /// Values for compose interpolation (`--env-file`).
  public var environment: [String: String] = [:]
  public var workingDirectory: URL
  /// Larger files are not read (IBX-META-001): the cost of an audit grows linearly with the
  /// input (bench/audit/hostile.py), and real Dockerfiles, compose files and manifests are far
  /// smaller (`--max-file-size`).
  public var maxFileSize = AuditOptions.defaultMaxFileSize
  public static let defaultMaxFileSize = 16 << 20

  public init(paths: [String], configuration: Configuration = Configuration(), workingDirectory: URL? = nil) {
    self.paths = paths
    self.configuration = configuration
    self.workingDirectory = workingDirectory ?? URL(fileURLWithPath: FileManager.default.currentDirectoryPath)
  }

  public var effectiveProfile: Profile { profile ?? configuration.profile }
  public var effectiveFailOn: FailThreshold { failOn ?? configuration.failOn }

  /// Rules that run: the profile's, plus configured policy rules, minus `ignore:`.
  public var enabledRules: [Rule] {
    var policy = Set<String>()
    if !configuration.settings.trustedRegistries.isEmpty { policy.insert("IBX-DF-006") }
    return RuleCatalog.enabled(profile: effectiveProfile, policyConfigured: policy).filter { !configuration.ignore.contains($0.id) }
  }
}
