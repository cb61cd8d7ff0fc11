/// The output of `ibex doctor` in its three formats (text, JSON `ibex.audit/v1` with
/// `kind: "runtime"`, SARIF 2.1.0), and its exit code. Pure: built from an observation.
public struct DoctorReport: Sendable {
  public var observation: Observation
  /// Sorted: most severe first, then by rule id and object.
  public var findings: [DoctorFinding]
  public var policy: Policy?
  public var violations: [PolicyViolation]
  public var version: String

  public init(observation: Observation, policy: Policy?, version: String) {
    self.observation = observation
    self.policy = policy
    self.version = version
    findings = Doctor.findings(observation).stablySorted { a, b in
      if a.severity != b.severity { return a.severity > b.severity }
      if a.rule.id != b.rule.id { return String.bytewiseLess(a.rule.id, b.rule.id) }
      return String.bytewiseLess(a.object, b.object)
    }
    violations = policy?.violations(observation) ?? []
  }

  /// 3 when the process's own status could not be read (nothing was checked), 1 when the policy
  /// is violated or a finding is at or above `failOn`, else 0.
  public func exitCode(failOn: FailThreshold) -> Int32 {
    if observation.status == nil { return 3 }
    if !violations.isEmpty { return 1 }
    return findings.contains { failOn.fails($0.severity) } ? 1 : 0
  }

  // MARK: text

  public var text: String {
    var out = ""
    for finding in findings {
      out += "\(finding.severity) \(finding.rule.id) \(finding.object): \(finding.observed) [\(finding.rule.control)]\n"
      out += "  fix: \(finding.fix)\n"
    }
    if let policy {
      if violations.isEmpty {
        out += "policy \(policy.name): satisfied (\(policy.checks.count) controls)\n"
      } else {
        out += "policy \(policy.name): \(violations.count) of \(policy.checks.count) controls violated\n"
        for violation in violations { out += "  \(violation.control.rawValue) (\(violation.control.rule.control)): \(violation.message)\n" }
      }
    }
    out += "summary: " + summaryText + "\n"
    return out
  }

  var summaryText: String {
    if findings.isEmpty { return "no findings" }
    let counts = Severity.allCases.reversed().compactMap { severity -> String? in
      let n = findings.filter { $0.severity == severity }.count
      return n == 0 ? nil : "\(n) \(severity)"
    }
    return "\(findings.count) finding\(findings.count == 1 ? "" : "s") (\(counts.joined(separator: ", ")))"
  }

  // MARK: JSON

  public var json: JSONValue {
    var bySeverity: [(String, JSONValue)] = []
    for severity in Severity.allCases.reversed() {
      let n = findings.filter { $0.severity == severity }.count
      if n > 0 { bySeverity.append((severity.description, .number(Int64(n)))) }
    }
    var members: [(String, JSONValue)] = [
      ("schema", .string("ibex.audit/v1")),
      ("tool", .object([("name", .string("ibex doctor")), ("version", .string(version))])),
      ("findings", .array(findings.map { finding in
        .object([
          ("rule_id", .string(finding.rule.id)), ("severity", .string(finding.severity.description)),
          ("kind", .string("runtime")), ("object", .string(finding.object)), ("control", .string(finding.rule.control)),
          ("message", .string(finding.observed)), ("fix", .string(finding.fix)), ("help_uri", .string(finding.rule.helpURI)),
          ("fingerprint", .string(fingerprint(finding))),
        ])
      })),
      ("errors", .array([])),
      ("summary", .object([("by_severity", .object(bySeverity)), ("findings", .number(Int64(findings.count)))])),
      ("evidence", evidence),
    ]
    if let policy {
      members.append(("policy", .object([
        ("name", .string(policy.name)), ("satisfied", .bool(violations.isEmpty)),
        ("controls", .array(policy.checks.map { .string($0.control.rawValue) })),
        ("violations", .array(violations.map { violation in
          .object([
            ("control", .string(violation.control.rawValue)), ("mapping", .string(violation.control.rule.control)),
            ("message", .string(violation.message)), ("fix", .string(violation.control.rule.fix)),
          ])
        })),
      ])))
    }
    return .object(members)
  }

  func fingerprint(_ finding: DoctorFinding) -> String { "\(finding.rule.id):\(finding.object)" }

  /// The raw facts behind the findings (no variable values).
  var evidence: JSONValue {
    let o = observation
    var members: [(String, JSONValue)] = []
    if let status = o.status {
      members.append(("uid", status.effectiveUID.map { .number(Int64($0)) } ?? .null))
      members.append(("gid", status.effectiveGID.map { .number(Int64($0)) } ?? .null))
      members.append(("groups", .array(status.groups.map { .number(Int64($0)) })))
      for (name, mask) in [("CapEff", status.effective), ("CapPrm", status.permitted), ("CapBnd", status.bounding),
        ("CapAmb", status.ambient), ("CapInh", status.inheritable)]
      {
        members.append((name, .object([("hex", .string(Capabilities.hex(mask))), ("names", .array(Capabilities.names(in: mask).map { .string($0) }))])))
      }
      members.append(("no_new_privs", status.noNewPrivileges.map { .bool($0) } ?? .null))
      members.append(("seccomp", status.seccomp.map { .number(Int64($0)) } ?? .null))
    }
    members.append(("syscall_probes", .object(o.syscallProbes.map { ($0.name, .string($0.blocked ? "blocked" : "allowed")) })))
    members.append(("lsm_label", o.securityLabel.map { .string($0) } ?? .null))
    members.append(("uid_map", o.uidMap.map { .array($0.map { .string($0.description) }) } ?? .null))
    members.append(("gid_map", o.gidMap.map { .array($0.map { .string($0.description) }) } ?? .null))
    members.append(("pid1", o.pid1Name.map { .string($0) } ?? .null))
    members.append(("network_interfaces", o.networkInterfaces.map { .array($0.map { .string($0) }) } ?? .null))
    members.append(("mounts", .array((o.mounts ?? []).map { mount in
      .object([("path", .string(mount.mountPoint)), ("type", .string(mount.fileSystem)), ("options", .string(mount.options.joined(separator: ",")))])
    })))
    if let cgroup = o.cgroup {
      members.append(("cgroup", .object([
        ("version", .number(Int64(cgroup.version))), ("memory", cgroup.memoryMax.map { .string($0) } ?? .null),
        ("pids", cgroup.pidsMax.map { .string($0) } ?? .null), ("cpu", cgroup.cpuMax.map { .string($0) } ?? .null),
      ])))
    }
    members.append(("services", .array(o.services.map { service in
      .object([("name", .string(service.name)), ("uid", .number(Int64(service.uid))), ("gid", .number(Int64(service.gid)))])
    })))
    return .object(members)
  }

  // MARK: SARIF

  public static let sarifSchema = "https://json.schemastore.org/sarif-2.1.0.json"

  public var sarif: JSONValue {
    let rules = RuntimeRules.all
    let results: [JSONValue] = findings.map { finding in
      .object([
        ("ruleId", .string(finding.rule.id)),
        ("ruleIndex", .number(Int64(rules.firstIndex { $0.id == finding.rule.id } ?? 0))),
        ("level", .string(finding.severity.sarifLevel)),
        ("message", .object([("text", .string("\(finding.observed). Fix: \(finding.fix)"))])),
        ("locations", .array([.object([("logicalLocations", .array([.object([
          ("fullyQualifiedName", .string(finding.object)), ("kind", .string("resource")),
        ])]))])])),
        ("partialFingerprints", .object([("ibexFingerprint/v1", .string(fingerprint(finding)))])),
        ("properties", .object([("severity", .string(finding.severity.description)), ("control", .string(finding.rule.control))])),
      ])
    }
    let descriptors: [JSONValue] = rules.map { rule in
      .object([
        ("id", .string(rule.id)),
        ("name", .string(rule.title)),
        ("shortDescription", .object([("text", .string(rule.title))])),
        ("fullDescription", .object([("text", .string("\(rule.title) (\(rule.control))"))])),
        ("helpUri", .string(rule.helpURI)),
        ("help", .object([("text", .string(rule.fix))])),
        ("defaultConfiguration", .object([("level", .string(rule.severity.sarifLevel))])),
        ("properties", .object([
          ("tags", .array([.string("security"), .string("runtime")])),
          ("security-severity", .string(rule.severity.securitySeverity)),
        ])),
      ])
    }
    var invocation: [(String, JSONValue)] = [("executionSuccessful", .bool(observation.status != nil))]
    invocation.append(("toolExecutionNotifications", .array(violations.map { violation in
      .object([("level", .string("error")), ("message", .object([("text", .string("policy \(policy?.name ?? ""): \(violation.line)"))]))])
    })))
    let run: JSONValue = .object([
      ("tool", .object([("driver", .object([
        ("name", .string("ibex doctor")), ("version", .string(version)),
        ("informationUri", .string("https://github.com/ibex-project/ibex/blob/main/docs/doctor.md")), ("rules", .array(descriptors)),
      ]))])),
      ("automationDetails", .object([("id", .string("ibex-doctor/"))])),
      ("invocations", .array([.object(invocation)])),
      ("results", .array(results)),
    ])
    return .object([("$schema", .string(Self.sarifSchema)), ("version", .string("2.1.0")), ("runs", .array([run]))])
  }
}
