/// Messages for the user on standard error, in one shape:
/// `ibex: fatal: unable to exec /app: No such file or directory`.
///
/// Each message is written with one `write(2)`, so lines from ibex and its children do not
/// interleave mid-line. Failures to write are ignored: there is nowhere else to report them.
public enum Console {
  public static func fatal(_ message: String) { emit("fatal: " + message) }
  public static func warning(_ message: String) { emit("warning: " + message) }
  public static func info(_ message: String) { emit("info: " + message) }

  /// Writes `ibex: <message>` and a newline to stderr.
  public static func emit(_ message: String) {
    try? FileDescriptor.standardError.writeAll("ibex: " + message + "\n")
  }

  /// Writes text as is to stdout (help, version, machine output).
  public static func output(_ text: String) {
    try? FileDescriptor.standardOutput.writeAll(text)
  }
}
