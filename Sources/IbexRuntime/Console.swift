/// Messages for the user on standard error, in one shape:
/// `ibex: fatal: unable to exec /app: No such file or directory`.
///
/// Each message is written with one `write(2)`, so lines from ibex and its children do not
/// interleave mid-line. Failures to write are ignored: there is nowhere else to report them.
/// Control characters in a message (a file name with a newline, say) are escaped, so one
/// message is always one line and nobody can forge a line of ibex's through a name.
public enum Console {
  public static func fatal(_ message: String) { emit("fatal: " + message) }
  public static func warning(_ message: String) { emit("warning: " + message) }
  public static func info(_ message: String) { emit("info: " + message) }

  /// Writes `ibex: <message>` and a newline to stderr.
  public static func emit(_ message: String) {
    try? FileDescriptor.standardError.writeAll(line(message))
  }

  /// `ibex: <message>` and a newline, control characters escaped (`\x0a`); without the
  /// label for lines that imitate another program's (s6-rc's).
  public static func line(_ message: String, labelled: Bool = true) -> String {
    (labelled ? "ibex: " : "") + escaped(message) + "\n"
  }

  /// `text` with its control characters (below 0x20, and DEL) written as `\xNN`: one form
  /// for all of them, which a reader can decode without a table.
  public static func escaped(_ text: String) -> String {
    guard text.utf8.contains(where: { $0 < 0x20 || $0 == 0x7F }) else { return text }
    var bytes: [UInt8] = []
    bytes.reserveCapacity(text.utf8.count + 12)
    let hex: [UInt8] = Array("0123456789abcdef".utf8)
    for byte in text.utf8 {
      if byte < 0x20 || byte == 0x7F {
        bytes.append(0x5C)  // backslash
        bytes.append(0x78)  // x
        bytes.append(hex[Int(byte >> 4)])
        bytes.append(hex[Int(byte & 15)])
      } else {
        bytes.append(byte)
      }
    }
    return String(decoding: bytes, as: UTF8.self)
  }

  /// Writes text as is to stdout (help, version, machine output).
  public static func output(_ text: String) {
    try? FileDescriptor.standardOutput.writeAll(text)
  }
}
