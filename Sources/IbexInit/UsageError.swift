/// A command line that ibex cannot run: the message says what is wrong, and the command
/// exits 2 after printing it with a pointer to `--help`.
public struct UsageError: Error, Equatable, Sendable {
  public var message: String
  public init(_ message: String) { self.message = message }
}

/// Exit codes of ibex itself, when it does not pass on a child's code.
public enum ExitCode {
  public static let success: Int32 = 0
  /// Wrong usage: unknown command or option, missing or bad argument.
  public static let usage: Int32 = 2
  /// The configuration is invalid: nothing was started (s6's "permanent failure").
  public static let configError: Int32 = 100
  /// A system call ibex needs failed (temporary failure, as in s6).
  public static let systemFailure: Int32 = 111
  /// The program exists but could not be started.
  public static let cannotExecute: Int32 = 126
  /// The program does not exist.
  public static let notFound: Int32 = 127
  /// The child was killed with SIGKILL after the grace time.
  public static let killedAfterGrace: Int32 = 137
}
