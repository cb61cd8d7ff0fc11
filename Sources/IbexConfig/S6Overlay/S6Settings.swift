import IbexCore

/// The `S6_*` variables of an s6-overlay image, read from the container's environment (spec
/// section 4): those the loader needs and those of the boot and stop sequence. Numeric values are digits only; anything else draws a warning and the
/// default is used.
public struct S6Settings: Equatable, Sendable {
  /// `S6_RUNTIME_PROFILE`: read `/etc/cont-profile.d/<profile>/...` instead of `/etc/...`.
  public var profile: String?
  /// `S6_RUNTIME_BUNDLEDIR`: where the `user` and `user2` bundles are (default
  /// `/etc/s6-overlay/user-bundles.d`, under the profile if there is one).
  public var bundleDirectory: String?
  /// `S6_KEEP_ENV` ≠ 0: services get the whole container environment, not only PATH.
  public var keepEnvironment = false
  /// `S6_BEHAVIOUR_IF_STAGE2_FAILS` (0): 0 continue, 1 continue with a warning, 2 or more stop.
  public var failurePolicy = 0
  /// `S6_SERVICES_GRACETIME` (3000 ms): how long services.d services get to stop.
  public var servicesGraceTime: TimeSpan = .milliseconds(3000)
  /// `S6_KILL_FINISH_MAXTIME`: the bound on a cont-finish.d script; nil (unset or 0): none.
  public var killFinishMaxTime: TimeSpan?
  /// `S6_VERBOSITY` (2): 0 errors only, 1 also warnings, 2 also info lines.
  public var verbosity = 2
  /// `S6_FIX_ATTRS_HIDDEN` ≠ 0: fix-attrs.d recursion includes dotfiles.
  public var fixAttrsHidden = false
  /// `S6_CMD_WAIT_FOR_SERVICES` ≠ 0: CMD waits for services.d services to be up (ready with a
  /// notification-fd), not only started.
  public var waitForServices = false
  /// `S6_CMD_WAIT_FOR_SERVICES_MAXTIME`: how long CMD waits for the services; nil (0): no limit.
  public var waitMaxTime: TimeSpan?
  /// `S6_KILL_GRACETIME` (3000 ms, at most 300000): from the final SIGTERM to SIGKILL.
  public var killGraceTime: TimeSpan = .milliseconds(3000)
  /// `S6_CMD_ARG0`, split into words: put in front of CMD.
  public var commandPrefix: [String] = []
  /// `S6_CMD_RECEIVE_SIGNALS` ≠ 0: the signals PID 1 gets go to CMD while it runs.
  public var commandReceivesSignals = false
  /// `S6_STAGE2_HOOK`, split into words (not given to a shell).
  public var stage2Hook: [String] = []
  /// `S6_SYNC_DISKS` ≠ 0: sync(2) before the end.
  public var syncDisks = false
  /// `S6_LOGGING` (0): 1 sends the output of services without a logger to the catch-all log
  /// directory `/run/uncaught-logs` and echoes it; 2 sends it there only, CMD's included.
  public var logging = 0
  /// `S6_CATCHALL_USER` (root): the owner of the catch-all log directory.
  public var catchAllUser = "root"
  /// Its account, once resolved (as root only: without root it has no meaning, S6-PRIV-04).
  public var catchAllOwner: Account?
  /// The words of `S6_LOGGING_SCRIPT` (default `n20 s1000000 T`, used by logutil-service).
  public var loggingScript = ["n20", "s1000000", "T"]
  /// Whether `S6_LOGGING_SCRIPT` asks for timestamps (a standalone `t` or `T`): only then are
  /// catch-all lines stamped (S6-ENV-06).
  public var catchAllTimestamps: Bool { loggingScript.contains("t") || loggingScript.contains("T") }

  public init() {}

  /// The settings in `environment` (`NAME=value` strings), and a warning for every value that
  /// could not be used.
  public static func parse(environment: [String]) -> (settings: S6Settings, warnings: [String]) {
    var settings = S6Settings()
    var warnings: [String] = []
    func number(_ name: String, default defaultText: String) -> Int? {
      guard let text = Environment.value(of: name, in: environment), !text.isEmpty else { return nil }
      guard let value = digits(text) else {
        warnings.append("\(name)=\(text) is not a number (digits only): using \(defaultText)")
        return nil
      }
      return value
    }
    if let value = Environment.value(of: "S6_RUNTIME_PROFILE", in: environment), !value.isEmpty {
      if value.contains("/") || value == "." || value == ".." {
        warnings.append("S6_RUNTIME_PROFILE=\(value) is not a directory name: no profile is used")
      } else {
        settings.profile = value
      }
    }
    if let value = Environment.value(of: "S6_RUNTIME_BUNDLEDIR", in: environment), !value.isEmpty {
      if value.hasPrefix("/") {
        settings.bundleDirectory = value
      } else {
        warnings.append("S6_RUNTIME_BUNDLEDIR=\(value) is not an absolute path: using the default")
      }
    }
    if let value = number("S6_KEEP_ENV", default: "0") { settings.keepEnvironment = value != 0 }
    if let value = number("S6_BEHAVIOUR_IF_STAGE2_FAILS", default: "0") { settings.failurePolicy = value }
    if let value = number("S6_SERVICES_GRACETIME", default: "3000") { settings.servicesGraceTime = .milliseconds(Int64(value)) }
    if let value = number("S6_KILL_FINISH_MAXTIME", default: "no limit") { settings.killFinishMaxTime = value == 0 ? nil : .milliseconds(Int64(value)) }
    if let value = number("S6_VERBOSITY", default: "2") { settings.verbosity = value }
    if let value = number("S6_FIX_ATTRS_HIDDEN", default: "0") { settings.fixAttrsHidden = value != 0 }
    if let value = number("S6_CMD_WAIT_FOR_SERVICES", default: "0") { settings.waitForServices = value != 0 }
    if let value = number("S6_CMD_WAIT_FOR_SERVICES_MAXTIME", default: "0") { settings.waitMaxTime = value == 0 ? nil : .milliseconds(Int64(value)) }
    if let value = number("S6_KILL_GRACETIME", default: "3000") { settings.killGraceTime = .milliseconds(Int64(min(value, 300_000))) }
    settings.commandPrefix = words(Environment.value(of: "S6_CMD_ARG0", in: environment) ?? "")
    if let value = number("S6_CMD_RECEIVE_SIGNALS", default: "0") { settings.commandReceivesSignals = value != 0 }
    settings.stage2Hook = words(Environment.value(of: "S6_STAGE2_HOOK", in: environment) ?? "")
    if let value = number("S6_SYNC_DISKS", default: "0") { settings.syncDisks = value != 0 }
    if let value = number("S6_LOGGING", default: "0") { settings.logging = value }
    if let script = Environment.value(of: "S6_LOGGING_SCRIPT", in: environment) { settings.loggingScript = words(script) }
    if let user = Environment.value(of: "S6_CATCHALL_USER", in: environment), !user.isEmpty { settings.catchAllUser = user }
    return (settings, warnings)
  }

  /// Words split on blanks, as the shell splits an unquoted variable.
  static func words(_ text: String) -> [String] {
    text.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\n" }).map { String($0) }
  }

  /// A non-negative decimal number made of digits only, below 2^31.
  static func digits(_ text: String) -> Int? {
    guard !text.isEmpty else { return nil }
    var value = 0
    for byte in text.utf8 {
      guard byte >= 0x30 && byte <= 0x39 else { return nil }
      value = value * 10 + Int(byte - 0x30)
      if value > Int(Int32.max) { return nil }
    }
    return value
  }
}
