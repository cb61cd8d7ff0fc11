public enum IbexAuditVersion {
  public static let current = "0.1.0"
}
