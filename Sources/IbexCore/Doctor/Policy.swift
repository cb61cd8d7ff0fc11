/// A posture policy: the controls a container must satisfy (`IBEX_POLICY`, `ibex doctor
/// --policy`). The built-in ones are `baseline` and `restricted` (docs/doctor.md); a policy file
/// selects and parameterises controls (`Policy.parse`).
public struct Policy: Equatable, Sendable {
  /// `baseline`, `restricted`, or the file's path.
  public var name: String
  public var checks: [PolicyCheck]

  public init(name: String, checks: [PolicyCheck]) {
    self.name = name
    self.checks = checks
  }

  /// Whether a control needs the walk of the root file system (the slow probe).
  public var needsFileScan: Bool { checks.contains { $0.control == .noSetuidFiles || $0.control == .noWorldWritable } }

  /// Kubernetes' baseline Pod Security Standard, where it can be observed from inside.
  public static let baseline = Policy(name: "baseline", checks: [
    PolicyCheck(.notPrivileged),
    PolicyCheck(.capabilities, allow: ["AUDIT_WRITE", "CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL", "MKNOD",
      "NET_BIND_SERVICE", "SETFCAP", "SETGID", "SETPCAP", "SETUID", "SYS_CHROOT"]),
    PolicyCheck(.hostNamespaces), PolicyCheck(.noHostDevices), PolicyCheck(.kernelReadOnly), PolicyCheck(.noRuntimeSocket),
  ])

  /// Kubernetes' restricted Pod Security Standard where observable, plus the CIS Docker
  /// Benchmark's run-time items (read-only root, memory and pids limits, no runtime socket).
  public static let restricted = Policy(name: "restricted", checks: [
    PolicyCheck(.nonRoot), PolicyCheck(.capabilities, allow: ["NET_BIND_SERVICE"]), PolicyCheck(.noNewPrivileges),
    PolicyCheck(.seccomp), PolicyCheck(.hostNamespaces), PolicyCheck(.readOnlyRoot), PolicyCheck(.memoryLimit),
    PolicyCheck(.pidsLimit), PolicyCheck(.noRuntimeSocket),
  ])

  public static func named(_ name: String) -> Policy? {
    switch name {
    case "baseline": return baseline
    case "restricted": return restricted
    default: return nil
    }
  }

  /// The violated controls, in the policy's order. A control that cannot be observed counts as
  /// violated (fail closed): the message says so.
  public func violations(_ observation: Observation) -> [PolicyViolation] {
    checks.compactMap { check in
      check.evaluate(observation).map { PolicyViolation(control: check.control, message: $0) }
    }
  }
}

/// A violated control.
public struct PolicyViolation: Equatable, Sendable {
  public var control: PolicyControl
  public var message: String

  /// One line: `read-only-root (CIS 5.13): / is mounted read-write; fix: run with a read-only root ...`.
  public var line: String { "\(control.rawValue) (\(control.rule.control)): \(message); fix: \(control.rule.fix)" }
}

/// What a policy can require.
public enum PolicyControl: String, CaseIterable, Sendable {
  case nonRoot = "non-root"
  case capabilities
  case noNewPrivileges = "no-new-privileges"
  case seccomp
  case hostNamespaces = "host-namespaces"
  case readOnlyRoot = "read-only-root"
  case memoryLimit = "memory-limit"
  case pidsLimit = "pids-limit"
  case cpuLimit = "cpu-limit"
  case noRuntimeSocket = "no-runtime-socket"
  case notPrivileged = "not-privileged"
  case noHostDevices = "no-host-devices"
  case kernelReadOnly = "kernel-read-only"
  case mountFlags = "mount-flags"
  case noSetuidFiles = "no-setuid-files"
  case noWorldWritable = "no-world-writable"
  case noSecretVariables = "no-secret-variables"
  case lsmConfined = "lsm-confined"

  /// The runtime rule with the same intent (its mapping and advice).
  public var rule: RuntimeRule {
    switch self {
    case .nonRoot: RuntimeRules.root
    case .capabilities: RuntimeRules.effectiveCapabilities
    case .noNewPrivileges: RuntimeRules.noNewPrivileges
    case .seccomp: RuntimeRules.seccomp
    case .hostNamespaces: RuntimeRules.hostNamespaces
    case .readOnlyRoot: RuntimeRules.writableRoot
    case .memoryLimit: RuntimeRules.memoryLimit
    case .pidsLimit: RuntimeRules.pidsLimit
    case .cpuLimit: RuntimeRules.cpuLimit
    case .noRuntimeSocket: RuntimeRules.runtimeSocket
    case .notPrivileged: RuntimeRules.privileged
    case .noHostDevices: RuntimeRules.devices
    case .kernelReadOnly, .mountFlags: RuntimeRules.mountFlags
    case .noSetuidFiles: RuntimeRules.setuid
    case .noWorldWritable: RuntimeRules.worldWritable
    case .noSecretVariables: RuntimeRules.secretVariables
    case .lsmConfined: RuntimeRules.unconfined
    }
  }

  /// The parameters it takes: `allow` (a list) or `max` (a number or size).
  var parameters: [String] {
    switch self {
    case .capabilities, .noHostDevices, .noSetuidFiles, .noWorldWritable, .noSecretVariables: ["allow"]
    case .memoryLimit, .pidsLimit: ["max"]
    default: []
    }
  }
}

/// One control of a policy, with its parameters.
public struct PolicyCheck: Equatable, Sendable {
  public var control: PolicyControl
  /// `allow=`: capability names (without `CAP_`), device or file paths, variable names.
  public var allow: [String]
  /// `max=`: bytes for memory-limit, a count for pids-limit.
  public var max: UInt64?

  public init(_ control: PolicyControl, allow: [String] = [], max: UInt64? = nil) {
    self.control = control
    self.allow = allow
    self.max = max
  }

  /// nil when satisfied; otherwise what is wrong.
  func evaluate(_ o: Observation) -> String? {
    switch control {
    case .nonRoot:
      guard let uid = o.status?.effectiveUID else { return "could not be checked: /proc/self/status is unreadable" }
      if uid != 0 { return nil }
      guard let uidMap = o.uidMap else { return "runs as uid 0 and /proc/self/uid_map is unreadable" }
      if let host = IDMapRange.outside(0, in: uidMap), host != 0 { return nil }
      return "runs as uid 0 without a user namespace"
    case .capabilities:
      guard let any = o.anyCapabilities else { return "could not be checked: /proc/self/status is unreadable" }
      var allowed: UInt64 = 0
      for name in allow { if let bit = Capabilities.number(of: name) { allowed |= 1 << UInt64(bit) } }
      let extra = any & ~allowed
      return extra == 0 ? nil : "capabilities beyond \(allow.isEmpty ? "none" : allow.joined(separator: ", ")): \(Capabilities.list(extra))"
    case .noNewPrivileges:
      switch o.status?.noNewPrivileges {
      case true?: return nil
      case false?: return "NoNewPrivs is 0"
      case nil: return "could not be checked: no NoNewPrivs in /proc/self/status"
      }
    case .seccomp:
      switch o.status?.seccomp {
      case 1?, 2?: return nil
      case 0?: return "no seccomp filter (Seccomp: 0)"
      default: return "could not be checked: no Seccomp in /proc/self/status"
      }
    case .hostNamespaces:
      let shared = o.hostNamespaces
      return shared.isEmpty ? nil : "shares the host's \(shared.joined(separator: " and ")) namespace (heuristic, docs/doctor.md)"
    case .readOnlyRoot:
      guard let root = o.rootMount else { return "could not be checked: / is not in /proc/self/mountinfo" }
      return root.isReadOnly ? nil : "/ is mounted read-write"
    case .memoryLimit:
      guard let cgroup = o.cgroup, let text = cgroup.memoryMax else { return "could not be checked: no cgroup memory limit file" }
      guard let bytes = cgroup.memoryBytes else { return "no memory limit (\(text))" }
      if let max, bytes > max { return "memory limit \(bytes) bytes is above \(max)" }
      return nil
    case .pidsLimit:
      guard let cgroup = o.cgroup, let text = cgroup.pidsMax else { return "could not be checked: no cgroup pids.max" }
      guard let limit = cgroup.pidsLimit else { return "no pids limit (\(text))" }
      if let max, limit > max { return "pids limit \(limit) is above \(max)" }
      return nil
    case .cpuLimit:
      switch o.cgroup?.hasCPULimit {
      case true?: return nil
      case false?: return "no CPU limit (\(o.cgroup?.cpuMax ?? ""))"
      case nil: return "could not be checked: no cgroup CPU limit file"
      }
    case .noRuntimeSocket:
      return o.runtimeSockets.isEmpty ? nil : "runtime socket present: \(o.runtimeSockets.joined(separator: ", "))"
    case .notPrivileged:
      guard let status = o.status else { return "could not be checked: /proc/self/status is unreadable" }
      return status.bounding & Observation.fullBoundingSet == Observation.fullBoundingSet
        ? "the bounding set holds every host-level capability (a privileged container)" : nil
    case .noHostDevices:
      let extra = o.devices.map { $0.path }.filter { !allow.contains($0) }
      return extra.isEmpty ? nil : "host devices present: \(Doctor.sample(extra))"
    case .kernelReadOnly:
      guard let writable = o.writableKernelInterfaces else { return "could not be checked: /proc/self/mountinfo is unreadable" }
      return writable.isEmpty ? nil : "mounted read-write: \(writable.joined(separator: ", "))"
    case .mountFlags:
      guard o.mounts != nil else { return "could not be checked: /proc/self/mountinfo is unreadable" }
      let weak = o.weakMounts
      return weak.isEmpty ? nil : weak.map { "\($0.mount.mountPoint) lacks \($0.missing.joined(separator: ","))" }.joined(separator: "; ")
    case .noSetuidFiles:
      guard let scan = o.fileScan else { return "could not be checked: the file system was not scanned" }
      let extra = scan.setuidFiles.filter { !allow.contains($0) }
      return extra.isEmpty ? nil : "setuid/setgid files: \(Doctor.sample(extra))"
    case .noWorldWritable:
      guard let scan = o.fileScan else { return "could not be checked: the file system was not scanned" }
      let extra = scan.worldWritableDirectories.filter { !allow.contains($0) }
      return extra.isEmpty ? nil : "world-writable directories without the sticky bit: \(Doctor.sample(extra))"
    case .noSecretVariables:
      let extra = o.secretLookingNames.filter { !allow.contains($0) }
      return extra.isEmpty ? nil : "secret-looking variables: \(extra.joined(separator: ", "))"
    case .lsmConfined:
      return o.unconfinedLSM ? "LSM label \(o.securityLabel ?? "")" : nil
    }
  }
}
