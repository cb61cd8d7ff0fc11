/// One finding of `ibex doctor`: a rule, what was observed, on which object.
public struct DoctorFinding: Equatable, Sendable {
  public var rule: RuntimeRule
  public var severity: Severity
  /// What it is about: `process`, `service/web`, `mount:/tmp`, `device:/dev/kmsg`, ...
  public var object: String
  /// What was observed (never a secret's value).
  public var observed: String
  /// What to change; the rule's general advice unless the finding knows better.
  public var fix: String

  public init(_ rule: RuntimeRule, object: String, observed: String, severity: Severity? = nil, fix: String? = nil) {
    self.rule = rule
    self.severity = severity ?? rule.severity
    self.object = object
    self.observed = observed
    self.fix = fix ?? rule.fix
  }
}

/// Facts derived from an observation, shared by the findings and the policy controls.
extension Observation {
  /// Capabilities that give a process power over the host or other containers.
  public static let dangerousCapabilities: UInt64 = ["SYS_ADMIN", "SYS_MODULE", "SYS_RAWIO", "SYS_PTRACE", "SYS_BOOT",
    "SYS_TIME", "NET_ADMIN", "NET_RAW", "DAC_READ_SEARCH", "MAC_ADMIN", "MAC_OVERRIDE", "BPF", "PERFMON", "SYSLOG",
    "CHECKPOINT_RESTORE"].reduce(0) { $0 | (1 << UInt64(Capabilities.number(of: $1)!)) }
  /// Capabilities only a privileged container (or a deliberately unconfined one) holds all of.
  static let fullBoundingSet: UInt64 = ["SYS_ADMIN", "SYS_MODULE", "SYS_RAWIO", "SYS_PTRACE", "SYS_BOOT", "NET_ADMIN",
    "MAC_ADMIN", "DAC_READ_SEARCH"].reduce(0) { $0 | (1 << UInt64(Capabilities.number(of: $1)!)) }

  /// The union of every capability set: what the process has or could get.
  public var anyCapabilities: UInt64? {
    status.map { $0.effective | $0.permitted | $0.bounding | $0.ambient | $0.inheritable }
  }

  /// Whether uid 0 here is uid 0 of the host (no user namespace, or one that maps 0 to 0).
  public var rootIsHostRoot: Bool? {
    guard let uidMap else { return nil }
    return IDMapRange.outside(0, in: uidMap) == 0
  }

  /// Whether the process runs in a user namespace of its own.
  public var inUserNamespace: Bool? { uidMap.map { !IDMapRange.isIdentity($0) } }

  /// The root file system's mount.
  public var rootMount: Mount? { mounts.flatMap { Mount.containing("/", in: $0.filter { $0.mountPoint == "/" }) } }

  /// Kernel interfaces mounted read-write: `/proc/sys`, `/proc/sysrq-trigger`, `/sys`.
  public var writableKernelInterfaces: [String]? {
    guard let mounts else { return nil }
    return ["/proc/sys", "/proc/sysrq-trigger", "/sys"].filter { path in
      guard let mount = Mount.containing(path, in: mounts) else { return false }
      return mount.mountPoint != "/" && !mount.isReadOnly
    }
  }

  /// Writable mounts and the hardening options each lacks.
  public var weakMounts: [(mount: Mount, missing: [String])] {
    guard let mounts else { return [] }
    let scratch: Set<String> = ["/tmp", "/var/tmp", "/run", "/dev/shm", "/run/lock"]
    let runtimeFiles: Set<String> = ["/etc/hosts", "/etc/hostname", "/etc/resolv.conf"]
    let pseudo: Set<String> = ["proc", "sysfs", "cgroup", "cgroup2", "devpts", "mqueue", "devtmpfs", "securityfs",
      "debugfs", "tracefs", "bpf", "pstore", "fusectl", "configfs", "binfmt_misc", "hugetlbfs", "autofs", "nsfs"]
    var result: [(mount: Mount, missing: [String])] = []
    var seen: Set<String> = []
    for mount in mounts.reversed() where !seen.contains(mount.mountPoint) {
      seen.insert(mount.mountPoint)  // only the top of a stack of mounts counts
      if mount.isReadOnly || mount.mountPoint == "/" || mount.mountPoint == "/dev" || pseudo.contains(mount.fileSystem)
        || runtimeFiles.contains(mount.mountPoint) || mount.mountPoint.hasPrefix("/proc/") || mount.mountPoint.hasPrefix("/sys/")
      {
        continue
      }
      let wanted = scratch.contains(mount.mountPoint) ? ["noexec", "nosuid", "nodev"] : ["nosuid", "nodev"]
      let missing = wanted.filter { !mount.has($0) }
      if !missing.isEmpty { result.append((mount, missing)) }
    }
    return result.reversed()
  }

  /// Host namespaces, by the heuristics of docs/doctor.md: `pid` when kernel threads
  /// (kthreadd, PID 2) are visible, `network` when interfaces only a host has are visible.
  public var hostNamespaces: [String] {
    var shared: [String] = []
    if pid2Name == "kthreadd" { shared.append("pid") }
    if let networkInterfaces, networkInterfaces.contains(where: Observation.isHostInterface) { shared.append("network") }
    return shared
  }

  static func isHostInterface(_ name: String) -> Bool {
    name == "docker0" || name == "podman0" || ["veth", "br-", "virbr", "cni", "flannel", "cali", "cilium", "wl", "enp", "ens", "eno"]
      .contains { name.hasPrefix($0) }
  }

  /// Variable names that look like secrets and are not the `_FILE` indirection.
  public var secretLookingNames: [String] {
    environmentNames.filter(Observation.looksSecret).stablySorted(by: String.bytewiseLess)
  }

  /// `*PASSWORD*`, `*PASSWD*`, `*TOKEN*`, `*SECRET*`, `*CREDENTIAL*`, `*_KEY`, `*API_KEY*`,
  /// `*PRIVATE_KEY*`; not `*_FILE` (the path of a secret file) nor ibex's and s6's own settings.
  public static func looksSecret(_ name: String) -> Bool {
    let upper = name.uppercasedASCII
    if upper.hasSuffix("_FILE") || upper.hasPrefix("IBEX_") || upper.hasPrefix("S6_") { return false }
    for word in ["PASSWORD", "PASSWD", "TOKEN", "SECRET", "CREDENTIAL", "API_KEY", "PRIVATE_KEY", "ACCESS_KEY"]
    where upper.hasInfix(word) {
      return true
    }
    return upper.hasSuffix("_KEY") || upper == "KEY"
  }

  /// Whether the LSM label says unconfined (AppArmor `unconfined`, SELinux `unconfined_t`, `spc_t`).
  public var unconfinedLSM: Bool {
    guard let label = securityLabel else { return false }
    return label == "unconfined" || label.hasPrefix("unconfined ") || label.hasInfix(":unconfined_t:") || label.hasInfix(":spc_t:")
  }
}

extension Capabilities {
  /// The names of the capabilities in `mask` (`CAP_NET_RAW`, ...; unknown bits as `cap_N`).
  public static func names(in mask: UInt64) -> [String] {
    (0..<64).compactMap { bit -> String? in
      guard mask & (1 << UInt64(bit)) != 0 else { return nil }
      return bit < names.count ? names[bit] : "cap_\(bit)"
    }
  }

  /// `CAP_A, CAP_B` or `none`.
  public static func list(_ mask: UInt64) -> String {
    mask == 0 ? "none" : names(in: mask).joined(separator: ", ")
  }

  public static func hex(_ mask: UInt64) -> String {
    let digits = String(mask, radix: 16)
    return String(repeating: "0", count: max(0, 16 - digits.count)) + digits
  }
}

/// The findings of `ibex doctor`: a pure function of the observation.
public enum Doctor {
  public static func findings(_ o: Observation) -> [DoctorFinding] {
    var out: [DoctorFinding] = []
    for missing in o.unavailable {
      out.append(DoctorFinding(RuntimeRules.notChecked, object: missing.source, observed: "\(missing.source): \(missing.reason)"))
    }
    identity(o, into: &out)
    privilege(o, into: &out)
    isolation(o, into: &out)
    filesystem(o, into: &out)
    resources(o, into: &out)
    let secrets = o.secretLookingNames
    if !secrets.isEmpty {
      out.append(DoctorFinding(RuntimeRules.secretVariables, object: "environment",
        observed: "secret-looking variables set directly: \(secrets.joined(separator: ", ")) (values not shown)"))
    }
    if o.serviceAccountToken {
      out.append(DoctorFinding(RuntimeRules.serviceAccountToken, object: "file:/var/run/secrets/kubernetes.io/serviceaccount/token",
        observed: "a service-account token is mounted"))
    }
    return out
  }

  static func identity(_ o: Observation, into out: inout [DoctorFinding]) {
    guard let status = o.status, let uid = status.effectiveUID else { return }
    let userns = o.inUserNamespace ?? false
    let mapped = o.uidMap.flatMap { IDMapRange.outside(0, in: $0) }
    if uid == 0 {
      if userns, let mapped, mapped != 0 {
        out.append(DoctorFinding(RuntimeRules.root, object: "process",
          observed: "uid 0 in a user namespace (uid 0 is host uid \(mapped); uid_map: \(o.uidMap!.map { $0.description }.joined(separator: "; ")))",
          severity: .medium))
      } else {
        out.append(DoctorFinding(RuntimeRules.root, object: "process", observed: "uid 0, the host's root (no user namespace)"))
      }
    }
    let gid = status.effectiveGID ?? 0
    if gid == 0 || status.groups.contains(0) {
      out.append(DoctorFinding(RuntimeRules.rootGroup, object: "process",
        observed: "gid \(gid), groups \(status.groups.isEmpty ? "none" : status.groups.map { "\($0)" }.joined(separator: " "))",
        severity: uid == 0 ? .low : .medium))
    }
    for service in o.services where service.uid == 0 {
      let severity: Severity = (o.rootIsHostRoot ?? true) ? .high : .medium
      out.append(DoctorFinding(RuntimeRules.root, object: "service/\(service.name)",
        observed: "service \(service.name) runs as uid 0 (gid \(service.gid))", severity: severity,
        fix: "give the service a User= (and CapabilityBoundingSet= for what it needs) in its service file"))
    }
  }

  static func privilege(_ o: Observation, into out: inout [DoctorFinding]) {
    guard let status = o.status else { return }
    if status.effective != 0 {
      let dangerous = status.effective & Observation.dangerousCapabilities
      out.append(DoctorFinding(RuntimeRules.effectiveCapabilities, object: "process",
        observed: "CapEff \(Capabilities.hex(status.effective)): \(Capabilities.list(status.effective))"
          + (dangerous != 0 ? " (dangerous: \(Capabilities.list(dangerous)))" : ""),
        severity: dangerous != 0 ? .high : .medium))
    }
    let regainable = status.bounding | status.permitted | status.ambient | status.inheritable
    if regainable & ~status.effective != 0, status.noNewPrivileges == false {
      out.append(DoctorFinding(RuntimeRules.regainableCapabilities, object: "process",
        observed: "no-new-privileges is off and the bounding set holds \(Capabilities.list(status.bounding)) (CapBnd \(Capabilities.hex(status.bounding)))"))
    }
    if status.bounding & Observation.fullBoundingSet == Observation.fullBoundingSet {
      out.append(DoctorFinding(RuntimeRules.privileged, object: "process",
        observed: "the bounding set holds SYS_ADMIN, SYS_MODULE, SYS_RAWIO, SYS_PTRACE, SYS_BOOT, NET_ADMIN, MAC_ADMIN and DAC_READ_SEARCH (CapBnd \(Capabilities.hex(status.bounding))): a privileged container's"))
    }
    if status.noNewPrivileges == false {
      out.append(DoctorFinding(RuntimeRules.noNewPrivileges, object: "process", observed: "NoNewPrivs: 0"))
    }
    switch status.seccomp {
    case 0?:
      out.append(DoctorFinding(RuntimeRules.seccomp, object: "process", observed: "Seccomp: 0 (no filter)"))
    case 2?:
      let allowed = o.syscallProbes.filter { !$0.blocked && ($0.name == "unshare" || $0.name == "keyctl") }
      if !allowed.isEmpty {
        out.append(DoctorFinding(RuntimeRules.seccompGaps, object: "process",
          observed: "the seccomp filter allows \(allowed.map { $0.name }.joined(separator: " and "))"))
      }
    default: break
    }
    if o.unconfinedLSM, let label = o.securityLabel {
      out.append(DoctorFinding(RuntimeRules.unconfined, object: "process", observed: "LSM label \(label)"))
    }
  }

  static func isolation(_ o: Observation, into out: inout [DoctorFinding]) {
    for namespace in o.hostNamespaces {
      let observed = namespace == "pid"
        ? "kernel threads are visible (PID 2 is kthreadd): the host's PID namespace (heuristic)"
        : "host interfaces are visible (\((o.networkInterfaces ?? []).filter(Observation.isHostInterface).joined(separator: ", "))): the host's network namespace (heuristic)"
      out.append(DoctorFinding(RuntimeRules.hostNamespaces, object: "namespace/\(namespace)", observed: observed))
    }
    if o.inUserNamespace == false {
      out.append(DoctorFinding(RuntimeRules.hostNamespaces, object: "namespace/user",
        observed: "uid_map is 0 0 4294967295: no user namespace (uid 0 would be the host's root)", severity: .info))
    }
    if !o.devices.isEmpty {
      // The tell-tale ones first: kernel memory and log, then block devices, then the rest.
      let telling: Set<String> = ["/dev/mem", "/dev/kmem", "/dev/port", "/dev/kmsg"]
      let ordered = o.devices.filter { telling.contains($0.path) } + o.devices.filter { !telling.contains($0.path) && $0.isBlock }
        + o.devices.filter { !telling.contains($0.path) && !$0.isBlock }
      out.append(DoctorFinding(RuntimeRules.devices, object: "devices",
        observed: "\(o.devices.count) device(s) a default container lacks: \(sample(ordered.map { $0.path }))"))
    }
    for socket in o.runtimeSockets {
      out.append(DoctorFinding(RuntimeRules.runtimeSocket, object: "file:\(socket)", observed: "\(socket) is present"))
    }
    for path in o.writableKernelInterfaces ?? [] {
      out.append(DoctorFinding(RuntimeRules.mountFlags, object: "mount:\(path)", observed: "\(path) is mounted read-write", severity: .high))
    }
  }

  static func filesystem(_ o: Observation, into out: inout [DoctorFinding]) {
    if let root = o.rootMount, !root.isReadOnly {
      out.append(DoctorFinding(RuntimeRules.writableRoot, object: "mount:/", observed: "/ is mounted read-write (\(root.fileSystem), \(root.options.joined(separator: ",")))"))
    }
    for (mount, missing) in o.weakMounts {
      out.append(DoctorFinding(RuntimeRules.mountFlags, object: "mount:\(mount.mountPoint)",
        observed: "\(mount.mountPoint) (\(mount.fileSystem)) is writable without \(missing.joined(separator: ", ")): \(mount.options.joined(separator: ","))"))
    }
    if let scan = o.fileScan {
      let suffix = scan.truncated ? " (the walk stopped at its bound: there may be more)" : ""
      if !scan.setuidFiles.isEmpty {
        let harmless = o.status?.noNewPrivileges == true
        out.append(DoctorFinding(RuntimeRules.setuid, object: "files",
          observed: "\(scan.setuidFiles.count) setuid/setgid file(s): \(sample(scan.setuidFiles))\(suffix)"
            + (harmless ? "; no-new-privileges is on, so they cannot raise privileges" : ""),
          severity: harmless ? .info : .medium))
      }
      if !scan.worldWritableDirectories.isEmpty {
        out.append(DoctorFinding(RuntimeRules.worldWritable, object: "files",
          observed: "\(scan.worldWritableDirectories.count) world-writable director(ies) without the sticky bit: \(sample(scan.worldWritableDirectories))\(suffix)"))
      }
    }
  }

  static func resources(_ o: Observation, into out: inout [DoctorFinding]) {
    guard let cgroup = o.cgroup else { return }
    let v = "cgroup v\(cgroup.version)"
    if cgroup.memoryMax != nil, cgroup.memoryBytes == nil {
      out.append(DoctorFinding(RuntimeRules.memoryLimit, object: "cgroup", observed: "no memory limit (\(v) memory: \(cgroup.memoryMax!))"))
    }
    if cgroup.pidsMax != nil, cgroup.pidsLimit == nil {
      out.append(DoctorFinding(RuntimeRules.pidsLimit, object: "cgroup", observed: "no pids limit (\(v) pids.max: \(cgroup.pidsMax!))"))
    }
    if cgroup.hasCPULimit == false {
      out.append(DoctorFinding(RuntimeRules.cpuLimit, object: "cgroup", observed: "no CPU limit (\(v) cpu: \(cgroup.cpuMax!))"))
    }
  }

  /// The first few paths, and how many more.
  static func sample(_ paths: [String]) -> String {
    let shown = paths.prefix(5).joined(separator: ", ")
    return paths.count > 5 ? shown + " and \(paths.count - 5) more" : shown
  }
}
