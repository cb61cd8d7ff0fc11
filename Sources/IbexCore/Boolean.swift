/// The one boolean parser of ibex: every boolean variable ibex reads (and the yes/no values of
/// service files) goes through it, so `TRUE`, `yes`, `On` and `1` mean the same everywhere.
public enum Boolean {
  /// `TRUE/FALSE/YES/NO/ON/OFF/1/0` in any case; nil for anything else.
  public static func parse(_ text: String) -> Bool? {
    guard text.utf8.count <= 5 else { return nil }
    switch text.lowercasedASCII {
    case "true", "yes", "on", "1": return true
    case "false", "no", "off", "0": return false
    default: return nil
    }
  }

  /// What to say when a value is not a boolean.
  public static let accepted = "use TRUE or FALSE (also YES/NO, ON/OFF, 1/0, any case)"
}
