import IbexCore

/// The options of `ibex run [--grace DURATION] [--pgroup] [--] PROGRAM [ARGS...]`.
public struct RunOptions: Equatable, Sendable {
  /// After TERM or INT, how long the child may take before its process group is killed.
  public var grace: TimeSpan?
  /// Forward signals to the child's process group instead of the child alone.
  public var forwardToProcessGroup = false
  /// Index of PROGRAM in the arguments given to `parse`; everything from there on is the
  /// child's argv, untouched.
  public var programIndex: Int

  public init(grace: TimeSpan? = nil, forwardToProcessGroup: Bool = false, programIndex: Int) {
    self.grace = grace
    self.forwardToProcessGroup = forwardToProcessGroup
    self.programIndex = programIndex
  }

  /// What the command line asks for.
  public enum Parsed: Equatable, Sendable {
    case run(RunOptions)
    case help
  }

  /// Parses the arguments that follow `run`. Options end at the first word that is not an
  /// option, or after `--`: every later word belongs to PROGRAM, even if it looks like an
  /// option.
  public static func parse(_ arguments: [String]) throws(UsageError) -> Parsed {
    var options = RunOptions(programIndex: 0)
    var scanner = OptionScanner(arguments)
    while let name = scanner.next() {
      switch name {
      case "-h", "--help":
        return .help
      case "-g", "--pgroup":
        try scanner.noValue()
        options.forwardToProcessGroup = true
      case "--grace":
        options.grace = try scanner.duration(missing: "option --grace needs a duration, e.g. --grace 5s")
      default:
        throw UsageError("unknown option '\(name)'")
      }
    }
    guard scanner.index < arguments.count else { throw UsageError("missing PROGRAM to run") }
    options.programIndex = scanner.index
    return .run(options)
  }

  public static let help = """
    Usage: ibex run [--grace DURATION] [--pgroup] [--] PROGRAM [ARGS...]

    Run PROGRAM as the only child of ibex, like tini: reap every zombie, forward signals,
    and exit with PROGRAM's exit code (128+N when it is killed by signal N).

    Options:
      --grace DURATION  after TERM or INT, SIGKILL PROGRAM's process group if it is
                        still running after DURATION (e.g. 10s, 500ms), and exit 137
      -g, --pgroup      forward signals to PROGRAM's process group, not PROGRAM alone
      -h, --help        show this help

    Exit codes: PROGRAM's own; 128+N if killed by signal N; 126 if PROGRAM cannot be
    executed; 127 if it does not exist; 2 for a usage error; 111 if a system call fails.
    Every word after PROGRAM is passed to it unchanged. See docs/run.md.

    """
}
