import Foundation

/// Runs the IBX-CO rules over one compose file.
struct ComposeChecker {
  let model: ComposeModel
  let settings: AuditSettings
  let directory: URL?
  /// Facts of Dockerfiles audited in the same run, by standardized absolute path.
  let dockerfiles: [String: DockerfileFacts]
  let sink: FindingSink

  func check() -> [Finding] {
    if let include = model.root.pair("include") {
      sink.add("IBX-META-004", at: include.keyPosition, object: "include",
               "include: is not resolved in this version; audit the included files directly")
    }
    for service in model.services { check(service) }
    checkTopLevelSecrets()
    return sink.findings
  }

  func checkTopLevelSecrets() {
    for secret in model.root["secrets"]?.pairs ?? [] {
      if let env = secret.value.pair("environment") {
        sink.add("IBX-CO-029", at: env.keyPosition, object: "secret/\(secret.key)",
                 "secret \"\(secret.key)\" is sourced from the environment variable \(env.value.string ?? ""), which is readable by every process in the compose project; source it from a file",
                 snippet: "secret \(secret.key) environment")
      }
      if let filePair = secret.value.pair("file"), let file = model.text(filePair.value), let directory {
        let path = directory.appendingPathComponent(file).standardizedFileURL.path
        for (service, context) in buildContexts() where path.hasPrefix(context.hasSuffix("/") ? context : context + "/") {
          sink.add("IBX-CO-029", at: filePair.keyPosition, object: "secret/\(secret.key)",
                   "secret \"\(secret.key)\" file \(file) is inside the build context of service \"\(service)\", so COPY . would put it in the image; keep secrets outside the context",
                   snippet: "secret \(secret.key) in context")
          break
        }
      }
    }
  }

  func buildContexts() -> [(String, String)] {
    guard let directory else { return [] }
    return model.services.compactMap { service in
      guard let build = service.node["build"] else { return nil }
      let context = build.string.flatMap { model.interpolation.interpolate($0) } ?? model.text(build["context"]) ?? (build.pairs != nil ? "." : nil)
      guard let context, !context.contains("://") else { return nil }
      return (service.name, directory.appendingPathComponent(context).standardizedFileURL.path)
    }
  }

  func dockerfileFacts(_ service: ComposeModel.Service) -> (DockerfileFacts, String)? {
    guard let directory, let build = service.node["build"] else { return nil }
    let context = build.string.flatMap { model.interpolation.interpolate($0) } ?? model.text(build["context"]) ?? "."
    let dockerfile = model.text(build["dockerfile"]) ?? "Dockerfile"
    let url = directory.appendingPathComponent(context).appendingPathComponent(dockerfile).standardizedFileURL
    guard let facts = dockerfiles[url.path] else { return nil }
    return (facts, url.lastPathComponent)
  }

  func check(_ service: ComposeModel.Service) {
    let node = service.node
    let object = service.object
    let name = service.name
    func report(_ id: String, _ target: YAMLNode?, keyPosition: SourcePosition? = nil, _ message: String, snippet: String, severity: Severity? = nil) {
      let (position, note) = service.location(target, keyPosition: keyPosition)
      sink.add(id, at: position, object: object, "service \"\(name)\": " + message + note, snippet: snippet,
               scope: [service.keyPosition.line], severity: severity)
    }
    func missing(_ id: String, _ message: String, snippet: String) {
      sink.add(id, at: service.keyPosition, object: object, "service \"\(name)\": " + message, snippet: snippet, scope: [service.keyPosition.line])
    }
    func flag(_ key: String) -> (YAMLPair, Bool?)? {
      guard let pair = node.pair(key) else { return nil }
      let text = model.text(pair.value)
      return (pair, text.flatMap { YAMLNode(value: .scalar($0), position: pair.value.position, isPlain: true).bool })
    }
    if let extends = node.pair("extends") {
      sink.add("IBX-META-004", at: extends.keyPosition, object: object,
               "service \"\(name)\": extends: is not resolved in this version; settings inherited from the extended service are not audited")
    }

    // IBX-CO-001
    if let (pair, value) = flag("privileged"), value == true {
      report("IBX-CO-001", pair.value, keyPosition: pair.keyPosition, "privileged: true gives every capability and device; add the one capability needed with cap_add", snippet: "privileged")
    }
    // IBX-CO-002 / 003
    let drops = list(node["cap_drop"]).compactMap { model.text($0) }.map(normalizeCapability)
    if !drops.contains("ALL") {
      if let pair = node.pair("cap_drop") {
        report("IBX-CO-002", pair.value, keyPosition: pair.keyPosition, "cap_drop does not contain ALL; use cap_drop: [ALL] and cap_add only what is needed", snippet: "cap_drop")
      } else {
        missing("IBX-CO-002", "cap_drop: [ALL] is not set, so the default capability set applies; add cap_drop: [ALL] and cap_add only what is needed", snippet: "cap_drop missing")
      }
    }
    for capNode in list(node["cap_add"]) {
      guard let cap = model.text(capNode), settings.isDangerousCapability(cap) else { continue }
      report("IBX-CO-003", capNode, "cap_add \(cap) grants a capability with known escape or host-interference paths", snippet: "cap_add \(normalizeCapability(cap))")
    }
    // IBX-CO-004 / 005
    let securityOptions = list(node["security_opt"]).compactMap { option in model.text(option).map { ($0, option) } }
    let noNewPrivileges = securityOptions.contains { option, _ in
      let normalized = option.lowercased().replacingOccurrences(of: "=", with: ":").replacingOccurrences(of: " ", with: "")
      return normalized == "no-new-privileges" || normalized == "no-new-privileges:true"
    }
    if !noNewPrivileges {
      if let pair = node.pair("security_opt") {
        report("IBX-CO-004", pair.value, keyPosition: pair.keyPosition, "no-new-privileges is not enabled in security_opt; add \"no-new-privileges:true\"", snippet: "security_opt")
      } else {
        missing("IBX-CO-004", "no-new-privileges is not enabled; add security_opt: [\"no-new-privileges:true\"]", snippet: "security_opt missing")
      }
    }
    for (option, optionNode) in securityOptions {
      let normalized = option.lowercased().replacingOccurrences(of: "=", with: ":")
      if ["seccomp:unconfined", "apparmor:unconfined", "label:disable", "systempaths:unconfined"].contains(normalized) {
        report("IBX-CO-005", optionNode, "security_opt \(option) removes kernel confinement; write a custom profile instead of disabling it", snippet: normalized)
      }
    }
    // IBX-CO-006
    if let (pair, value) = flag("read_only") {
      if value == false {
        report("IBX-CO-006", pair.value, keyPosition: pair.keyPosition, "read_only is false; set read_only: true and mount tmpfs/volumes where the service writes", snippet: "read_only")
      }
    } else {
      missing("IBX-CO-006", "read_only: true is not set, so the root filesystem is writable; set it and mount tmpfs/volumes where the service writes", snippet: "read_only missing")
    }
    // IBX-CO-007
    if let pair = node.pair("user") {
      if let user = model.text(pair.value), DockerfileChecker.isRootUser(user) {
        report("IBX-CO-007", pair.value, keyPosition: pair.keyPosition, "user \(user) runs the service as root; use a numeric non-root user such as \"10001:10001\"", snippet: "user root", severity: .high)
      }
    } else if let (facts, dockerfile) = dockerfileFacts(service), facts.runsAsNonRoot == true {
      _ = dockerfile
    } else if let image = model.text(node["image"]), settings.isNonrootBaseImage(image) {
    } else {
      let reason = dockerfileFacts(service).map { " (its \($0.1) in this audit has no non-root USER)" } ?? ""
      missing("IBX-CO-007", "user is not set, so the image's default user (often root) applies\(reason); set user: \"10001:10001\"", snippet: "user missing")
    }
    // IBX-CO-008 / 009 / 010
    let limits = node.at("deploy", "resources", "limits")
    if node["mem_limit"] == nil && limits?["memory"] == nil {
      missing("IBX-CO-008", "no memory limit; set deploy.resources.limits.memory (or mem_limit)", snippet: "memory limit missing")
    }
    if node["cpus"] == nil && node["cpu_quota"] == nil && limits?["cpus"] == nil {
      missing("IBX-CO-009", "no CPU limit; set deploy.resources.limits.cpus (or cpus)", snippet: "cpu limit missing")
    }
    let pidsNode = node["pids_limit"] ?? limits?["pids"]
    if let pidsNode {
      if let text = model.text(pidsNode), let value = Int(text), value <= 0 {
        report("IBX-CO-010", pidsNode, "pids limit \(value) means unlimited; set a positive limit", snippet: "pids_limit")
      }
    } else {
      missing("IBX-CO-010", "no PID limit; set deploy.resources.limits.pids (or pids_limit) against fork bombs", snippet: "pids limit missing")
    }
    // IBX-CO-011
    for key in ["network_mode", "pid", "ipc", "uts", "userns_mode"] {
      guard let pair = node.pair(key), let value = model.text(pair.value) else { continue }
      if value == "host" {
        report("IBX-CO-011", pair.value, keyPosition: pair.keyPosition, "\(key): host shares the host's namespace and removes isolation", snippet: "\(key) host")
      } else if value.hasPrefix("service:") || value.hasPrefix("container:") {
        report("IBX-CO-011", pair.value, keyPosition: pair.keyPosition, "\(key): \(value) shares another container's namespace", snippet: "\(key) \(value)", severity: .info)
      }
    }
    checkVolumes(service, report: report)
    checkTmpfs(service, report: report)
    checkEnvironment(service, report: report)
    checkImage(service, report: report)
    checkPorts(service, report: report)
    // IBX-CO-022
    let healthcheck = node["healthcheck"]
    let disabled = healthcheck.map { hc in
      hc["disable"].flatMap { model.text($0) }.map { $0 == "true" } == true
        || (list(hc["test"]).first.flatMap { model.text($0) } == "NONE")
    } ?? false
    let dockerHealth = dockerfileFacts(service)?.0.hasHealthcheck == true
    if healthcheck == nil && !dockerHealth {
      missing("IBX-CO-022", "no healthcheck (and none known from its Dockerfile); add healthcheck: {test: [\"CMD\", ...]}", snippet: "healthcheck missing")
    } else if disabled, let pair = node.pair("healthcheck") {
      report("IBX-CO-022", pair.value, keyPosition: pair.keyPosition, "healthcheck is disabled", snippet: "healthcheck disabled")
    }
    // IBX-CO-023
    for key in ["devices", "device_cgroup_rules"] {
      if let pair = node.pair(key), !(pair.value.items ?? []).isEmpty {
        report("IBX-CO-023", pair.value, keyPosition: pair.keyPosition, "\(key) gives the container direct access to host devices", snippet: key)
      }
    }
    if let pair = node.pair("gpus") {
      report("IBX-CO-023", pair.value, keyPosition: pair.keyPosition, "gpus exposes host GPUs", snippet: "gpus", severity: .info)
    }
    // IBX-CO-025
    if let sysctls = node["sysctls"] {
      var entries: [(String, YAMLNode)] = []
      if let pairs = sysctls.pairs { entries = pairs.map { ($0.key, $0.value) } }
      for item in sysctls.items ?? [] {
        if let text = model.text(item) { entries.append((String(text.split(separator: "=").first ?? ""), item)) }
      }
      for (name, entryNode) in entries where !settings.isSafeSysctl(name) {
        report("IBX-CO-025", entryNode, "sysctl \(name) is not in the safe, namespaced set; it may affect the host", snippet: "sysctl \(name)")
      }
    }
    // IBX-CO-026
    if let pair = node.pair("cgroup_parent") {
      report("IBX-CO-026", pair.value, keyPosition: pair.keyPosition, "cgroup_parent moves the container out of the engine's cgroup hierarchy", snippet: "cgroup_parent")
    }
    if let pair = node.pair("cgroup"), model.text(pair.value) == "host" {
      report("IBX-CO-026", pair.value, keyPosition: pair.keyPosition, "cgroup: host shares the host's cgroup namespace", snippet: "cgroup host")
    }
    // IBX-CO-027 / 028 (strict)
    if node["networks"] == nil && node["network_mode"] == nil {
      missing("IBX-CO-027", "attached only to the default network; declare networks: to segment services", snippet: "networks missing")
    }
    if let pair = node.pair("restart"), let value = model.text(pair.value), ["always", "unless-stopped"].contains(value), healthcheck == nil, !dockerHealth {
      report("IBX-CO-028", pair.value, keyPosition: pair.keyPosition, "restart: \(value) without a healthcheck restarts forever; add a healthcheck or use on-failure:5", snippet: "restart \(value)")
    }
    if let policy = node.at("deploy", "restart_policy"), policy["max_attempts"] == nil {
      report("IBX-CO-028", policy, "deploy.restart_policy has no max_attempts", snippet: "restart_policy")
    }
    // IBX-CO-017
    if let args = node.at("build", "args") {
      for (key, valueNode, position) in keyValues(args) {
        guard settings.isSecretName(key), let valueNode, let raw = valueNode.string, !valueNode.isNull, !raw.isEmpty, !raw.contains("$") else { continue }
        report("IBX-CO-017", valueNode, keyPosition: position, "build arg \(key) has a literal secret-looking value, which ends up in the image history; use build.secrets", snippet: "build arg \(key)")
      }
    }
    // IBX-CO-029: long-syntax secret mode
    for item in node["secrets"]?.items ?? [] {
      guard let modeNode = item["mode"], let text = model.text(modeNode) else { continue }
      let mode = text.hasPrefix("0o") ? Int(text.dropFirst(2), radix: 8) : (text.hasPrefix("0") ? Int(text, radix: 8) : Int(text))
      if let mode, mode & ~0o440 != 0 {
        report("IBX-CO-029", modeNode, "secret \(model.text(item["source"]) ?? "") is mounted with mode \(text), more permissive than 0440", snippet: "secret mode \(text)")
      }
    }
  }

  func list(_ node: YAMLNode?) -> [YAMLNode] {
    guard let node else { return [] }
    if let items = node.items { return items }
    return node.isNull ? [] : [node]
  }

  /// `KEY: value` mapping or `- KEY=value` list, with the value node (nil for pass-through).
  func keyValues(_ node: YAMLNode) -> [(String, YAMLNode?, SourcePosition)] {
    if let pairs = node.pairs { return pairs.map { ($0.key, $0.value, $0.keyPosition) } }
    return (node.items ?? []).compactMap { item in
      guard let text = item.string else { return nil }
      let parts = text.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
      if parts.count == 2 {
        return (parts[0], YAMLNode(value: .scalar(parts[1]), position: item.position, isPlain: false, mergedFrom: item.mergedFrom), item.position)
      }
      return (parts[0], nil, item.position)
    }
  }

  func checkEnvironment(_ service: ComposeModel.Service, report: (String, YAMLNode?, SourcePosition?, String, String, Severity?) -> Void) {
    guard let env = service.node["environment"] else { return }
    for (key, valueNode, position) in keyValues(env) {
      guard let valueNode, !valueNode.isNull, let raw = valueNode.string, !raw.isEmpty else { continue }
      // `$$` is a literal dollar; any other `$` is an interpolation, not a literal secret.
      if raw.replacingOccurrences(of: "$$", with: "").contains("$") { continue }
      if key.uppercased().hasSuffix("_FILE") || raw.hasPrefix("/run/secrets") { continue }
      if settings.isSecretName(key) {
        report("IBX-CO-016", valueNode, position, "environment variable \(key) has a literal secret-looking value; use secrets: and \(key)_FILE=/run/secrets/...", "env \(key)", nil)
      }
    }
  }

  func checkImage(_ service: ComposeModel.Service, report: (String, YAMLNode?, SourcePosition?, String, String, Severity?) -> Void) {
    guard let pair = service.node.pair("image"), let image = model.text(pair.value) else { return }
    let reference = ImageReference(image)
    if reference.isUntagged {
      report("IBX-CO-018", pair.value, pair.keyPosition, "image \(image) has no tag, so it means latest; pin a version", "image \(image)", nil)
    } else if reference.isLatest {
      report("IBX-CO-018", pair.value, pair.keyPosition, "image \(image) uses the moving latest tag; pin a version", "image \(image)", nil)
    }
    if !reference.isDigestPinned {
      report("IBX-CO-019", pair.value, pair.keyPosition, "image \(image) is not pinned by digest", "image \(image)", nil)
    }
  }

  func checkPorts(_ service: ComposeModel.Service, report: (String, YAMLNode?, SourcePosition?, String, String, Severity?) -> Void) {
    for item in service.node["ports"]?.items ?? [] {
      var hostIP: String?
      var published: String?
      if item.pairs != nil {
        hostIP = model.text(item["host_ip"])
        published = model.text(item["published"])
        if published == nil { continue }
      } else {
        guard let raw = item.string, let text = model.interpolation.interpolate(raw) else { continue }
        // Unquoted `22:22` is the base-60 integer 1342 to YAML 1.1 parsers (docker-compose v1).
        if item.isPlain, text.range(of: "^[0-9]+(:[0-5]?[0-9])+$", options: .regularExpression) != nil {
          report("IBX-CO-020", item, nil, "ports entry \(text) is unquoted; YAML 1.1 parsers read it as a base-60 number, quote it (\"\(text)\")", "unquoted port \(text)", .info)
        }
        var spec = text.split(separator: "/").first.map(String.init) ?? text
        if spec.hasPrefix("[") , let close = spec.firstIndex(of: "]") {
          hostIP = String(spec[spec.index(after: spec.startIndex)..<close])
          spec = String(spec[spec.index(after: close)...].dropFirst())
          let parts = spec.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
          published = parts.count == 2 ? parts[0] : nil
        } else {
          let parts = spec.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
          switch parts.count {
          case 1: published = ""
          case 2: published = parts[0]
          default:
            hostIP = parts.dropLast(2).joined(separator: ":")
            published = parts[parts.count - 2]
          }
        }
      }
      guard let published else { continue }
      if hostIP == nil || hostIP == "" || hostIP == "0.0.0.0" || hostIP == "::" {
        let shown = published.isEmpty ? "a random host port" : "port \(published)"
        report("IBX-CO-020", item, nil, "\(shown) is published on all interfaces; bind it to one address such as 127.0.0.1", "port \(published) all interfaces", nil)
      }
      let start = published.split(separator: "-").first.flatMap { Int($0) }
      if let start, start < 1024 {
        report("IBX-CO-021", item, nil, "host port \(start) is below 1024; publish on a port >= 1024", "host port \(start)", nil)
      }
    }
  }

  static let socketNames = ["docker.sock", "containerd.sock", "crio.sock", "podman.sock", "cri-dockerd.sock"]
  static let socketDirectories: Set<String> = ["/var/run", "/run", "/var/run/docker", "/run/containerd", "/var/run/containerd", "/run/podman", "/var/run/crio", "/run/crio"]
  static let sensitiveExact: Set<String> = ["/", "/etc", "/proc", "/sys", "/dev", "/boot", "/root", "/usr", "/lib/modules", "/var/lib/docker", "/var/run", "/run", "/home", "/var/lib/kubelet", "/lib", "/bin", "/sbin"]
  static let sensitiveTrees = ["/proc/", "/sys/", "/boot/", "/root/", "/lib/modules/", "/var/lib/docker/", "/dev/", "/etc/kubernetes/", "/var/lib/kubelet/"]

  static func isRuntimeSocket(_ path: String) -> Bool {
    let trimmed = path.count > 1 && path.hasSuffix("/") ? String(path.dropLast()) : path
    return socketNames.contains { trimmed.hasSuffix("/" + $0) } || socketDirectories.contains(trimmed)
  }

  static func isSensitiveHostPath(_ path: String) -> Bool {
    let trimmed = path.count > 1 && path.hasSuffix("/") ? String(path.dropLast()) : path
    return sensitiveExact.contains(trimmed) || sensitiveTrees.contains { trimmed.hasPrefix($0) } && trimmed != "/dev/null"
  }

  func checkVolumes(_ service: ComposeModel.Service, report: (String, YAMLNode?, SourcePosition?, String, String, Severity?) -> Void) {
    for item in service.node["volumes"]?.items ?? [] {
      var source: String?
      var target: String?
      var readOnly = false
      var propagation: String?
      var isBind = false
      if item.pairs != nil {
        let type = model.text(item["type"]) ?? "volume"
        if type == "tmpfs" {
          report("IBX-CO-015", item, nil, "long-form tmpfs volume cannot set noexec,nosuid,nodev; use the short tmpfs: key with those options", "tmpfs long form \(model.text(item["target"]) ?? "")", .low)
          continue
        }
        guard type == "bind" else { continue }
        isBind = true
        source = model.text(item["source"])
        target = model.text(item["target"])
        readOnly = item["read_only"]?.bool == true || model.text(item["read_only"]) == "true"
        propagation = model.text(item.at("bind", "propagation"))
      } else {
        guard let raw = item.string, let text = model.interpolation.interpolate(raw) else { continue }
        let parts = text.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
        guard parts.count >= 2 else { continue }
        source = parts[0]
        target = parts[1]
        let options = parts.count > 2 ? parts[2].split(separator: ",").map(String.init) : []
        readOnly = options.contains("ro") || options.contains("readonly")
        propagation = options.first { ["shared", "rshared", "slave", "rslave", "private", "rprivate"].contains($0) }
        isBind = ["/", ".", "~"].contains { parts[0].hasPrefix($0) }
      }
      guard isBind, let source else { continue }
      let absolute = source.hasPrefix("~") ? "/home" + source.dropFirst() : source
      if Self.isRuntimeSocket(absolute) {
        report("IBX-CO-012", item, nil, "\(source) is the container runtime's socket (or its directory); access to it is root on the host, even read-only", "socket \(source)", nil)
        continue
      }
      if Self.isSensitiveHostPath(absolute) {
        report("IBX-CO-013", item, nil, "host path \(source) is sensitive\(readOnly ? " (read-only)" : " and mounted writable"); mount only the files needed, read-only",
               "host path \(source)", readOnly ? .medium : .high)
        continue
      }
      if let propagation, ["shared", "rshared"].contains(propagation) {
        report("IBX-CO-024", item, nil, "bind mount \(source) uses \(propagation) propagation, so mounts made in the container reach the host", "propagation \(source)", nil)
      }
      let exempt = settings.writableMounts.contains { $0 == target || $0 == source }
      if !readOnly && !exempt {
        report("IBX-CO-014", item, nil, "bind mount \(source):\(target ?? "") is writable; add :ro, or list it in settings.writable_mounts if it holds state", "bind \(source)", nil)
      }
    }
  }

  func checkTmpfs(_ service: ComposeModel.Service, report: (String, YAMLNode?, SourcePosition?, String, String, Severity?) -> Void) {
    for item in list(service.node["tmpfs"]) {
      guard let text = model.text(item) else { continue }
      let parts = text.split(separator: ":", maxSplits: 1).map(String.init)
      let path = parts[0]
      let options = parts.count > 1 ? Set(parts[1].split(separator: ",").map { String($0).lowercased() }) : []
      let weakened = options.filter { ["exec", "suid", "dev"].contains($0) }
      if !weakened.isEmpty {
        report("IBX-CO-015", item, nil, "tmpfs \(path) is mounted with \(weakened.sorted().joined(separator: ",")); code could run from the one writable place", "tmpfs \(path) \(weakened.sorted())", .medium)
      } else if !options.isSuperset(of: ["noexec", "nosuid", "nodev"]) {
        report("IBX-CO-015", item, nil, "tmpfs \(path) does not say noexec,nosuid,nodev; engine defaults differ, write them: \"\(path):noexec,nosuid,nodev\"", "tmpfs \(path)", .low)
      }
    }
  }
}
