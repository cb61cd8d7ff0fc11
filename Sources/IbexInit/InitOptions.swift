import IbexCore

/// The options of `ibex init [--root DIR] [--shutdown-timeout D] [--wait-timeout D] [--] [CMD [ARGS...]]`.
public struct InitOptions: Equatable, Sendable {
  /// Prefix of every path ibex reads or writes for itself (`IBEX_ROOT`).
  public var root: String?
  public var shutdownTimeout: TimeSpan?
  public var waitTimeout: TimeSpan?
  /// Index of CMD in the parsed arguments, if there is one.
  public var commandIndex: Int?

  public init(root: String? = nil, shutdownTimeout: TimeSpan? = nil, waitTimeout: TimeSpan? = nil, commandIndex: Int? = nil) {
    self.root = root
    self.shutdownTimeout = shutdownTimeout
    self.waitTimeout = waitTimeout
    self.commandIndex = commandIndex
  }

  public enum Parsed: Equatable, Sendable {
    case run(InitOptions)
    case help
  }

  /// Parses the arguments after `init`. Options end at the first word that is not one, or
  /// after `--`; the rest is CMD, untouched.
  public static func parse(_ arguments: [String]) throws(UsageError) -> Parsed {
    var options = InitOptions()
    var scanner = OptionScanner(arguments)
    while let name = scanner.next() {
      switch name {
      case "-h", "--help": return .help
      case "--root":
        let root = try scanner.value()
        guard root.hasPrefix("/") else { throw UsageError("--root needs an absolute path") }
        options.root = root
      case "--shutdown-timeout": options.shutdownTimeout = try scanner.duration()
      case "--wait-timeout": options.waitTimeout = try scanner.duration()
      default: throw UsageError("unknown option '\(name)'")
      }
    }
    options.commandIndex = scanner.index < arguments.count ? scanner.index : nil
    return .run(options)
  }

  public static let help = """
    Usage: ibex init [--root DIR] [--shutdown-timeout D] [--wait-timeout D] [--] [CMD [ARGS...]]

    Supervise the services in /etc/ibex/services (one NAME.service file each, systemd syntax):
    start them in dependency order, restart them by their policy, and stop them in reverse
    order on TERM or INT. With CMD, run it once every service is up; when it exits, stop the
    services and exit with its code (128+N if it was killed by signal N).

    Options:
      --root DIR               read configuration from DIR/etc/ibex and keep runtime state in
                               DIR/run/ibex (default: $IBEX_ROOT, or /)
      --shutdown-timeout D     the longest a shutdown may take before everything left is
                               killed (default 9s: below docker stop's 10s;
                               also $IBEX_SHUTDOWN_TIMEOUT)
      --wait-timeout D         how long CMD waits for the services to be up (default 30s;
                               also $IBEX_WAIT_TIMEOUT)
      -h, --help               show this help

    Environment: IBEX_POLICY=baseline|restricted|FILE judges the container's posture before
    anything starts (IBEX_POLICY_MODE=enforce, the default, stops the boot with exit 100;
    warn only logs); see docs/doctor.md.

    Exit codes: CMD's own, or 128+N; 0 after TERM/INT without CMD; 100 when the service files
    are invalid or IBEX_POLICY is violated (nothing is started); 111 if a system call fails at start-up; 2 for a usage
    error. See docs/init.md and docs/service-files.md.

    """
}
