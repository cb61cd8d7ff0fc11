import Foundation

/// `.ibex.yaml`: profile, threshold, disabled rules, severity overrides, excluded paths, per-path
/// overrides and rule settings. Unknown keys and unknown rule ids are errors (exit 2), so a typo
/// cannot silently switch a check off.
public struct Configuration: Sendable {
  public var path: String?
  public var profile: Profile = .core
  public var failOn: FailThreshold = .atLeast(.high)
  public var ignore: Set<String> = []
  public var severity: [String: Severity] = [:]
  public var exclude: [String] = []
  public var overrides: [Override] = []
  public var settings = AuditSettings()

  public struct Override: Sendable {
    public var files: [String]
    public var ignore: Set<String>

    public init(files: [String], ignore: Set<String>) {
      self.files = files
      self.ignore = ignore
    }
  }

  public init() {}

  static let topLevelKeys = ["version", "profile", "fail_on", "ignore", "severity", "paths", "overrides", "settings"]
  static let settingKeys = [
    "trusted_registries", "nonroot_base_images", "secret_name_patterns", "secret_name_allow", "writable_mounts",
    "safe_sysctls", "dangerous_capabilities",
  ]

  /// Finds `.ibex.yaml` (or `.ibex.yml`) from `directory` upwards, stopping at the repository root.
  public static func discover(from directory: URL) -> URL? {
    var current = directory.standardizedFileURL
    let fm = FileManager.default
    while true {
      for name in [".ibex.yaml", ".ibex.yml"] {
        let candidate = current.appendingPathComponent(name)
        if fm.fileExists(atPath: candidate.path) { return candidate }
      }
      if fm.fileExists(atPath: current.appendingPathComponent(".git").path) { return nil }
      let parent = current.deletingLastPathComponent()
      if parent.path == current.path { return nil }
      current = parent
    }
  }

  public static func load(_ url: URL, displayPath: String) throws(ConfigurationError) -> Configuration {
    let text: String
    do {
      text = try String(contentsOf: url, encoding: .utf8)
    } catch {
      throw ConfigurationError(path: displayPath, position: nil, message: "unable to read the configuration: \(Auditor.reason(error))")
    }
    return try parse(text, path: displayPath)
  }

  public static func parse(_ text: String, path: String) throws(ConfigurationError) -> Configuration {
    var configuration = Configuration()
    configuration.path = path
    let documents: [YAMLNode]
    do {
      documents = try YAMLReader.documents(text)
    } catch {
      throw ConfigurationError(path: path, position: error.position, message: error.message)
    }
    guard let root = documents.first else { return configuration }
    guard let pairs = root.pairs else {
      throw ConfigurationError(path: path, position: root.position, message: "the configuration must be a mapping of keys such as profile: and fail_on:")
    }
    func fail(_ position: SourcePosition, _ message: String) -> ConfigurationError {
      ConfigurationError(path: path, position: position, message: message)
    }
    func strings(_ pair: YAMLPair) throws(ConfigurationError) -> [String] {
      if pair.value.isNull { return [] }
      guard let items = pair.value.items else { throw fail(pair.value.position, "'\(pair.key)' must be a list") }
      var result: [String] = []
      for item in items {
        guard let s = item.string else { throw fail(item.position, "'\(pair.key)' entries must be strings") }
        result.append(s)
      }
      return result
    }
    func ruleIDs(_ pair: YAMLPair) throws(ConfigurationError) -> Set<String> {
      var result = Set<String>()
      let items = pair.value.items ?? []
      for (index, id) in try strings(pair).enumerated() {
        guard RuleCatalog.rule(id.uppercased()) != nil else {
          throw fail(items[index].position, "unknown rule id '\(id)'\(didYouMean(id, among: RuleCatalog.all.map(\.id))); see ibex-audit --list-rules")
        }
        result.insert(id.uppercased())
      }
      return result
    }
    for pair in pairs {
      switch pair.key {
      case "version":
        guard pair.value.string == "1" else { throw fail(pair.value.position, "unsupported version '\(pair.value.string ?? "")'; this ibex-audit reads version: 1") }
      case "profile":
        guard let value = pair.value.string, let profile = Profile(rawValue: value), profile != .policy else {
          throw fail(pair.value.position, "invalid profile '\(pair.value.string ?? "")'; use core or strict")
        }
        configuration.profile = profile
      case "fail_on":
        guard let value = pair.value.string, let threshold = FailThreshold(name: value) else {
          throw fail(pair.value.position, "invalid fail_on '\(pair.value.string ?? "")'; use critical, high, medium, low, info or never")
        }
        configuration.failOn = threshold
      case "ignore":
        configuration.ignore = try ruleIDs(pair)
      case "severity":
        for entry in pair.value.pairs ?? [] {
          guard RuleCatalog.rule(entry.key.uppercased()) != nil else {
            throw fail(entry.keyPosition, "unknown rule id '\(entry.key)'\(didYouMean(entry.key, among: RuleCatalog.all.map(\.id))); see ibex-audit --list-rules")
          }
          guard let value = entry.value.string, let severity = Severity(name: value) else {
            throw fail(entry.value.position, "invalid severity '\(entry.value.string ?? "")' for \(entry.key); use critical, high, medium, low or info")
          }
          configuration.severity[entry.key.uppercased()] = severity
        }
      case "paths":
        for entry in pair.value.pairs ?? [] {
          guard entry.key == "exclude" else {
            throw fail(entry.keyPosition, "unknown key 'paths.\(entry.key)'\(didYouMean(entry.key, among: ["exclude"]))")
          }
          configuration.exclude = try strings(entry)
        }
      case "overrides":
        for item in pair.value.items ?? [] {
          var override = Override(files: [], ignore: [])
          for entry in item.pairs ?? [] {
            switch entry.key {
            case "files": override.files = try strings(entry)
            case "ignore": override.ignore = try ruleIDs(entry)
            default: throw fail(entry.keyPosition, "unknown key 'overrides.\(entry.key)'\(didYouMean(entry.key, among: ["files", "ignore"]))")
            }
          }
          configuration.overrides.append(override)
        }
      case "settings":
        for entry in pair.value.pairs ?? [] {
          let values = try strings(entry)
          switch entry.key {
          case "trusted_registries": configuration.settings.trustedRegistries = values
          case "nonroot_base_images": configuration.settings.nonrootBaseImages = values
          case "secret_name_patterns", "secret_name_allow":
            for (index, pattern) in values.enumerated() {
              let body = pattern.hasPrefix("(?i)") ? String(pattern.dropFirst(4)) : pattern
              if (try? NSRegularExpression(pattern: body)) == nil {
                throw fail((entry.value.items ?? [])[index].position, "invalid regular expression '\(pattern)' in settings.\(entry.key)")
              }
            }
            if entry.key == "secret_name_patterns" { configuration.settings.secretNamePatterns = values } else { configuration.settings.secretNameAllow = values }
          case "writable_mounts": configuration.settings.writableMounts = values
          case "safe_sysctls": configuration.settings.safeSysctls = values
          case "dangerous_capabilities": configuration.settings.dangerousCapabilities = values
          default:
            throw fail(entry.keyPosition, "unknown key 'settings.\(entry.key)'\(didYouMean(entry.key, among: settingKeys))")
          }
        }
      default:
        throw fail(pair.keyPosition, "unknown key '\(pair.key)'\(didYouMean(pair.key, among: topLevelKeys))")
      }
    }
    return configuration
  }

  /// The effective configuration as YAML (`--print-config`).
  public func rendered() -> String {
    func list(_ values: [String]) -> String { values.isEmpty ? "[]" : "[" + values.map { "\"\($0)\"" }.joined(separator: ", ") + "]" }
    var lines = ["version: 1", "profile: \(profile.rawValue)", "fail_on: \(failOn)", "ignore: \(list(ignore.sorted()))"]
    if severity.isEmpty {
      lines.append("severity: {}")
    } else {
      lines.append("severity:")
      for (id, value) in severity.sorted(by: { $0.key < $1.key }) { lines.append("  \(id): \(value)") }
    }
    lines.append("paths:")
    lines.append("  exclude: \(list(exclude))")
    if overrides.isEmpty {
      lines.append("overrides: []")
    } else {
      lines.append("overrides:")
      for override in overrides { lines.append("  - files: \(list(override.files))\n    ignore: \(list(override.ignore.sorted()))") }
    }
    lines.append("settings:")
    lines.append("  trusted_registries: \(list(settings.trustedRegistries))")
    lines.append("  nonroot_base_images: \(list(settings.nonrootBaseImages))")
    lines.append("  secret_name_patterns: \(list(settings.secretNamePatterns))")
    lines.append("  secret_name_allow: \(list(settings.secretNameAllow))")
    lines.append("  writable_mounts: \(list(settings.writableMounts))")
    lines.append("  safe_sysctls: \(list(settings.safeSysctls))")
    lines.append("  dangerous_capabilities: \(list(settings.dangerousCapabilities))")
    return lines.joined(separator: "\n") + "\n"
  }
}
