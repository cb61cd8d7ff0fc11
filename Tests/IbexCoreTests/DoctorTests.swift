import IbexCore
import Testing

/// A hardened container as the rootless image runs in Kubernetes' restricted profile: nothing
/// the doctor or the restricted policy should object to.
func hardenedObservation() -> Observation {
  var o = Observation()
  var status = ProcessStatus()
  status.uids = [10001, 10001, 10001, 10001]
  status.gids = [10001, 10001, 10001, 10001]
  status.noNewPrivileges = true
  status.seccomp = 2
  o.status = status
  o.uidMap = IDMapRange.parse("         0          0 4294967295\n")
  o.gidMap = o.uidMap
  o.syscallProbes = [SyscallProbe(name: "unshare", blocked: true, errno: 1), SyscallProbe(name: "keyctl", blocked: true, errno: 1)]
  o.securityLabel = "docker-default (enforce)"
  o.pid1Name = "init"
  o.pid2Name = nil
  o.networkInterfaces = ["eth0", "lo"]
  o.mounts = Mount.parse("""
    600 500 0:50 / / ro,relatime - overlay overlay ro,lowerdir=/l
    601 600 0:51 / /proc rw,nosuid,nodev,noexec,relatime - proc proc rw
    602 601 0:51 /sys /proc/sys ro,nosuid,nodev,noexec,relatime - proc proc rw
    603 600 0:52 / /sys ro,nosuid,nodev,noexec,relatime - sysfs sysfs ro
    604 600 0:53 / /dev rw,nosuid - tmpfs tmpfs rw,mode=755
    605 604 0:54 / /dev/shm rw,nosuid,nodev,noexec,relatime - tmpfs shm rw,size=65536k
    606 600 0:55 / /tmp rw,nosuid,nodev,noexec,relatime - tmpfs tmpfs rw,mode=1777
    607 600 0:56 / /run rw,nosuid,nodev,noexec,relatime - tmpfs tmpfs rw,mode=1777
    608 600 254:1 /docker/containers/x/hosts /etc/hosts rw,relatime - ext4 /dev/vda1 rw
    609 601 0:51 /sysrq-trigger /proc/sysrq-trigger ro,nosuid,nodev,noexec,relatime - proc proc rw
    """)
  var scan = FileScan()
  scan.entries = 400
  o.fileScan = scan
  o.cgroup = CgroupLimits(version: 2, memoryMax: "134217728", pidsMax: "256", cpuMax: "50000 100000")
  o.environmentNames = ["PATH", "HOME", "DB_PASSWORD_FILE", "IBEX_POLICY"]
  return o
}

@Suite("ibex doctor: findings from hand-made observations")
struct DoctorFindingTests {
  func ids(_ o: Observation) -> [String] { Doctor.findings(o).map { $0.rule.id } }
  func finding(_ o: Observation, _ id: String) -> DoctorFinding? { Doctor.findings(o).first { $0.rule.id == id } }

  @Test("a hardened container has no findings but the informational no-user-namespace note")
  func clean() {
    let findings = Doctor.findings(hardenedObservation())
    #expect(findings.map { $0.rule.id } == ["IBX-RT-013"])
    #expect(findings.first?.severity == .info)
    #expect(findings.first?.object == "namespace/user")
  }

  @Test("root: high as the host's root, medium in a user namespace that maps 0 elsewhere")
  func root() {
    var o = hardenedObservation()
    o.status!.uids = [0, 0, 0, 0]
    #expect(finding(o, "IBX-RT-001")?.severity == .high)
    o.uidMap = IDMapRange.parse("0 100000 65536")
    #expect(finding(o, "IBX-RT-001")?.severity == .medium)
    #expect(finding(o, "IBX-RT-001")?.observed.contains("host uid 100000") == true)
    // In a user namespace there is no informational note about its absence.
    #expect(!Doctor.findings(o).contains { $0.object == "namespace/user" })
  }

  @Test("services running as root are reported one by one, with what to change in the service file")
  func serviceIdentity() {
    var o = hardenedObservation()
    o.services = [ServiceIdentity(name: "web", uid: 0, gid: 0), ServiceIdentity(name: "db", uid: 70, gid: 70)]
    let roots = Doctor.findings(o).filter { $0.rule.id == "IBX-RT-001" }
    #expect(roots.map { $0.object } == ["service/web"])
    #expect(roots.first?.fix.contains("User=") == true)
  }

  @Test("capabilities: decoded by name, high with a dangerous one, medium otherwise; the bounding set of a privileged container is critical")
  func capabilities() {
    var o = hardenedObservation()
    o.status!.effective = 1 << 10  // NET_BIND_SERVICE
    #expect(finding(o, "IBX-RT-003")?.severity == .medium)
    #expect(finding(o, "IBX-RT-003")?.observed == "CapEff 0000000000000400: CAP_NET_BIND_SERVICE")
    o.status!.effective = 0xa80425fb  // Docker's default set, NET_RAW among them
    #expect(finding(o, "IBX-RT-003")?.severity == .high)
    #expect(finding(o, "IBX-RT-003")?.observed.contains("(dangerous: CAP_NET_RAW)") == true)
    #expect(finding(o, "IBX-RT-021") == nil)
    o.status!.bounding = 0x1ffffffffff
    #expect(finding(o, "IBX-RT-021")?.severity == .critical)
  }

  @Test("capabilities that could be regained are reported only while no-new-privileges is off")
  func regainable() {
    var o = hardenedObservation()
    o.status!.bounding = 0xa80425fb
    #expect(finding(o, "IBX-RT-004") == nil)
    o.status!.noNewPrivileges = false
    #expect(finding(o, "IBX-RT-004") != nil)
    #expect(finding(o, "IBX-RT-005")?.severity == .high)
  }

  @Test("seccomp: no filter is high; a filter that lets unshare through is low")
  func seccomp() {
    var o = hardenedObservation()
    o.syscallProbes[0].blocked = false
    #expect(finding(o, "IBX-RT-023")?.observed == "the seccomp filter allows unshare")
    o.status!.seccomp = 0
    #expect(finding(o, "IBX-RT-006")?.severity == .high)
    #expect(finding(o, "IBX-RT-023") == nil)
  }

  @Test("mounts: a writable root, /tmp without noexec, /sys read-write; Docker's /etc/hosts bind is not noise")
  func mounts() {
    var o = hardenedObservation()
    o.mounts![0].options = ["rw", "relatime"]
    o.mounts![0].superOptions = ["rw"]
    o.mounts![6].options = ["rw", "nosuid", "nodev"]
    o.mounts![3].options = ["rw", "nosuid"]
    o.mounts![3].superOptions = ["rw"]
    let findings = Doctor.findings(o)
    #expect(findings.contains { $0.rule.id == "IBX-RT-007" && $0.object == "mount:/" })
    #expect(findings.contains { $0.rule.id == "IBX-RT-008" && $0.object == "mount:/tmp" && $0.observed.contains("without noexec") })
    #expect(findings.contains { $0.rule.id == "IBX-RT-008" && $0.object == "mount:/sys" && $0.severity == .high })
    #expect(!findings.contains { $0.object == "mount:/etc/hosts" })
  }

  @Test("a mount stacked over another counts as the top one")
  func stackedMounts() {
    var o = hardenedObservation()
    o.mounts!.append(Mount(mountPoint: "/tmp", fileSystem: "tmpfs", options: ["rw"]))
    #expect(Doctor.findings(o).contains { $0.object == "mount:/tmp" })
    o.mounts!.append(Mount(mountPoint: "/tmp", fileSystem: "tmpfs", options: ["ro"]))
    #expect(!Doctor.findings(o).contains { $0.object == "mount:/tmp" })
  }

  @Test("devices, runtime sockets, setuid files, world-writable directories, secrets by name only")
  func isolationAndFiles() {
    var o = hardenedObservation()
    o.devices = [DeviceNode(path: "/dev/sda", isBlock: true), DeviceNode(path: "/dev/kmsg", isBlock: false)]
    o.runtimeSockets = ["/run/docker.sock"]
    o.fileScan!.setuidFiles = ["/bin/su"]
    o.fileScan!.worldWritableDirectories = ["/srv/upload"]
    o.environmentNames += ["API_TOKEN", "AWS_SECRET_ACCESS_KEY", "SSH_KEY", "KEYBOARD"]
    let findings = Doctor.findings(o)
    #expect(findings.first { $0.rule.id == "IBX-RT-022" }?.observed == "2 device(s) a default container lacks: /dev/kmsg, /dev/sda")
    #expect(findings.first { $0.rule.id == "IBX-RT-012" }?.severity == .critical)
    // no-new-privileges is on: setuid files cannot raise privileges, so only informational.
    #expect(findings.first { $0.rule.id == "IBX-RT-010" }?.severity == .info)
    #expect(findings.first { $0.rule.id == "IBX-RT-009" }?.observed.contains("/srv/upload") == true)
    #expect(findings.first { $0.rule.id == "IBX-RT-011" }?.observed
      == "secret-looking variables set directly: API_TOKEN, AWS_SECRET_ACCESS_KEY, SSH_KEY (values not shown)")
  }

  @Test("host namespaces by heuristics: kthreadd visible, host interfaces visible")
  func hostNamespaces() {
    var o = hardenedObservation()
    o.pid2Name = "kthreadd"
    o.networkInterfaces = ["lo", "enp0s3", "docker0"]
    let objects = Doctor.findings(o).filter { $0.rule.id == "IBX-RT-013" }.map { $0.object }
    #expect(objects == ["namespace/pid", "namespace/network", "namespace/user"])
  }

  @Test("cgroup limits: v2 max, v1's huge number and -1 quota mean unlimited")
  func cgroups() {
    var o = hardenedObservation()
    o.cgroup = CgroupLimits(version: 2, memoryMax: "max", pidsMax: "max", cpuMax: "max 100000")
    #expect(Set(ids(o)).isSuperset(of: ["IBX-RT-014", "IBX-RT-015", "IBX-RT-016"]))
    o.cgroup = CgroupLimits(version: 1, memoryMax: "9223372036854771712", pidsMax: "100", cpuMax: "-1")
    #expect(Set(ids(o)).isSuperset(of: ["IBX-RT-014", "IBX-RT-016"]))
    #expect(!ids(o).contains("IBX-RT-015"))
  }

  @Test("an LSM label of unconfined, spc_t or unconfined_t is low")
  func lsm() {
    for label in ["unconfined", "system_u:system_r:spc_t:s0", "unconfined_u:unconfined_r:unconfined_t:s0-s0:c0.c1023"] {
      var o = hardenedObservation()
      o.securityLabel = label
      #expect(finding(o, "IBX-RT-017")?.severity == .low, "\(label)")
    }
  }

  @Test("sources that could not be read are IBX-META-005, and an unreadable status is exit code 3")
  func unavailable() {
    var o = hardenedObservation()
    o.status = nil
    o.unavailable = [Unavailable(source: "/proc/self/status", reason: "No such file or directory")]
    let report = DoctorReport(observation: o, policy: nil, version: "t")
    #expect(report.findings.contains { $0.rule.id == "IBX-META-005" && $0.object == "/proc/self/status" })
    #expect(report.exitCode(failOn: .never) == 3)
  }
}

@Suite("ibex doctor: /proc parsers")
struct ProcParserTests {
  @Test("status: ids, capability masks, no_new_privs and seccomp")
  func status() throws {
    let text = """
      Name:\tibex
      Uid:\t1000\t1001\t1002\t1003
      Gid:\t50\t51\t52\t53
      Groups:\t4 24 27
      CapInh:\t0000000000000000
      CapPrm:\t00000000a80425fb
      CapEff:\t00000000a80425fb
      CapBnd:\t000001ffffffffff
      CapAmb:\t0000000000000400
      NoNewPrivs:\t1
      Seccomp:\t2
      Seccomp_filters:\t1
      """
    let status = try #require(ProcessStatus(parsing: text))
    #expect(status.uids == [1000, 1001, 1002, 1003])
    #expect(status.effectiveUID == 1001)
    #expect(status.effectiveGID == 51)
    #expect(status.groups == [4, 24, 27])
    #expect(status.effective == 0xa80425fb)
    #expect(status.bounding == 0x1ffffffffff)
    #expect(status.ambient == 0x400)
    #expect(status.noNewPrivileges == true)
    #expect(status.seccomp == 2)
    #expect(ProcessStatus(parsing: "Name:\tx\n") == nil)
    #expect(Capabilities.names(in: 0x400) == ["CAP_NET_BIND_SERVICE"])
    #expect(Capabilities.names(in: 1 << 50) == ["cap_50"])
  }

  @Test("mountinfo: fields, optional fields, octal escapes, per-superblock read-only")
  func mountinfo() {
    let mounts = Mount.parse("""
      36 35 98:0 /mnt1 /mnt\\040two rw,noatime master:1 shared:2 - ext3 /dev/root rw,errors=continue
      37 35 0:5 / /data rw,nosuid - ext4 /dev/sdb ro
      garbage line
      """)
    #expect(mounts.count == 2)
    #expect(mounts[0].mountPoint == "/mnt two")
    #expect(mounts[0].fileSystem == "ext3")
    #expect(mounts[0].source == "/dev/root")
    #expect(mounts[0].options == ["rw", "noatime"])
    #expect(!mounts[0].isReadOnly)
    #expect(mounts[1].isReadOnly)
    #expect(Mount.containing("/data/x", in: mounts)?.mountPoint == "/data")
    #expect(Mount.containing("/datax", in: mounts) == nil)
  }

  @Test("uid_map: ranges, the identity map, where an id maps")
  func uidMap() {
    let map = IDMapRange.parse("0 100000 65536\n65536 1000 1\n")
    #expect(IDMapRange.outside(0, in: map) == 100000)
    #expect(IDMapRange.outside(65536, in: map) == 1000)
    #expect(IDMapRange.outside(70000, in: map) == nil)
    #expect(IDMapRange.isIdentity(IDMapRange.parse("0 0 4294967295")))
    #expect(!IDMapRange.isIdentity(map))
  }
}

@Suite("ibex doctor: policies")
struct PolicyTests {
  func controls(_ policy: Policy, _ o: Observation) -> [String] { policy.violations(o).map { $0.control.rawValue } }

  @Test("the hardened container satisfies restricted and baseline")
  func hardenedPasses() {
    #expect(Policy.restricted.violations(hardenedObservation()).isEmpty)
    #expect(Policy.baseline.violations(hardenedObservation()).isEmpty)
  }

  @Test(
    "each single deviation from the hardened container violates exactly its restricted control",
    arguments: [
      ("non-root", { @Sendable (o: inout Observation) in o.status!.uids = [0, 0, 0, 0] }),
      ("capabilities", { @Sendable (o: inout Observation) in o.status!.bounding = 1 << 13 }),
      ("no-new-privileges", { @Sendable (o: inout Observation) in o.status!.noNewPrivileges = false }),
      ("seccomp", { @Sendable (o: inout Observation) in o.status!.seccomp = 0 }),
      ("host-namespaces", { @Sendable (o: inout Observation) in o.pid2Name = "kthreadd" }),
      ("read-only-root", { @Sendable (o: inout Observation) in
        o.mounts![0].options = ["rw"]
        o.mounts![0].superOptions = ["rw"]
      }),
      ("memory-limit", { @Sendable (o: inout Observation) in o.cgroup!.memoryMax = "max" }),
      ("pids-limit", { @Sendable (o: inout Observation) in o.cgroup!.pidsMax = "max" }),
      ("no-runtime-socket", { @Sendable (o: inout Observation) in o.runtimeSockets = ["/var/run/docker.sock"] }),
    ] as [(String, @Sendable (inout Observation) -> Void)])
  func singleDeviation(control: String, change: @Sendable (inout Observation) -> Void) {
    var o = hardenedObservation()
    change(&o)
    #expect(controls(.restricted, o) == [control])
    let line = Policy.restricted.violations(o).first?.line ?? ""
    #expect(line.hasPrefix(control + " ("), "\(line)")
    #expect(line.contains("; fix: "))
  }

  @Test("restricted accepts uid 0 in a user namespace that maps it to an unprivileged host uid, and NET_BIND_SERVICE")
  func userNamespaceAndBindService() {
    var o = hardenedObservation()
    o.status!.uids = [0, 0, 0, 0]
    o.uidMap = IDMapRange.parse("0 100000 65536")
    o.status!.effective = 1 << 10
    o.status!.permitted = 1 << 10
    o.status!.bounding = 1 << 10
    #expect(Policy.restricted.violations(o).isEmpty)
  }

  @Test("what cannot be observed violates the control (fail closed), saying why")
  func failClosed() {
    var o = hardenedObservation()
    o.cgroup = nil
    let violations = Policy.restricted.violations(o)
    #expect(violations.map { $0.control.rawValue } == ["memory-limit", "pids-limit"])
    #expect(violations.first?.message.hasPrefix("could not be checked") == true)
  }

  @Test("baseline allows Docker's default capabilities but NET_RAW, and no host devices")
  func baseline() {
    var o = hardenedObservation()
    o.status!.bounding = 0xa80425fb & ~(1 << 13)
    #expect(Policy.baseline.violations(o).isEmpty)
    o.status!.bounding |= 1 << 13
    o.devices = [DeviceNode(path: "/dev/kmsg", isBlock: false)]
    #expect(controls(.baseline, o) == ["capabilities", "no-host-devices"])
  }

  @Test("a policy file extends a base, parameterises and skips controls")
  func policyFile() throws {
    let policy = try Policy.parse("""
      # payments
      base restricted   # the starting point
      check memory-limit max=64Mi
      check capabilities allow=net_bind_service,CAP_NET_RAW
      check no-setuid-files allow=/bin/ping
      skip read-only-root pids-limit

      """, file: "/etc/ibex/policy")
    #expect(policy.name == "/etc/ibex/policy")
    #expect(policy.checks.map { $0.control.rawValue } == [
      "non-root", "capabilities", "no-new-privileges", "seccomp", "host-namespaces", "memory-limit", "no-runtime-socket",
      "no-setuid-files",
    ])
    #expect(policy.needsFileScan)
    var o = hardenedObservation()
    o.status!.bounding = (1 << 10) | (1 << 13)
    o.mounts![0].options = ["rw"]
    o.mounts![0].superOptions = ["rw"]
    o.fileScan!.setuidFiles = ["/bin/ping", "/bin/su"]
    #expect(policy.violations(o).map { $0.message } == [
      "memory limit 134217728 bytes is above 67108864", "setuid/setgid files: /bin/su",
    ])
  }

  @Test(
    "policy file errors name file:line and say what is wrong",
    arguments: [
      ("base restricted\nbase baseline\n", "p:2: 'base' must be the first directive"),
      ("base strict\n", "p:1: unknown base policy 'strict' (known: baseline, restricted, none)"),
      ("\n\ncheck read-only-rot\n", "p:3: unknown control 'read-only-rot' (known: non-root, capabilities, no-new-privileges, seccomp, host-namespaces, read-only-root, memory-limit, pids-limit, cpu-limit, no-runtime-socket, not-privileged, no-host-devices, kernel-read-only, mount-flags, no-setuid-files, no-world-writable, no-secret-variables, lsm-confined)"),
      ("check memory-limit max=lots\n", "p:1: memory-limit: invalid max 'lots' (expected a size such as 256Mi, 1Gi, 500M or bytes)"),
      ("check pids-limit max=0\n", "p:1: pids-limit: invalid max '0' (expected a positive number)"),
      ("check seccomp allow=x\n", "p:1: seccomp: unknown parameter 'allow' (it takes none)"),
      ("check capabilities allow=SYS_WIZARD\n", "p:1: capabilities: unknown capability 'SYS_WIZARD'"),
      ("check capabilities allow=A allow=B\n", "p:1: capabilities: unknown capability 'A'"),
      ("check pids-limit max=5 max=6\n", "p:1: pids-limit: 'max' given twice"),
      ("check pids-limit 5\n", "p:1: '5': parameters are KEY=VALUE"),
      ("require seccomp\n", "p:1: unknown directive 'require' (known: base, check, skip)"),
      ("skip\n", "p:1: 'skip' needs a control name"),
    ] as [(String, String)])
  func policyFileErrors(text: String, message: String) {
    #expect {
      _ = try Policy.parse(text, file: "p")
    } throws: { error in
      (error as? ConfigError)?.description == message
    }
  }

  @Test("sizes: Kubernetes' suffixes; overflow and junk are refused")
  func sizes() {
    #expect(Policy.parseSize("256Mi") == 256 << 20)
    #expect(Policy.parseSize("1G") == 1_000_000_000)
    #expect(Policy.parseSize("4096") == 4096)
    #expect(Policy.parseSize("99999999999Ti") == nil)
    #expect(Policy.parseSize("12q") == nil)
  }

  @Test("random bytes never crash the policy parser")
  func robustness() {
    var generator = SystemRandomNumberGenerator()
    let alphabet = Array("base restricted check skip memory-limit max=1Mi allow=,#\n\t =x".utf8)
    for _ in 0..<2000 {
      let bytes = (0..<Int.random(in: 0..<80, using: &generator)).map { _ in alphabet.randomElement(using: &generator)! }
      _ = try? Policy.parse(String(decoding: bytes, as: UTF8.self), file: "fuzz")
      _ = Mount.parse(String(decoding: bytes, as: UTF8.self))
      _ = ProcessStatus(parsing: String(decoding: bytes, as: UTF8.self))
    }
  }
}

@Suite("ibex doctor: report formats and exit codes")
struct DoctorReportTests {
  func dirty() -> Observation {
    var o = hardenedObservation()
    o.status!.noNewPrivileges = false
    o.cgroup!.cpuMax = "max 100000"
    o.environmentNames.append("DB_PASSWORD")
    return o
  }

  @Test("exit codes: 1 at or above --fail-on, 0 below it or with never, 1 when a given policy is violated")
  func exitCodes() {
    let report = DoctorReport(observation: dirty(), policy: nil, version: "t")
    #expect(report.exitCode(failOn: .atLeast(.high)) == 1)
    #expect(report.exitCode(failOn: .never) == 0)
    let clean = DoctorReport(observation: hardenedObservation(), policy: nil, version: "t")
    #expect(clean.exitCode(failOn: .atLeast(.info)) == 1)
    #expect(clean.exitCode(failOn: .atLeast(.low)) == 0)
    let withPolicy = DoctorReport(observation: dirty(), policy: .restricted, version: "t")
    #expect(withPolicy.exitCode(failOn: .never) == 1)
  }

  @Test("text: most severe first, the control in brackets, a fix line, the policy verdict, a summary; never a value")
  func text() {
    let text = DoctorReport(observation: dirty(), policy: .restricted, version: "t").text
    let lines = text.split(separator: "\n").map(String.init)
    #expect(lines.first == "high IBX-RT-005 process: NoNewPrivs: 0 [CIS 5.26; PSS restricted: Privilege Escalation]")
    #expect(lines[1].hasPrefix("  fix: docker --security-opt no-new-privileges"))
    #expect(lines.contains("policy restricted: 1 of 9 controls violated"))
    #expect(lines.last == "summary: 4 findings (2 high, 1 low, 1 info)")
  }

  @Test("JSON: the ibex.audit/v1 envelope with kind runtime, evidence and the policy")
  func json() throws {
    let value = DoctorReport(observation: dirty(), policy: .restricted, version: "t").json
    let parsed = try #require(JSONValue(parsing: value.encoded))
    #expect(parsed["schema"]?.string == "ibex.audit/v1")
    let first = try #require(parsed["findings"]?.array?.first)
    #expect(first["kind"]?.string == "runtime")
    #expect(first["rule_id"]?.string == "IBX-RT-005")
    #expect(first["control"]?.string == "CIS 5.26; PSS restricted: Privilege Escalation")
    #expect(parsed["policy"]?["satisfied"]?.bool == false)
    #expect(parsed["evidence"]?["CapEff"]?["hex"]?.string == "0000000000000000")
    #expect(parsed["summary"]?["by_severity"]?["high"]?.number == 2)
  }

  @Test("SARIF: 2.1.0, every rule described, results point at their rule by index")
  func sarif() throws {
    let value = DoctorReport(observation: dirty(), policy: nil, version: "t").sarif
    #expect(value["version"]?.string == "2.1.0")
    let run = try #require(value["runs"]?.array?.first)
    let rules = try #require(run["tool"]?["driver"]?["rules"]?.array)
    #expect(rules.count == RuntimeRules.all.count)
    for result in run["results"]?.array ?? [] {
      let index = Int(result["ruleIndex"]?.number ?? -1)
      #expect(rules[index]["id"] == result["ruleId"])
    }
  }
}
