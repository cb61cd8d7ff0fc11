/// The one boolean parser of ibex: every boolean variable ibex reads (and the yes/no values of
/// service files) goes through it, so `TRUE`, `yes`, `On` and `1` mean the same everywhere.
public enum Boolean {
  /// `TRUE/FALSE/YES/NO/ON/OFF/1/0` in any case; nil for anything else.
  public static func parse(_ text: String) -> Bool? {
    guard text.utf8.count <= 5 else { return nil }
    switch asciiLowercased(text) {
    case "true", "yes", "on", "1": return true
    case "false", "no", "off", "0": return false
    default: return nil
    }
  }

  /// What to say when a value is not a boolean.
  public static let accepted = "use TRUE or FALSE (also YES/NO, ON/OFF, 1/0, any case)"
}

/// `text` with ASCII letters lowered and every other byte kept (`lowercased()` would pull
/// Unicode's case tables into the binary).
public func asciiLowercased(_ text: String) -> String {
  String(decoding: text.utf8.map { $0 >= 0x41 && $0 <= 0x5a ? $0 + 0x20 : $0 }, as: UTF8.self)
}
