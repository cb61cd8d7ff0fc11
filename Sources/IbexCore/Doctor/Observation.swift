/// Everything `ibex doctor` and the boot-time policy look at, gathered once by the probes of
/// IbexRuntime (`PostureProbe`). Findings and policy verdicts are pure functions of this value
/// (`Doctor.findings`, `Policy.violations`), so they are tested with hand-made observations.
///
/// A nil field means "could not be observed" (the source was missing or unreadable); the reason
/// is in `unavailable`, and the checks that need it report IBX-META-005 instead of guessing.
public struct Observation: Equatable, Sendable {
  /// `/proc/self/status`.
  public var status: ProcessStatus?
  /// `/proc/self/uid_map` and `gid_map`.
  public var uidMap: [IDMapRange]?
  public var gidMap: [IDMapRange]?
  /// The LSM label of this process (`/proc/self/attr/current`); nil: no LSM answered.
  public var securityLabel: String?
  /// Tell-tale system calls tried with arguments that cannot do harm.
  public var syscallProbes: [SyscallProbe] = []
  /// The command names of PID 1 and PID 2 (`/proc/N/comm`): PID 2 is kthreadd only where
  /// the host's kernel threads are visible, i.e. in the host's PID namespace.
  public var pid1Name: String?
  public var pid2Name: String?
  /// Network interfaces (`/sys/class/net`).
  public var networkInterfaces: [String]?
  /// Character and block devices under /dev that a default container does not have.
  public var devices: [DeviceNode] = []
  /// Container-runtime sockets (or anything at their paths).
  public var runtimeSockets: [String] = []
  /// `/proc/self/mountinfo`.
  public var mounts: [Mount]?
  /// The bounded walk of the root file system (nil: not walked).
  public var fileScan: FileScan?
  /// cgroup limits of the container.
  public var cgroup: CgroupLimits?
  /// Names (never values) of the environment's variables.
  public var environmentNames: [String] = []
  /// Whether a Kubernetes service-account token is mounted.
  public var serviceAccountToken = false
  /// Who each supervised service runs as (from the running supervisor).
  public var services: [ServiceIdentity] = []
  /// Sources that could not be read, with the reason.
  public var unavailable: [Unavailable] = []

  public init() {}
}

/// A source a probe could not read.
public struct Unavailable: Equatable, Sendable {
  public var source: String
  public var reason: String
  public init(source: String, reason: String) {
    self.source = source
    self.reason = reason
  }
}

/// The fields of `/proc/self/status` that describe privilege.
public struct ProcessStatus: Equatable, Sendable {
  /// Real, effective, saved and file-system ids.
  public var uids: [UInt32] = []
  public var gids: [UInt32] = []
  public var groups: [UInt32] = []
  public var inheritable: UInt64 = 0
  public var permitted: UInt64 = 0
  public var effective: UInt64 = 0
  public var bounding: UInt64 = 0
  public var ambient: UInt64 = 0
  public var noNewPrivileges: Bool?
  /// 0 disabled, 1 strict, 2 filter.
  public var seccomp: Int?

  public init() {}

  public var effectiveUID: UInt32? { uids.count > 1 ? uids[1] : nil }
  public var effectiveGID: UInt32? { gids.count > 1 ? gids[1] : nil }

  /// Parses the text of `/proc/PID/status`; nil when it has no `Uid:` line.
  public init?(parsing text: String) {
    var sawUID = false
    for line in text.split(separator: "\n") {
      guard let colon = line.firstIndex(of: ":") else { continue }
      let key = line[..<colon]
      let value = line[line.index(after: colon)...].split(whereSeparator: { $0 == " " || $0 == "\t" })
      func ids() -> [UInt32] { value.compactMap { UInt32($0) } }
      func mask() -> UInt64 { value.first.flatMap { UInt64($0, radix: 16) } ?? 0 }
      switch key {
      case "Uid":
        uids = ids()
        sawUID = true
      case "Gid": gids = ids()
      case "Groups": groups = ids()
      case "CapInh": inheritable = mask()
      case "CapPrm": permitted = mask()
      case "CapEff": effective = mask()
      case "CapBnd": bounding = mask()
      case "CapAmb": ambient = mask()
      case "NoNewPrivs": noNewPrivileges = value.first.map { $0 != "0" }
      case "Seccomp": seccomp = value.first.flatMap { Int($0) }
      default: break
      }
    }
    guard sawUID else { return nil }
  }
}

/// One line of `/proc/PID/uid_map`: ids `inside..<inside+count` are `outside..` in the parent
/// namespace.
public struct IDMapRange: Equatable, Sendable {
  public var inside: UInt32
  public var outside: UInt32
  public var count: UInt32
  public init(inside: UInt32, outside: UInt32, count: UInt32) {
    self.inside = inside
    self.outside = outside
    self.count = count
  }

  /// The text of a uid_map or gid_map; malformed lines are skipped.
  public static func parse(_ text: String) -> [IDMapRange] {
    text.split(separator: "\n").compactMap { line in
      let fields = line.split(separator: " ", omittingEmptySubsequences: true)
      guard fields.count == 3, let a = UInt32(fields[0]), let b = UInt32(fields[1]), let c = UInt32(fields[2]) else { return nil }
      return IDMapRange(inside: a, outside: b, count: c)
    }
  }

  /// The initial namespace's identity map `0 0 4294967295`.
  public static func isIdentity(_ map: [IDMapRange]) -> Bool {
    map.count == 1 && map[0].inside == 0 && map[0].outside == 0 && map[0].count == UInt32.max
  }

  /// Where `id` maps to outside, or nil when it is not mapped.
  public static func outside(_ id: UInt32, in map: [IDMapRange]) -> UInt32? {
    for range in map where id >= range.inside && UInt64(id) < UInt64(range.inside) + UInt64(range.count) {
      return range.outside &+ (id - range.inside)
    }
    return nil
  }

  public var description: String { "\(inside) \(outside) \(count)" }
}

/// A system call tried with harmless arguments: blocked when it failed with EPERM, EACCES or
/// ENOSYS (what seccomp filters return), allowed otherwise.
public struct SyscallProbe: Equatable, Sendable {
  public var name: String
  public var blocked: Bool
  public var errno: Int32
  public init(name: String, blocked: Bool, errno: Int32) {
    self.name = name
    self.blocked = blocked
    self.errno = errno
  }
}

/// A device node under /dev.
public struct DeviceNode: Equatable, Sendable {
  public var path: String
  public var isBlock: Bool
  public init(path: String, isBlock: Bool) {
    self.path = path
    self.isBlock = isBlock
  }

  /// What a default container's /dev holds (Docker, runc, Kubernetes): anything else was added.
  public static let defaults: Set<String> = [
    "null", "zero", "full", "random", "urandom", "tty", "console", "ptmx", "pts", "shm", "mqueue", "fd", "stdin",
    "stdout", "stderr", "core",
  ]
}

/// One line of `/proc/self/mountinfo`.
public struct Mount: Equatable, Sendable {
  public var mountPoint: String
  public var fileSystem: String
  public var source: String
  /// Per-mount options (`rw,nosuid,nodev,noexec,relatime`).
  public var options: [String]
  /// Per-superblock options.
  public var superOptions: [String]

  public init(mountPoint: String, fileSystem: String, source: String = "", options: [String], superOptions: [String] = []) {
    self.mountPoint = mountPoint
    self.fileSystem = fileSystem
    self.source = source
    self.options = options
    self.superOptions = superOptions
  }

  public var isReadOnly: Bool { options.contains("ro") || superOptions.contains("ro") }
  public func has(_ option: String) -> Bool { options.contains(option) }

  /// The text of `/proc/PID/mountinfo`; malformed lines are skipped.
  public static func parse(_ text: String) -> [Mount] {
    text.split(separator: "\n").compactMap { line in
      let fields = line.split(separator: " ", omittingEmptySubsequences: true)
      guard let dash = fields.firstIndex(of: "-"), dash >= 6, fields.count >= dash + 3 else { return nil }
      return Mount(
        mountPoint: unescape(fields[4]), fileSystem: String(fields[dash + 1]), source: unescape(fields[dash + 2]),
        options: fields[5].split(separator: ",").map(String.init),
        superOptions: fields.count > dash + 3 ? fields[dash + 3].split(separator: ",").map(String.init) : [])
    }
  }

  /// mountinfo writes space, tab, newline and backslash as `\040`-style octal escapes.
  static func unescape(_ field: Substring) -> String {
    let bytes = Array(field.utf8)
    var out: [UInt8] = []
    var i = 0
    while i < bytes.count {
      if bytes[i] == 0x5c, i + 4 <= bytes.count {
        let digits = bytes[(i + 1)..<(i + 4)]
        if digits.allSatisfy({ $0 >= 0x30 && $0 <= 0x37 }) {
          let value = digits.reduce(0) { $0 * 8 + Int($1 - 0x30) }
          if value < 256 {
            out.append(UInt8(value))
            i += 4
            continue
          }
        }
      }
      out.append(bytes[i])
      i += 1
    }
    return String(decoding: out, as: UTF8.self)
  }

  /// The mount that `path` is on: the last mount (mounts stack) whose mount point contains it.
  public static func containing(_ path: String, in mounts: [Mount]) -> Mount? {
    mounts.last { mount in
      mount.mountPoint == "/" || path == mount.mountPoint || path.hasPrefix(mount.mountPoint + "/")
    }
  }
}

/// What the bounded walk of the root file system found.
public struct FileScan: Equatable, Sendable {
  public var setuidFiles: [String] = []
  public var worldWritableDirectories: [String] = []
  /// The walk stopped at its bound (entries or depth): the lists may be incomplete.
  public var truncated = false
  public var entries = 0
  public init() {}
}

/// cgroup limits of the container: the raw text of each file (`max` = unlimited), nil where the
/// file could not be read.
public struct CgroupLimits: Equatable, Sendable {
  /// 2 for the unified hierarchy, 1 for the legacy controllers.
  public var version: Int
  public var memoryMax: String?
  public var pidsMax: String?
  public var cpuMax: String?
  public init(version: Int, memoryMax: String? = nil, pidsMax: String? = nil, cpuMax: String? = nil) {
    self.version = version
    self.memoryMax = memoryMax
    self.pidsMax = pidsMax
    self.cpuMax = cpuMax
  }

  /// The memory limit in bytes; nil when unlimited or unknown. cgroup v1 reports "no limit" as a
  /// number near 2^63.
  public var memoryBytes: UInt64? {
    guard let text = memoryMax, text != "max", let value = UInt64(text), value < (1 << 62) else { return nil }
    return value
  }
  public var pidsLimit: UInt64? {
    guard let text = pidsMax, text != "max" else { return nil }
    return UInt64(text)
  }
  /// Whether a CPU quota is set (`cpu.max` "QUOTA PERIOD", or v1's `cfs_quota_us` > 0).
  public var hasCPULimit: Bool? {
    guard let text = cpuMax else { return nil }
    let quota = text.split(separator: " ").first.map(String.init) ?? ""
    if quota == "max" || quota == "-1" || quota.isEmpty { return false }
    return Int64(quota).map { $0 > 0 } ?? false
  }
}

/// A supervised service and who its main process runs as.
public struct ServiceIdentity: Equatable, Sendable {
  public var name: String
  public var uid: UInt32
  public var gid: UInt32
  public init(name: String, uid: UInt32, gid: UInt32) {
    self.name = name
    self.uid = uid
    self.gid = gid
  }
}
