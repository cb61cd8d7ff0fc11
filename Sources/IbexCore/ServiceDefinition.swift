/// Where a definition came from, for error messages: `web.service:12`.
public struct SourceLocation: Equatable, Sendable {
  public var file: String
  public var line: Int
  public init(file: String, line: Int) {
    self.file = file
    self.line = line
  }
  public var description: String { "\(file):\(line)" }
}

/// One command line of a service (`ExecStart=`, `ExecStartPre=`, ...), already split into words.
public struct Command: Equatable, Sendable {
  /// The program: a path or a name looked up in PATH.
  public var program: String
  /// argv, including argv[0].
  public var arguments: [String]
  /// `-` prefix: a failure of this command is not a failure of the service.
  public var ignoresFailure: Bool
  /// The line it was written on.
  public var location: SourceLocation?

  public init(program: String, arguments: [String], ignoresFailure: Bool = false, location: SourceLocation? = nil) {
    self.program = program
    self.arguments = arguments
    self.ignoresFailure = ignoresFailure
    self.location = location
  }
}

/// When a service's main process is started again after it ends (`Restart=`).
public enum RestartPolicy: String, Equatable, Sendable {
  case no
  case onFailure = "on-failure"
  case always

  /// Whether this policy restarts after `exit`. A clean exit is code 0, or a death by the
  /// service's own stop signal; everything else is a failure (systemd's rule).
  public func restarts(after exit: ProcessExit, killSignal: Signal) -> Bool {
    switch self {
    case .no: return false
    case .always: return true
    case .onFailure: return !exit.isClean(killSignal: killSignal)
    }
  }
}

extension ProcessExit {
  /// Exit code 0, or death by the signal the supervisor uses to stop the service (or by
  /// HUP, INT, TERM, PIPE, which systemd also counts as clean).
  public func isClean(killSignal: Signal) -> Bool {
    switch self {
    case .exited(let code): return code == 0
    case .signaled(let signal, _):
      return signal == killSignal || signal == .hangup || signal == .interrupt || signal == .terminate
        || signal == .pipe
    }
  }
}

/// How a service tells ibex that it is ready.
public enum ServiceType: String, Equatable, Sendable {
  /// Ready as soon as the main process has started.
  case simple
  /// Ready when the main process sends `READY=1` to `$NOTIFY_SOCKET` (sd_notify).
  case notify
  /// Runs to completion; ready (done) when it exits 0.
  case oneshot
}

/// A periodic health check (ibex extension, section `[Health]`).
public struct HealthCheck: Equatable, Sendable {
  public var command: Command
  public var interval: TimeSpan
  public var timeout: TimeSpan
  /// Consecutive failures after which the service is restarted.
  public var retries: Int
  /// Failures during this time after start do not count until a check has passed.
  public var startPeriod: TimeSpan
  /// Time between checks during the start period, until one passes (Docker's start interval).
  public var startInterval: TimeSpan
  /// From the service being up to its first check: a process that has just been exec'd is
  /// not listening yet (Kubernetes' initialDelaySeconds).
  public var initialDelay: TimeSpan

  public init(
    command: Command, interval: TimeSpan = .seconds(30), timeout: TimeSpan = .seconds(30), retries: Int = 3,
    startPeriod: TimeSpan = .zero, startInterval: TimeSpan = .seconds(5), initialDelay: TimeSpan = .seconds(1)
  ) {
    self.command = command
    self.interval = interval
    self.timeout = timeout
    self.retries = retries
    self.startPeriod = startPeriod
    self.startInterval = startInterval
    self.initialDelay = initialDelay
  }
}

/// A resource limit (`LimitNOFILE=` ...): resource number as in `setrlimit(2)`; nil is unlimited.
public struct LimitSetting: Equatable, Sendable {
  public var resource: Int32
  public var soft: UInt64?
  public var hard: UInt64?
  public init(resource: Int32, soft: UInt64?, hard: UInt64?) {
    self.resource = resource
    self.soft = soft
    self.hard = hard
  }
}

/// One name in `Requires=`, `Wants=`, `After=` or `Before=`.
public struct Dependency: Equatable, Sendable {
  public enum Kind: String, Equatable, Sendable {
    case requires = "Requires", wants = "Wants", after = "After", before = "Before"
  }
  public var name: String
  public var kind: Kind
  public var location: SourceLocation
  public init(name: String, kind: Kind, location: SourceLocation) {
    self.name = name
    self.kind = kind
    self.location = location
  }
}

/// An `EnvironmentFile=`: `optional` ones (`-` prefix) may be missing.
public struct EnvironmentFile: Equatable, Sendable {
  public var path: String
  public var optional: Bool
  public init(path: String, optional: Bool) {
    self.path = path
    self.optional = optional
  }
}

/// Where a service's output goes (`[Log]`). Lines are captured through pipes ibex holds, so a
/// restart loses nothing; nil fields take the container-wide default (`IBEX_LOG_*`).
public struct LogSettings: Equatable, Sendable {
  public enum Format: String, Equatable, Sendable {
    /// `name | line`, or the bare line without a prefix.
    case text
    /// One JSON object per line: ts, service, stream, msg.
    case json
  }
  public enum Timestamps: String, Equatable, Sendable {
    case none, rfc3339, tai64n
  }
  /// Lines go to the container's stdout (the service's stdout) and stderr (its stderr).
  public var console = true
  /// Both streams' console lines go to the container's stderr (s6's `S6_LOGGING=1` echo).
  public var consoleOnStandardError = false
  public var format: Format?
  /// `name | ` in front of console lines (text format).
  public var prefix: Bool?
  public var timestamps: Timestamps?
  /// Timestamps in the log directory; nil: as `timestamps`.
  public var fileTimestamps: Timestamps?
  /// A rotating log directory (`current` and `@TAI64N.s` archives, as s6-log writes).
  public var directory: String?
  public var maxFileSize = 1 << 20
  public var maxFiles = 10
  /// 0: no limit on the archives' total size.
  public var maxTotalSize = 0
  /// The owner of the directory and its files (s6's `S6_CATCHALL_USER`); nil: ibex's user.
  public var ownerUID: UInt32?
  public var ownerGID: UInt32?
  public init() {}
}

/// Where a directive was set.
public struct DirectiveLocation: Equatable, Sendable {
  public var directive: String
  public var location: SourceLocation
  public init(_ directive: String, _ location: SourceLocation) {
    self.directive = directive
    self.location = location
  }
}

/// Everything ibex knows about one service, whatever file format it came from.
public struct ServiceDefinition: Equatable, Sendable {
  public var name: String
  /// The file (line 1); `location(of:)` has each directive's own line.
  public var location: SourceLocation
  /// Where each directive was set (the last time wins), by name: errors found after parsing
  /// (an unknown user, a missing program, a cycle) point at the line that caused them. A list,
  /// not a dictionary: a few entries, and no dictionary code in the binary for them.
  public var directiveLocations: [DirectiveLocation] = []
  public var description: String?

  /// Requires=, Wants=, After=, Before=, in file order. Requires= and Wants= also order:
  /// the dependency is started, and ready, first.
  public var dependencies: [Dependency] = []

  public var type: ServiceType = .simple
  public var start: [Command] = []
  public var startPre: [Command] = []
  public var startPost: [Command] = []
  public var stop: [Command] = []
  public var stopPost: [Command] = []
  public var remainAfterExit = false
  public var restart: RestartPolicy = .no
  /// First restart delay; later ones double up to `restartMaxDelay` (exponential backoff).
  /// The defaults suit containers (docs/service-files.md, "Crash loops"): 1 s as s6 pauses,
  /// then 2 s, 4 s, ... up to 1 min as Kubernetes' CrashLoopBackOff grows, so a crashing
  /// service is never given up within seconds; the start limit (5 in 10 s) then only bites
  /// when `RestartSec=` is made shorter.
  public var restartDelay: TimeSpan = .seconds(1)
  /// nil: no backoff (every restart waits `restartDelay`).
  public var restartMaxDelay: TimeSpan? = .seconds(60)
  public var startLimitBurst = 5
  public var startLimitInterval: TimeSpan = .seconds(10)
  /// nil: no limit (the default for oneshots).
  public var startTimeout: TimeSpan? = .seconds(90)
  public var stopTimeout: TimeSpan = .seconds(5)
  public var killSignal: Signal = .terminate

  // Privileges and environment, applied by the spawner.
  public var user: String?
  public var group: String?
  public var supplementaryGroups: [String] = []
  public var environment: [String] = []
  public var environmentFiles: [EnvironmentFile] = []
  public var workingDirectory: String?
  public var umask: UInt32?
  public var limits: [LimitSetting] = []
  /// nil: keep the bounding set; else the capabilities (bits) that stay in it.
  public var capabilityBoundingSet: UInt64?
  public var ambientCapabilities: UInt64 = 0
  public var noNewPrivileges = false
  /// `StateDirectory=` and the like, created before the service starts (ServiceSetup).
  public var directories: [ManagedDirectory] = []
  /// `StateDirectoryMode=` and the like, by `ManagedDirectory.Kind` (default 0755).
  public var directoryModes: [UInt32] = Array(repeating: 0o755, count: ManagedDirectory.Kind.allCases.count)
  /// `LoadCredential=` and `SetCredential=`, in order (a later one with the same ID wins).
  public var credentials: [Credential] = []

  // ibex extensions.
  public var health: HealthCheck?
  /// When this service fails for good, the whole container stops.
  public var essential = false
  /// The container's exit code then; nil: the service's own code (or 1 if it had none).
  public var essentialExitCode: Int32?
  /// s6-style readiness: the service writes a newline to this fd when it is ready.
  public var notificationFD: Int32?
  public var log = LogSettings()

  // s6 semantics (the s6-overlay loader sets these; native files may not).
  /// Started at boot with the others. False: defined but down until `ibex start` (an s6
  /// `down` file, or an s6-rc service that no selected bundle reaches).
  public var autostart = true
  /// An s6 `finish` program: runs after every end of the main process with the arguments
  /// (exit code or 256, signal number, service name, process group); its exit code 125
  /// means "do not restart". Killed after `finishTimeout`.
  public var finish: Command?
  public var finishTimeout: TimeSpan = .seconds(5)
  /// s6-rc `flag-essential`: at shutdown it stays up until every other service is down.
  public var stopsLast = false
  /// False: the service gets only PATH from ibex's environment (s6-overlay's rule; scripts
  /// read the rest with `with-contenv`), then its own `Environment=`.
  public var inheritsEnvironment = true
  /// When the main process ends, what it left in its process group is killed. False (s6):
  /// leftovers live on until the final sweep (TERM, the grace time, KILL).
  public var killsLeftovers = true
  /// Dependents (and CMD) wait for this service to be ready; false: only for it to be started
  /// (s6-overlay's services.d without `S6_CMD_WAIT_FOR_SERVICES`).
  public var dependentsWaitForReady = true
  /// False: `$NAME` in command lines stays as written (s6's command lines are not expanded).
  public var expandsVariables = true
  /// An s6-rc service (an s6-rc.d definition, `legacy-cont-init`, `legacy-services`): its
  /// transitions are also logged as s6-rc logs them (`s6-rc: info: service NAME: starting`),
  /// which images and log parsers look for.
  public var logsAsS6RC = false
  /// An s6 pipeline (`producer-for`, a `log/` directory): this service's stdout goes to the
  /// stdin of the named service, through a pipe ibex holds so that restarts lose nothing.
  public var outputConsumer: String?

  public init(name: String, location: SourceLocation) {
    self.name = name
    self.location = location
  }

  /// The line of `directive`, or the file's when it was not set there.
  public func location(of directive: String) -> SourceLocation {
    directiveLocations.last { $0.directive == directive }?.location ?? location
  }
}
