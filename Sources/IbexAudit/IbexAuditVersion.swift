public enum IbexAuditVersion {
  public static let current = "0.1.0"
  /// The project's one URL (image labels, docs and SARIF links use the same).
  public static let projectURL = "https://github.com/ibex-project/ibex"
  /// The rule documentation; each rule has an anchor there.
  public static let documentationURL = projectURL + "/blob/main/docs/audit.md"
}
