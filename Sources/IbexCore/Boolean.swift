/// The one boolean parser of ibex: every boolean variable ibex reads (and the yes/no values of
/// service files) goes through it, so `TRUE`, `yes`, `On` and `1` mean the same everywhere.
public enum Boolean {
  /// `TRUE/FALSE/YES/NO/ON/OFF/1/0` in any case; nil for anything else.
  public static func parse(_ text: some StringProtocol) -> Bool? {
    var bytes: [UInt8] = []
    for byte in text.utf8 {
      bytes.append(byte >= 0x41 && byte <= 0x5a ? byte + 32 : byte)
      if bytes.count > 5 { return nil }
    }
    switch String(decoding: bytes, as: UTF8.self) {
    case "true", "yes", "on", "1": return true
    case "false", "no", "off", "0": return false
    default: return nil
    }
  }

  /// What to say when `text` is not a boolean.
  public static let accepted = "use TRUE or FALSE (also YES/NO, ON/OFF, 1/0, any case)"

  /// The boolean variable `name` in `environment`: nil when unset, an error naming the
  /// variable when it is not a boolean.
  public static func variable(_ name: String, in environment: [String]) throws(ConfigError) -> Bool? {
    guard let text = Environment.value(of: name, in: environment) else { return nil }
    guard let value = parse(text) else { throw ConfigError("\(name)=\(text): not a boolean; \(accepted)") }
    return value
  }
}
