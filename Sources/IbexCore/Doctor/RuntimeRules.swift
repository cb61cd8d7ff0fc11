/// A runtime rule of `ibex doctor` (the IBX-RT ids of spec/audit-rules.md section 6).
public struct RuntimeRule: Equatable, Sendable {
  public var id: String
  public var title: String
  public var severity: Severity
  /// The CIS Docker Benchmark v1.6.0 section 5 item(s) and/or Pod Security Standards control.
  public var control: String
  /// What to change, in general terms (a finding may say more).
  public var fix: String

  /// The anchor of the rule in docs/doctor.md.
  public var helpURI: String { "https://github.com/ibex-project/ibex/blob/main/docs/doctor.md#" + id.lowercasedASCII }
}

/// The catalogue of runtime rules, in id order.
public enum RuntimeRules {
  public static let root = RuntimeRule(
    id: "IBX-RT-001", title: "runs as root", severity: .high,
    control: "PSS restricted: Running as Non-root",
    fix: "run as a non-root user (USER 10001:10001, docker --user, runAsNonRoot: true with runAsUser), or in a user namespace (rootless runtime, hostUsers: false)")
  public static let rootGroup = RuntimeRule(
    id: "IBX-RT-002", title: "root or host-sensitive group", severity: .medium,
    control: "PSS restricted: Running as Non-root (runAsGroup)",
    fix: "run with a non-zero group and no supplementary root, disk, docker, shadow or wheel group (docker --user UID:GID, runAsGroup)")
  public static let effectiveCapabilities = RuntimeRule(
    id: "IBX-RT-003", title: "capabilities in effect", severity: .high,
    control: "CIS 5.4; PSS restricted: Capabilities",
    fix: "drop every capability (docker --cap-drop ALL, capabilities.drop: [ALL]) and add back only NET_BIND_SERVICE if a port below 1024 is needed; give services CapabilityBoundingSet=")
  public static let regainableCapabilities = RuntimeRule(
    id: "IBX-RT-004", title: "capabilities can be regained", severity: .medium,
    control: "CIS 5.4; PSS restricted: Capabilities",
    fix: "drop the bounding set (docker --cap-drop ALL) or set no-new-privileges so that setuid and file-capability programs cannot raise privileges")
  public static let noNewPrivileges = RuntimeRule(
    id: "IBX-RT-005", title: "no-new-privileges is off", severity: .high,
    control: "CIS 5.26; PSS restricted: Privilege Escalation",
    fix: "docker --security-opt no-new-privileges, allowPrivilegeEscalation: false, OCI process.noNewPrivileges: true")
  public static let seccomp = RuntimeRule(
    id: "IBX-RT-006", title: "no seccomp filter", severity: .high,
    control: "CIS 5.22; PSS restricted: Seccomp",
    fix: "keep the runtime's default seccomp profile (never seccomp=unconfined); in Kubernetes set seccompProfile.type: RuntimeDefault")
  public static let writableRoot = RuntimeRule(
    id: "IBX-RT-007", title: "root file system is writable", severity: .medium,
    control: "CIS 5.13",
    fix: "run with a read-only root (docker --read-only, readOnlyRootFilesystem: true) and tmpfs or volumes where the app writes")
  public static let mountFlags = RuntimeRule(
    id: "IBX-RT-008", title: "writable mount without noexec/nosuid/nodev, or kernel interface writable", severity: .medium,
    control: "CIS 5.6; PSS baseline: /proc Mount Type",
    fix: "mount tmpfs and volumes with noexec,nosuid,nodev (docker --tmpfs /tmp:noexec,nosuid,nodev); never mount /proc/sys or /sys read-write (no --privileged, procMount: Default)")
  public static let worldWritable = RuntimeRule(
    id: "IBX-RT-009", title: "world-writable directory without the sticky bit", severity: .medium,
    control: "CIS 4.8 (image hygiene; no section 5 item)",
    fix: "chmod o-w the directory in the image, or chmod +t if every user must write there")
  public static let setuid = RuntimeRule(
    id: "IBX-RT-010", title: "setuid or setgid files", severity: .medium,
    control: "CIS 4.8; PSS restricted: Privilege Escalation",
    fix: "strip the bits in the image (find / -xdev -perm /6000 -type f -exec chmod a-s {} +) and set no-new-privileges")
  public static let secretVariables = RuntimeRule(
    id: "IBX-RT-011", title: "secret-looking environment variables", severity: .high,
    control: "CIS 4.10",
    fix: "pass secrets as files (docker secrets, Kubernetes secret volumes) and point NAME_FILE at them; ibex reads *_FILE variables at boot")
  public static let runtimeSocket = RuntimeRule(
    id: "IBX-RT-012", title: "container-runtime socket mounted", severity: .critical,
    control: "CIS 5.32",
    fix: "do not mount docker.sock, containerd.sock, crio.sock or podman.sock into the container: whoever reaches it is root on the host")
  public static let hostNamespaces = RuntimeRule(
    id: "IBX-RT-013", title: "host namespace shared (heuristic)", severity: .medium,
    control: "CIS 5.10, 5.16, 5.31; PSS baseline: Host Namespaces",
    fix: "do not use --pid=host, --network=host (hostPID, hostNetwork); run in a user namespace (userns-remap, rootless runtime, hostUsers: false)")
  public static let memoryLimit = RuntimeRule(
    id: "IBX-RT-014", title: "no memory limit", severity: .medium,
    control: "CIS 5.11",
    fix: "set a memory limit (docker --memory, resources.limits.memory)")
  public static let pidsLimit = RuntimeRule(
    id: "IBX-RT-015", title: "no pids limit", severity: .medium,
    control: "CIS 5.29",
    fix: "set a pids limit (docker --pids-limit, the kubelet's podPidsLimit)")
  public static let cpuLimit = RuntimeRule(
    id: "IBX-RT-016", title: "no CPU limit", severity: .low,
    control: "CIS 5.12",
    fix: "set a CPU limit (docker --cpus, resources.limits.cpu)")
  public static let unconfined = RuntimeRule(
    id: "IBX-RT-017", title: "LSM unconfined", severity: .low,
    control: "CIS 5.2, 5.3; PSS baseline: AppArmor, SELinux",
    fix: "keep the runtime's AppArmor profile (docker-default, RuntimeDefault) or SELinux type container_t; never apparmor=unconfined or label=disable")
  public static let serviceAccountToken = RuntimeRule(
    id: "IBX-RT-018", title: "Kubernetes service-account token mounted", severity: .low,
    control: "PSS: none (automountServiceAccountToken)",
    fix: "set automountServiceAccountToken: false unless the app calls the Kubernetes API")
  public static let privileged = RuntimeRule(
    id: "IBX-RT-021", title: "privileged container", severity: .critical,
    control: "CIS 5.5; PSS baseline: Privileged Containers",
    fix: "do not run --privileged (privileged: true): drop capabilities and add devices one by one if needed")
  public static let devices = RuntimeRule(
    id: "IBX-RT-022", title: "host devices present", severity: .high,
    control: "CIS 5.18; PSS baseline: Privileged Containers",
    fix: "do not pass host devices (docker --device, hostPath /dev/...); /dev/mem, /dev/kmsg and block devices give access to the host")
  public static let seccompGaps = RuntimeRule(
    id: "IBX-RT-023", title: "seccomp filter lets tell-tale system calls through", severity: .low,
    control: "CIS 5.22; PSS restricted: Seccomp",
    fix: "use the runtime's default profile, which blocks unshare and keyctl for unprivileged containers, or a stricter one")
  public static let notChecked = RuntimeRule(
    id: "IBX-META-005", title: "a check could not run", severity: .info,
    control: "none",
    fix: "run doctor where /proc and /sys are mounted (the container's own namespaces); the check is skipped, not passed")

  public static let all: [RuntimeRule] = [
    root, rootGroup, effectiveCapabilities, regainableCapabilities, noNewPrivileges, seccomp, writableRoot, mountFlags,
    worldWritable, setuid, secretVariables, runtimeSocket, hostNamespaces, memoryLimit, pidsLimit, cpuLimit, unconfined,
    serviceAccountToken, privileged, devices, seccompGaps, notChecked,
  ]
}
