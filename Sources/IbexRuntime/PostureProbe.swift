import CIbex
import IbexCore

/// The probes of `ibex doctor` and the boot-time policy: they read /proc, /sys and /dev (and,
/// when asked, walk the root file system) and return one `Observation`. Nothing here changes
/// state: the system-call probes use arguments that do nothing (CIbex/probe.c). Judging the
/// observation is IbexCore's job (`Doctor`, `Policy`).
public enum PostureProbe {
  /// What to look at. The file-system walk is the only probe whose cost grows with the image.
  public struct Options: Sendable {
    public var scanFiles = true
    /// Bounds of the walk.
    public var maximumEntries = 50_000
    public var maximumDepth = 16
    /// The environment to judge (names only are kept).
    public var environment: [String] = []
    /// Where /proc, /sys, /dev and the root are (tests point these at a fake tree).
    public var root = ""
    public init() {}
  }

  /// Paths where a container runtime's API socket lives.
  public static let runtimeSocketPaths = [
    "/run/docker.sock", "/var/run/docker.sock", "/run/containerd/containerd.sock", "/var/run/containerd/containerd.sock",
    "/run/crio/crio.sock", "/var/run/crio/crio.sock", "/run/podman/podman.sock", "/var/run/podman/podman.sock",
    "/run/buildkit/buildkitd.sock", "/run/k3s/containerd/containerd.sock", "/var/run/cri-dockerd.sock",
  ]

  public static func observe(_ options: Options) -> Observation {
    var o = Observation()
    let r = options.root
    var unavailable: [Unavailable] = []
    func read(_ path: String) -> String? {
      do {
        return try FileSystem.readText(r + path)
      } catch {
        unavailable.append(Unavailable(source: path, reason: error.description))
        return nil
      }
    }
    if let text = read("/proc/self/status") {
      o.status = ProcessStatus(parsing: text)
      if o.status == nil { unavailable.append(Unavailable(source: "/proc/self/status", reason: "no Uid line")) }
    }
    o.uidMap = read("/proc/self/uid_map").map(IDMapRange.parse)
    o.gidMap = read("/proc/self/gid_map").map(IDMapRange.parse)
    o.securityLabel = securityLabel(root: r)
    o.syscallProbes = [("unshare", IBEX_PROBE_UNSHARE), ("keyctl", IBEX_PROBE_KEYCTL), ("ptrace", IBEX_PROBE_PTRACE)].map { probe in
      let result = r.isEmpty ? ibex_probe_syscall(Int32(probe.1)) : 0
      let errno = -result
      return SyscallProbe(name: probe.0, blocked: errno == 1 || errno == 13 || errno == 38, errno: errno)
    }
    o.pid1Name = (try? FileSystem.readText(r + "/proc/1/comm")).map(firstLine)
    o.pid2Name = (try? FileSystem.readText(r + "/proc/2/comm")).map(firstLine)
    o.networkInterfaces = try? FileSystem.list(r + "/sys/class/net")
    o.devices = devices(root: r)
    let varRunIsLink = FileSystem.linkInfo(r + "/var/run").map { $0.mode & 0o170000 == 0o120000 } ?? false
    o.runtimeSockets = runtimeSocketPaths.filter { path in
      !(varRunIsLink && path.hasPrefix("/var/run/")) && FileSystem.info(r + path) != nil
    }
    if let text = read("/proc/self/mountinfo") { o.mounts = Mount.parse(text) }
    if options.scanFiles {
      let skip = Set((o.mounts ?? []).map { $0.mountPoint }.filter { $0 != "/" })
      o.fileScan = scan(root: r, skipping: skip, options: options)
    }
    o.cgroup = cgroupLimits(root: r)
    if o.cgroup == nil { unavailable.append(Unavailable(source: "/sys/fs/cgroup", reason: "no cgroup limit files found")) }
    o.environmentNames = options.environment.map { entry in
      entry.firstIndex(of: "=").map { String(entry[..<$0]) } ?? entry
    }
    o.serviceAccountToken = ["/var/run/secrets/kubernetes.io/serviceaccount/token", "/run/secrets/kubernetes.io/serviceaccount/token"]
      .contains { FileSystem.info(r + $0) != nil }
    o.unavailable = unavailable
    return o
  }

  static func firstLine(_ text: String) -> String {
    String(text.split(separator: "\n", omittingEmptySubsequences: false).first ?? "")
  }

  /// AppArmor's label (`/proc/self/attr/apparmor/current`, Linux 5.8+) or the LSM's
  /// (`/proc/self/attr/current`); nil when no LSM answers.
  static func securityLabel(root: String) -> String? {
    for path in ["/proc/self/attr/apparmor/current", "/proc/self/attr/current"] {
      guard let bytes = try? FileSystem.read(root + path, limit: 4096) else { continue }
      let label = String(decoding: bytes.prefix { $0 != 0 && $0 != 0x0a }, as: UTF8.self)
      if !label.isEmpty { return label }
    }
    return nil
  }

  /// Character and block devices directly under /dev that a default container lacks.
  static func devices(root: String) -> [DeviceNode] {
    guard let names = try? FileSystem.list(root + "/dev") else { return [] }
    return names.compactMap { name -> DeviceNode? in
      guard !DeviceNode.defaults.contains(name), let info = FileSystem.linkInfo(root + "/dev/" + name) else { return nil }
      let type = info.mode & 0o170000
      guard type == 0o020000 || type == 0o060000 else { return nil }
      return DeviceNode(path: "/dev/" + name, isBlock: type == 0o060000)
    }
  }

  /// Walks the root file system (not other mounts) for setuid/setgid files and world-writable
  /// directories without the sticky bit, within the bounds of `options`.
  static func scan(root: String, skipping mountPoints: Set<String>, options: Options) -> FileScan {
    var result = FileScan()
    var pending: [(path: String, depth: Int)] = [("/", 0)]
    while let (directory, depth) = pending.popLast() {
      guard let names = try? FileSystem.list(root + directory) else { continue }
      for name in names {
        result.entries += 1
        if result.entries > options.maximumEntries {
          result.truncated = true
          return result
        }
        let path = directory == "/" ? "/" + name : directory + "/" + name
        guard let info = FileSystem.linkInfo(root + path) else { continue }
        let type = info.mode & 0o170000
        if type == 0o100000, info.mode & 0o6000 != 0 {
          result.setuidFiles.append(path)
        } else if type == 0o040000 {
          if info.mode & 0o002 != 0, info.mode & 0o1000 == 0 { result.worldWritableDirectories.append(path) }
          if mountPoints.contains(path) { continue }
          if depth + 1 >= options.maximumDepth {
            result.truncated = true
          } else {
            pending.append((path, depth + 1))
          }
        }
      }
    }
    result.setuidFiles = result.setuidFiles.stablySorted(by: String.bytewiseLess)
    result.worldWritableDirectories = result.worldWritableDirectories.stablySorted(by: String.bytewiseLess)
    return result
  }

  /// The container's memory, pids and CPU limits: cgroup v2's `memory.max`, `pids.max`,
  /// `cpu.max`, or v1's `memory.limit_in_bytes`, `pids.max`, `cpu.cfs_quota_us`. The
  /// container's own cgroup is /sys/fs/cgroup itself with a cgroup namespace, or the path of
  /// /proc/self/cgroup below it without one.
  static func cgroupLimits(root: String) -> CgroupLimits? {
    let base = root + "/sys/fs/cgroup"
    let lines = ((try? FileSystem.readText(root + "/proc/self/cgroup")) ?? "").split(separator: "\n")
    func value(_ candidates: [String]) -> String? {
      for path in candidates {
        if let text = try? FileSystem.readText(path) { return firstLine(text) }
      }
      return nil
    }
    func path(of controller: String) -> String {
      for line in lines {
        let fields = line.split(separator: ":", maxSplits: 2, omittingEmptySubsequences: false)
        guard fields.count == 3 else { continue }
        if fields[1].split(separator: ",").contains(Substring(controller)) || (controller.isEmpty && fields[0] == "0") {
          return fields[2] == "/" ? "" : String(fields[2])
        }
      }
      return ""
    }
    if FileSystem.info(base + "/cgroup.controllers") != nil {
      let own = path(of: "")
      func candidates(_ file: String) -> [String] { own.isEmpty ? [base + "/" + file] : [base + own + "/" + file, base + "/" + file] }
      let limits = CgroupLimits(version: 2, memoryMax: value(candidates("memory.max")), pidsMax: value(candidates("pids.max")),
        cpuMax: value(candidates("cpu.max")))
      return limits.memoryMax == nil && limits.pidsMax == nil && limits.cpuMax == nil ? nil : limits
    }
    func candidates(_ controller: String, _ file: String) -> [String] {
      let own = path(of: controller == "cpu,cpuacct" ? "cpu" : controller)
      let directory = base + "/" + controller
      return own.isEmpty ? [directory + "/" + file] : [directory + own + "/" + file, directory + "/" + file]
    }
    let limits = CgroupLimits(
      version: 1, memoryMax: value(candidates("memory", "memory.limit_in_bytes")), pidsMax: value(candidates("pids", "pids.max")),
      cpuMax: value(candidates("cpu", "cpu.cfs_quota_us") + candidates("cpu,cpuacct", "cpu.cfs_quota_us")))
    return limits.memoryMax == nil && limits.pidsMax == nil && limits.cpuMax == nil ? nil : limits
  }
}
