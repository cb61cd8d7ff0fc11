/// `StateDirectory=`, `CacheDirectory=`, `LogsDirectory=`, `RuntimeDirectory=` and
/// `ConfigurationDirectory=` (systemd's names and meaning): directories ibex creates before
/// the service starts, owned by its `User=`/`Group=`.
public struct ManagedDirectory: Equatable, Sendable {
  public enum Kind: Int, CaseIterable, Equatable, Sendable {
    case runtime, state, cache, logs, configuration

    /// The directive's name without `Directory`.
    public var name: String {
      switch self {
      case .runtime: return "Runtime"
      case .state: return "State"
      case .cache: return "Cache"
      case .logs: return "Logs"
      case .configuration: return "Configuration"
      }
    }
    /// Where its relative paths are.
    public var base: String {
      switch self {
      case .runtime: return "/run"
      case .state: return "/var/lib"
      case .cache: return "/var/cache"
      case .logs: return "/var/log"
      case .configuration: return "/etc"
      }
    }
    /// The variable that tells the service its paths (colon-separated), as systemd sets it.
    public var variable: String {
      switch self {
      case .runtime: return "RUNTIME_DIRECTORY"
      case .state: return "STATE_DIRECTORY"
      case .cache: return "CACHE_DIRECTORY"
      case .logs: return "LOGS_DIRECTORY"
      case .configuration: return "CONFIGURATION_DIRECTORY"
      }
    }
  }
  public var kind: Kind
  /// Relative to the kind's base: no `.` or `..` component, not absolute.
  public var path: String
  public init(kind: Kind, path: String) {
    self.kind = kind
    self.path = path
  }

  /// Whether `path` may follow a base directory: relative, no empty, `.` or `..` component.
  public static func isRelativePath(_ path: String) -> Bool {
    guard !path.isEmpty, !path.hasPrefix("/") else { return false }
    return path.split(separator: "/", omittingEmptySubsequences: false).allSatisfy { !$0.isEmpty && $0 != "." && $0 != ".." }
  }

  /// Whether `id` may name a credential file: not empty, no `/`, not `.` or `..`.
  public static func isCredentialID(_ id: String) -> Bool {
    !id.isEmpty && id != "." && id != ".." && !id.contains("/") && id.utf8.count <= 255
  }
}

/// `LoadCredential=ID:PATH` and `SetCredential=ID:VALUE`: a file `ID` in the service's
/// credentials directory.
public struct Credential: Equatable, Sendable {
  public enum Source: Equatable, Sendable {
    case file(String)
    case value(String)
  }
  public var id: String
  public var source: Source
  public init(id: String, source: Source) {
    self.id = id
    self.source = source
  }
}

/// What ibex does for a service's directories and credentials before it starts and after it
/// stops: a pure list of steps the shell carries out in order.
public enum ServiceSetup {
  public static let credentialsBase = "/run/ibex/credentials"

  public enum Step: Equatable, Sendable {
    /// Create `path` and missing parents (parents 0755, owned by ibex); give `path` the owner
    /// and mode. If it exists with another owner, its contents are handed over too (without
    /// following symlinks), as systemd does after a uid change.
    case directory(path: String, uid: UInt32, gid: UInt32, mode: UInt32)
    /// Remove `path` and what it holds (never following symlinks).
    case remove(path: String)
    /// Write a credential file (0400, owned by uid:gid) from a file or a value.
    case credential(path: String, source: Credential.Source, uid: UInt32, gid: UInt32)
    /// Set the finished credentials directory's owner and mode (0500).
    case seal(path: String, uid: UInt32, gid: UInt32)
  }

  /// The absolute paths of the service's directories of `kind`.
  public static func paths(_ service: ServiceDefinition, _ kind: ManagedDirectory.Kind, root: String = "") -> [String] {
    service.directories.filter { $0.kind == kind }.map { root + kind.base + "/" + $0.path }
  }

  public static func credentialsDirectory(_ service: ServiceDefinition, root: String = "") -> String {
    root + credentialsBase + "/" + service.name
  }

  /// The variables the service gets: `STATE_DIRECTORY=...` for each kind it has,
  /// `CREDENTIALS_DIRECTORY` with credentials.
  public static func environment(_ service: ServiceDefinition, root: String = "") -> [String] {
    var result: [String] = []
    for kind in ManagedDirectory.Kind.allCases {
      let paths = paths(service, kind, root: root)
      guard !paths.isEmpty else { continue }
      var joined = ""
      for (i, path) in paths.enumerated() { joined += (i == 0 ? "" : ":") + path }
      result.append(kind.variable + "=" + joined)
    }
    if !service.credentials.isEmpty { result.append("CREDENTIALS_DIRECTORY=" + credentialsDirectory(service, root: root)) }
    return result
  }

  /// Whether spawning `role` begins a start (the first `ExecStartPre=`, else the main
  /// process): the moment `beforeStart`'s steps run, each time the service starts.
  public static func beginsStart(_ service: ServiceDefinition, role: ProcessRef.Role) -> Bool {
    guard !service.directories.isEmpty || !service.credentials.isEmpty else { return false }
    switch role {
    case .startPre(let k): return k == 0
    case .main: return service.startPre.isEmpty
    default: return false
    }
  }

  /// Before the first process of a start (`ExecStartPre=` or the main one).
  public static func beforeStart(_ service: ServiceDefinition, uid: UInt32, gid: UInt32, root: String = "") -> [Step] {
    var steps: [Step] = []
    for kind in ManagedDirectory.Kind.allCases {
      let mode = service.directoryModes[kind.rawValue]
      for path in paths(service, kind, root: root) { steps.append(.directory(path: path, uid: uid, gid: gid, mode: mode)) }
    }
    if !service.credentials.isEmpty {
      let directory = credentialsDirectory(service, root: root)
      // Built afresh, root-only until sealed.
      steps.append(.remove(path: directory))
      steps.append(.directory(path: directory, uid: 0, gid: 0, mode: 0o700))
      for credential in service.credentials {
        steps.append(.credential(path: directory + "/" + credential.id, source: credential.source, uid: uid, gid: gid))
      }
      steps.append(.seal(path: directory, uid: uid, gid: gid))
    }
    return steps
  }

  /// Once the service has stopped (not for `RemainAfterExit=` oneshots that are done):
  /// `RuntimeDirectory=` and the credentials are removed.
  public static func afterStop(_ service: ServiceDefinition, root: String = "") -> [Step] {
    var steps = paths(service, .runtime, root: root).map { Step.remove(path: $0) }
    if !service.credentials.isEmpty { steps.append(.remove(path: credentialsDirectory(service, root: root))) }
    return steps
  }

  /// Whether a service in `phase` has stopped, so its runtime directories go.
  public static func hasStopped(_ phase: ServicePhase, remainAfterExit: Bool) -> Bool {
    switch phase {
    case .stopped, .failed, .restarting, .inactive: return true
    case .done: return !remainAfterExit
    case .waiting, .starting, .running, .stopping: return false
    }
  }
}
