import IbexCore
import IbexRuntime

/// `ibex doctor`: reports the container's security posture from inside (docs/doctor.md), and
/// `BootPolicy`: the same checks against `IBEX_POLICY` before `ibex init` starts anything.
public enum DoctorProgram {
  public static let help = """
    Usage: ibex doctor [--format text|json|sarif] [--policy NAME|FILE] [--fail-on SEVERITY] [--no-scan]

    Reports the security posture of the container ibex runs in, from inside: identity and user
    namespace, capabilities, no-new-privileges, seccomp, AppArmor/SELinux, host namespaces,
    devices, runtime sockets, mounts and their flags, setuid files, world-writable directories,
    cgroup limits and secret-looking variable names (names only). Each finding has an id
    (IBX-RT-NNN), a severity, its CIS Docker Benchmark v1.6.0 / Pod Security Standards control,
    what was observed and what to change. With a running ibex init, services running as root
    are reported too.

    Options:
      --format text|json|sarif   output format (default text; json: ibex.audit/v1; sarif: 2.1.0)
      --policy NAME|FILE         also judge against a policy: baseline, restricted or a policy
                                 file (the format of IBEX_POLICY, docs/doctor.md)
      --fail-on SEVERITY         exit 1 when a finding is at least this severe: critical, high
                                 (default), medium, low, info or never
      --no-scan                  skip the walk of the root file system (setuid files,
                                 world-writable directories)
      --root DIR                 the root of a running ibex init (its control socket)

    Exit codes: 0 clean, 1 findings at or above --fail-on or a violated --policy, 2 usage,
    3 /proc/self/status could not be read (nothing was checked).

    """

  enum Format { case text, json, sarif }

  public static func main(arguments: [String]) -> Int32 {
    var scanner = OptionScanner(arguments)
    var format = Format.text
    var policyName: String?
    var failOn = FailThreshold.atLeast(.high)
    var scanFiles = true
    let environment = ThisProcess.environmentStrings
    var root = Environment.value(of: "IBEX_ROOT", in: environment) ?? ""
    do throws(UsageError) {
      while let option = scanner.next() {
        switch option {
        case "-h", "--help":
          Console.output(help)
          return ExitCode.success
        case "--format":
          switch try scanner.value() {
          case "text": format = .text
          case "json": format = .json
          case "sarif": format = .sarif
          case let other: throw UsageError("unknown format '\(other)' (text, json or sarif)")
          }
        case "--policy": policyName = try scanner.value()
        case "--fail-on":
          let value = try scanner.value()
          guard let threshold = FailThreshold(name: value) else {
            throw UsageError("unknown severity '\(value)' for --fail-on (critical, high, medium, low, info or never)")
          }
          failOn = threshold
        case "--no-scan":
          try scanner.noValue()
          scanFiles = false
        case "--root": root = try scanner.value()
        default: throw UsageError("unknown option '\(option)'")
        }
      }
      if scanner.index < arguments.count { throw UsageError("unexpected argument '\(arguments[scanner.index])'") }
    } catch {
      Console.emit("usage error: \(error.message) (see 'ibex doctor --help')")
      return ExitCode.usage
    }
    var policy: Policy?
    if let policyName {
      switch BootPolicy.load(policyName, variable: "--policy") {
      case .success(let loaded): policy = loaded
      case .failure(let error):
        Console.emit("usage error: \(error.description)")
        return ExitCode.usage
      }
    }
    var options = PostureProbe.Options()
    options.scanFiles = scanFiles
    options.environment = environment
    var observation = PostureProbe.observe(options)
    var unavailable: [Unavailable] = []
    observation.services = serviceIdentities(root: root, unavailable: &unavailable)
    observation.unavailable += unavailable
    let report = DoctorReport(observation: observation, policy: policy, version: Entry.version)
    switch format {
    case .text: Console.output(report.text)
    case .json: Console.output(report.json.encoded + "\n")
    case .sarif: Console.output(report.sarif.encoded + "\n")
    }
    return report.exitCode(failOn: failOn)
  }

  /// Who each service of a running ibex init runs as: its main pid from the control socket,
  /// then that process's /proc status. No socket: no services (not an error).
  static func serviceIdentities(root: String, unavailable: inout [Unavailable]) -> [ServiceIdentity] {
    let path = root + "/run/ibex/control"
    guard FileSystem.info(path) != nil else { return [] }
    var connection: Connection
    switch Connection.open(root: root) {
    case .success(let open): connection = open
    case .failure(let failure):
      unavailable.append(Unavailable(source: path, reason: failure.message))
      return []
    }
    defer { connection.close() }
    guard case .success(let response) = connection.request(.status(names: [])), let services = response["services"]?.array else {
      unavailable.append(Unavailable(source: path, reason: "no status answer"))
      return []
    }
    return services.compactMap { service in
      guard let name = service["name"]?.string, let pid = service["pid"]?.number,
        let text = try? FileSystem.readText("/proc/\(pid)/status"), let status = ProcessStatus(parsing: text),
        let uid = status.effectiveUID, let gid = status.effectiveGID
      else { return nil }
      return ServiceIdentity(name: name, uid: uid, gid: gid)
    }
  }
}

/// The boot-time policy: `IBEX_POLICY=baseline|restricted|/path/to/policy` and
/// `IBEX_POLICY_MODE=enforce|warn` (enforce when a policy is set). `ibex init` runs it before
/// any service starts.
public enum BootPolicy {
  public enum Mode: Equatable, Sendable { case enforce, warn }

  /// What to do at boot: nil to go on, or the exit code.
  public static func check(environment: [String]) -> Int32? {
    guard let name = Environment.value(of: "IBEX_POLICY", in: environment), !name.isEmpty else { return nil }
    let mode: Mode
    switch Environment.value(of: "IBEX_POLICY_MODE", in: environment) {
    case nil, "", "enforce"?: mode = .enforce
    case "warn"?: mode = .warn
    case let other?:
      Console.fatal("IBEX_POLICY_MODE=\(other): expected enforce or warn")
      return ExitCode.configError
    }
    let policy: Policy
    switch load(name, variable: "IBEX_POLICY") {
    case .success(let loaded): policy = loaded
    case .failure(let error):
      Console.fatal(error.description)
      Console.emit("nothing was started: fix the policy and start again")
      return ExitCode.configError
    }
    var options = PostureProbe.Options()
    options.scanFiles = policy.needsFileScan
    options.environment = environment
    let violations = policy.violations(PostureProbe.observe(options))
    if violations.isEmpty { return nil }
    for violation in violations {
      let line = "policy \(policy.name): \(violation.line)"
      if mode == .enforce { Console.fatal(line) } else { Console.warning(line) }
    }
    guard mode == .enforce else { return nil }
    Console.emit("nothing was started: the container breaks policy \(policy.name) (IBEX_POLICY_MODE=warn only logs; see 'ibex doctor')")
    return ExitCode.configError
  }

  /// `baseline`, `restricted`, or a policy file (an absolute or ./relative path).
  public static func load(_ name: String, variable: String) -> Result<Policy, ConfigError> {
    if let builtIn = Policy.named(name) { return .success(builtIn) }
    guard name.hasPrefix("/") || name.hasPrefix(".") else {
      return .failure(ConfigError("\(variable)=\(name): not baseline, restricted or a file path (absolute or ./relative)"))
    }
    let text: String
    do {
      text = try FileSystem.readText(name)
    } catch {
      return .failure(ConfigError("\(variable)=\(name): unable to read the policy file: \(error.description)"))
    }
    do throws(ConfigError) {
      return .success(try Policy.parse(text, file: name))
    } catch {
      return .failure(error)
    }
  }
}
