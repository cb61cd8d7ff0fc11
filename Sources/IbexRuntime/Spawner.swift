import CIbex
import IbexCore

/// How a spawned child is placed in sessions and process groups.
public enum ProcessGrouping: Sendable {
  /// Stays in ibex's process group.
  case inherit
  /// A new process group in ibex's session (`setpgid(0, 0)`).
  case newGroup
  /// A new session (`setsid()`): no controlling terminal.
  case newSession
}

/// The credentials a child runs with.
public struct Credentials: Equatable, Sendable {
  public var uid: UInt32
  public var gid: UInt32
  public var supplementaryGroups: [UInt32]
  public init(uid: UInt32, gid: UInt32, supplementaryGroups: [UInt32] = []) {
    self.uid = uid
    self.gid = gid
    self.supplementaryGroups = supplementaryGroups
  }
}

/// Capabilities, as a bit set (bit n is capability n, as in `/proc/PID/status`).
public struct CapabilitySet: Equatable, Sendable {
  public var bits: UInt64
  public init(bits: UInt64) { self.bits = bits }
  public static let none = CapabilitySet(bits: 0)
}

/// Everything about how a child is started. The spawner applies it in one fixed order (see
/// `ibex_spawn` in the C shim): signals, process group, terminal, limits, bounding set,
/// credentials, capabilities, no_new_privs, umask, directory, descriptors, exec.
public struct SpawnRequest: ~Copyable {
  /// The program: a path, or a name searched in the `PATH` of `environment`.
  public var program: String
  public var arguments: CStringArray
  public var environment: CStringArray
  /// Signals the child keeps ignored; every other one starts at its default.
  public var ignoredSignals = SignalSet()
  /// The child's signal mask.
  public var signalMask = SignalSet()
  public var grouping = ProcessGrouping.newSession
  /// If set and a terminal, the child's process group becomes its foreground group.
  public var foregroundTerminal: FileDescriptor?
  /// Resource limits (`setrlimit(2)`).
  public var limits: [LimitSetting] = []
  /// Drops every capability outside `capabilities` from the bounding set.
  public var dropBoundingSet = false
  public var credentials: Credentials?
  /// Limits the permitted and effective sets to these (when set); the inheritable set becomes
  /// `ambientCapabilities`, and nothing else.
  public var capabilities: CapabilitySet?
  /// Ambient capabilities to raise (must be within `capabilities`).
  public var ambientCapabilities = CapabilitySet.none
  /// Without `capabilities`: empty the inheritable set anyway (services; CMD keeps what the
  /// runtime gave, as with `docker run` without ibex).
  public var clearInheritable = false
  public var noNewPrivileges = false
  public var umask: UInt32?
  public var workingDirectory: String?
  /// A file the child writes its pid to before it runs the program (s6's /run/s6/cmdpid).
  public var pidFile: String?
  /// Descriptors the child gets: `(from: fd in ibex, to: fd in the child)`; at most 8.
  public var descriptors: [(from: FileDescriptor, to: Int32)] = []
  /// Close every descriptor except 0-2 and the `to`s of `descriptors`.
  public var closeOtherDescriptors = true
  /// Use fork() instead of clone(CLONE_VM|CLONE_VFORK), for debugging.
  public var useFork = false

  public init(program: String, arguments: consuming CStringArray, environment: consuming CStringArray) {
    self.program = program
    self.arguments = arguments
    self.environment = environment
  }
}

/// The step of the child setup that failed.
public enum SpawnStep: Int32, Sendable {
  case clone = 1, signals, processGroup, terminal, limits, boundingSet, keepCapabilities, groups, gid, uid,
    capabilities, ambientCapabilities, noNewPrivileges, umask, workingDirectory, descriptors, closeDescriptors,
    exec

  /// What ibex was unable to do, as a verb phrase: "unable to set uid".
  public var action: String {
    switch self {
    case .clone: return "create a process"
    case .signals: return "reset signals"
    case .processGroup: return "create a process group"
    case .terminal: return "take the terminal"
    case .limits: return "set resource limits"
    case .boundingSet: return "drop capabilities from the bounding set"
    case .keepCapabilities: return "keep capabilities"
    case .groups: return "set supplementary groups"
    case .gid: return "set gid"
    case .uid: return "set uid"
    case .capabilities: return "set capabilities"
    case .ambientCapabilities: return "raise ambient capabilities"
    case .noNewPrivileges: return "set no_new_privs"
    case .umask: return "set umask"
    case .workingDirectory: return "change directory"
    case .descriptors: return "set up file descriptors"
    case .closeDescriptors: return "close file descriptors"
    case .exec: return "exec"
    }
  }
}

/// A child that could not be started: which step failed, and why.
public struct SpawnError: Error, Equatable, Sendable {
  public var step: SpawnStep
  public var errno: Errno
  public var program: String
  /// The `#!` interpreter of `program`, when exec failed because that interpreter is missing
  /// (the program itself exists): the message names it, not the script.
  public var missingInterpreter: String?

  public init(step: SpawnStep, errno: Errno, program: String, missingInterpreter: String? = nil) {
    self.step = step
    self.errno = errno
    self.program = program
    self.missingInterpreter = missingInterpreter
  }

  /// `unable to exec /app/server: No such file or directory`.
  public var description: String {
    switch step {
    case .workingDirectory: return "unable to change directory for \(program): \(errno.description)"
    case .exec:
      if let missingInterpreter {
        return "unable to exec \(program): its interpreter \(missingInterpreter) (the #! line) does not exist"
          + " (the kernel looks #! paths up from /, also under ibex init --root)"
      }
      return "unable to exec \(program): \(errno.description)"
    default: return "unable to \(step.action) for \(program): \(errno.description)"
    }
  }

  /// The shell's convention: 127 when the program does not exist, 126 when it cannot run.
  public var exitCode: Int32 {
    step == .exec && (errno == .noSuchFileOrDirectory || errno == Errno(rawValue: 20)) ? 127 : 126
  }
}

/// Starts children with `ibex_spawn()`.
public enum Spawner {
  /// The interpreter on `program`'s `#!` line when `program` exists (then ENOENT from
  /// execve(2) was about the interpreter), or nil.
  static func missingInterpreter(of program: String) -> String? {
    guard program.contains("/"), let bytes = try? FileSystem.read(program), bytes.starts(with: [0x23, 0x21]) else {
      return nil
    }
    let line = bytes.dropFirst(2).prefix { $0 != 0x0A }.drop { $0 == 0x20 || $0 == 0x09 }
    let path = line.prefix { $0 != 0x20 && $0 != 0x09 && $0 != 0x0D }
    return path.isEmpty ? nil : String(decoding: path, as: UTF8.self)
  }

  /// Starts the child described by `request`. Returns its pid; the caller reaps it.
  public static func spawn(_ request: borrowing SpawnRequest) throws(SpawnError) -> Int32 {
    var req = ibex_spawn_req()
    var failure = ibex_spawn_err()
    var ignored = request.ignoredSignals
    var mask = request.signalMask
    let searchPath = request.environment.value(of: "PATH")
    let limits = request.limits.map {
      ibex_rlimit(resource: $0.resource, soft: $0.soft ?? UInt64.max, hard: $0.hard ?? UInt64.max)
    }
    let groups = request.credentials?.supplementaryGroups ?? []
    precondition(request.descriptors.count <= Int(IBEX_SPAWN_MAX_FDS), "ibex bug: too many descriptors")

    req.argv = request.arguments.pointer
    req.envp = request.environment.pointer
    req.pgroup = switch request.grouping {
    case .inherit: Int32(IBEX_PGROUP_INHERIT.rawValue)
    case .newGroup: Int32(IBEX_PGROUP_NEW.rawValue)
    case .newSession: Int32(IBEX_PGROUP_SESSION.rawValue)
    }
    req.foreground_fd = request.foregroundTerminal?.rawValue ?? -1
    req.rlimit_count = limits.count
    req.drop_bounding_set = request.dropBoundingSet ? 1 : 0
    if let credentials = request.credentials {
      req.set_ids = 1
      req.uid = credentials.uid
      req.gid = credentials.gid
      req.group_count = groups.count
    }
    if let capabilities = request.capabilities {
      req.set_capabilities = 1
      req.capabilities = capabilities.bits
    } else if request.dropBoundingSet {
      req.capabilities = 0
    }
    req.ambient = request.ambientCapabilities.bits
    req.clear_inheritable = request.clearInheritable ? 1 : 0
    req.no_new_privs = request.noNewPrivileges ? 1 : 0
    if let umask = request.umask {
      req.set_umask = 1
      req.umask = umask
    }
    req.fd_count = request.descriptors.count
    withUnsafeMutableBytes(of: &req.fds) { raw in
      let maps = raw.bindMemory(to: ibex_fd_map.self)
      for (index, map) in request.descriptors.enumerated() {
        maps[index] = ibex_fd_map(from: map.from.rawValue, to: map.to)
      }
    }
    req.close_other_fds = request.closeOtherDescriptors ? 1 : 0
    req.use_fork = request.useFork ? 1 : 0

    let pid = request.program.withCString { file in
      searchPath.withOptionalCString { path in
        request.workingDirectory.withOptionalCString { cwd in
          request.pidFile.withOptionalCString { pidFile in
            limits.withUnsafeBufferPointer { limits in
              groups.withUnsafeBufferPointer { groups in
                withUnsafePointer(to: &ignored.raw) { ignored in
                  withUnsafePointer(to: &mask.raw) { mask in
                    req.file = file
                    req.search_path = path
                    req.cwd = cwd
                    req.pid_file = pidFile
                    req.rlimits = limits.baseAddress
                    req.groups = groups.baseAddress
                    req.ignored = ignored
                    req.mask = mask
                    return ibex_spawn(&req, &failure)
                  }
                }
              }
            }
          }
        }
      }
    }
    if pid < 0 {
      let step = SpawnStep(rawValue: failure.step) ?? .clone
      let errno = Errno(rawValue: failure.error)
      var interpreter: String?
      if step == .exec && errno == .noSuchFileOrDirectory { interpreter = missingInterpreter(of: request.program) }
      throw SpawnError(step: step, errno: errno, program: request.program, missingInterpreter: interpreter)
    }
    return pid
  }
}

extension Optional where Wrapped == String {
  func withOptionalCString<R>(_ body: (UnsafePointer<CChar>?) -> R) -> R {
    switch self {
    case .some(let string): return string.withCString { body($0) }
    case .none: return body(nil)
    }
  }
}
