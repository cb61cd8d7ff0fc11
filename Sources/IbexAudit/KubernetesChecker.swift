import Foundation

/// Runs the IBX-K8 rules over the objects of one manifest file.
struct KubernetesChecker {
  let objects: [KubernetesObject]
  /// NetworkPolicies of the whole run (IBX-K8-031 is a cross-document check).
  let networkPolicies: [KubernetesObject]
  let settings: AuditSettings
  let sink: FindingSink

  static let removedAPIs: [String: String] = [
    "extensions/v1beta1": "apps/v1 (workloads) or networking.k8s.io/v1 (Ingress, NetworkPolicy)",
    "apps/v1beta1": "apps/v1", "apps/v1beta2": "apps/v1", "batch/v1beta1": "batch/v1", "batch/v2alpha1": "batch/v1",
    "policy/v1beta1": "policy/v1", "networking.k8s.io/v1beta1": "networking.k8s.io/v1",
    "rbac.authorization.k8s.io/v1beta1": "rbac.authorization.k8s.io/v1", "autoscaling/v2beta1": "autoscaling/v2",
    "autoscaling/v2beta2": "autoscaling/v2",
  ]

  func check() -> [Finding] {
    for object in objects { check(object) }
    return sink.findings
  }

  func check(_ object: KubernetesObject) {
    let metadataPosition = object.node.pair("metadata")?.keyPosition ?? object.node.position
    let kindPosition = object.node.pair("kind")?.keyPosition ?? object.node.position
    if let replacement = Self.removedAPIs[object.apiVersion] {
      sink.add("IBX-K8-028", at: object.node.pair("apiVersion")?.keyPosition ?? kindPosition, object: object.objectName,
               "\(object.kind) \(object.name) uses the removed apiVersion \(object.apiVersion); use \(replacement)", snippet: "apiVersion \(object.apiVersion)")
    }
    if !KubernetesObject.clusterScoped.contains(object.kind), object.namespace == nil || object.namespace == "default" {
      sink.add("IBX-K8-029", at: metadataPosition, object: object.objectName,
               "\(object.kind) \(object.name) has \(object.namespace == nil ? "no namespace" : "the default namespace"); set metadata.namespace", snippet: "namespace")
    }
    guard let (spec, templateMetadata) = object.podSpec else { return }
    let ignored = ignoredRules(object, templateMetadata: templateMetadata)
    let podObject = object.objectName
    let podPosition = kindPosition
    let podScope = [object.node.position.line]
    func podReport(_ id: String, _ pair: YAMLPair?, _ message: String, snippet: String, severity: Severity? = nil) {
      guard !ignored.rules.contains(id) else { return suppressed(id, at: pair?.keyPosition ?? podPosition, object: podObject, message, ignored.reason) }
      sink.add(id, at: pair?.keyPosition ?? podPosition, object: podObject, "\(object.kind) \(object.name): " + message, snippet: snippet, scope: podScope, severity: severity)
    }
    let podSecurity = spec["securityContext"]

    // IBX-K8-009
    for key in ["hostNetwork", "hostPID", "hostIPC"] {
      if let pair = spec.pair(key), pair.value.bool == true {
        podReport("IBX-K8-009", pair, "\(key): true shares the node's namespace", snippet: key)
      }
    }
    // IBX-K8-019
    if let pair = spec.pair("automountServiceAccountToken") {
      if pair.value.bool != false {
        podReport("IBX-K8-019", pair, "automountServiceAccountToken is not false, so API credentials are mounted", snippet: "automount")
      }
    } else {
      podReport("IBX-K8-019", nil, "the service-account token is auto-mounted; set automountServiceAccountToken: false unless the pod calls the API", snippet: "automount")
    }
    // IBX-K8-020
    let account = spec["serviceAccountName"]?.string ?? spec["serviceAccount"]?.string
    if account == nil || account == "default" {
      podReport("IBX-K8-020", spec.pair("serviceAccountName"), "runs as the default service account; create one per workload", snippet: "default service account")
    }
    // IBX-K8-024 / 027 (pod level)
    for sysctl in podSecurity?["sysctls"]?.items ?? [] {
      if let name = sysctl["name"]?.string, !settings.isSafeSysctl(name) {
        podReport("IBX-K8-024", podSecurity?.pair("sysctls"), "sysctl \(name) is not in the safe set", snippet: "sysctl \(name)")
      }
    }
    if let pair = podSecurity?.pair("fsGroup"), pair.value.int == 0 {
      podReport("IBX-K8-027", pair, "fsGroup: 0 makes volumes group-owned by root", snippet: "fsGroup 0")
    }
    if let pair = podSecurity?.pair("supplementalGroups"), (pair.value.items ?? []).contains(where: { $0.int == 0 }) {
      podReport("IBX-K8-027", pair, "supplementalGroups contains group 0", snippet: "supplementalGroups 0")
    }
    // IBX-K8-010 / 011 (volumes)
    let volumes = spec["volumes"]?.items ?? []
    var hostPathVolumes: [String: (path: String, item: YAMLNode)] = [:]
    for volume in volumes {
      guard let hostPath = volume["hostPath"], let path = hostPath["path"]?.string else { continue }
      hostPathVolumes[volume["name"]?.string ?? ""] = (path, volume)
    }
    let containers = self.containers(of: spec)
    for (name, (path, item)) in hostPathVolumes.sorted(by: { $0.key < $1.key }) {
      let pair = YAMLPair(key: name, keyPosition: item.pair("hostPath")?.keyPosition ?? item.position, value: item)
      if ComposeChecker.isRuntimeSocket(path) {
        podReport("IBX-K8-011", pair, "hostPath volume \(name) mounts the container runtime socket \(path); that controls every container on the node", snippet: "socket \(path)")
        continue
      }
      let writable = containers.contains { container in
        (container.node["volumeMounts"]?.items ?? []).contains { $0["name"]?.string == name && $0["readOnly"]?.bool != true }
      }
      let sensitive = ComposeChecker.isSensitiveHostPath(path)
      podReport("IBX-K8-010", pair,
                "hostPath volume \(name) mounts the node's \(path)\(writable ? " writable" : "")\(sensitive ? " (a sensitive path)" : ""); use a PersistentVolumeClaim, emptyDir or ConfigMap",
                snippet: "hostPath \(path)", severity: (writable || sensitive) ? .high : .medium)
    }
    // IBX-K8-031 (strict)
    if sink.isEnabled("IBX-K8-031"), !ignored.rules.contains("IBX-K8-031") {
      let labels = (templateMetadata?["labels"]?.pairs ?? []).reduce(into: [String: String]()) { $0[$1.key] = $1.value.string ?? "" }
      let namespace = object.namespace ?? "default"
      let selected = networkPolicies.contains { policy in
        (policy.namespace ?? "default") == namespace && Self.selects(policy.node.at("spec", "podSelector"), labels: labels)
      }
      if !selected {
        podReport("IBX-K8-031", nil, "no NetworkPolicy in this audit selects the pod", snippet: "networkpolicy")
      }
    }

    let annotations = (templateMetadata?["annotations"]?.pairs ?? []) + (object.kind == "Pod" ? [] : (object.node.at("metadata", "annotations")?.pairs ?? []))
    func annotation(_ key: String) -> String? { annotations.first { $0.key == key }?.value.string }

    for container in containers {
      checkContainer(container, object: object, spec: spec, annotation: annotation, ignored: ignored)
    }
  }

  struct Ignored {
    var rules: Set<String>
    var reason: String
  }

  /// `ibex.dev/ignore` annotations on the workload or its pod template.
  func ignoredRules(_ object: KubernetesObject, templateMetadata: YAMLNode?) -> Ignored {
    var rules = Set<String>()
    var reason = ""
    for metadata in [object.node["metadata"], templateMetadata].compactMap({ $0 }) {
      if let list = metadata.at("annotations", "ibex.dev/ignore")?.string {
        rules.formUnion(list.split(whereSeparator: { $0 == "," || $0 == " " }).map { String($0).uppercased() })
      }
      if let text = metadata.at("annotations", "ibex.dev/ignore-reason")?.string { reason = text }
    }
    return Ignored(rules: rules, reason: reason)
  }

  func suppressed(_ id: String, at position: SourcePosition, object: String, _ message: String, _ reason: String) {
    sink.add(id, at: position, object: object, message)
    if let index = sink.findings.indices.last, sink.findings[index].ruleID == id, sink.findings[index].start == position {
      sink.findings[index].suppression = Suppression(kind: .inSource, justification: reason)
    }
  }

  func containers(of spec: YAMLNode) -> [Container] {
    var result: [Container] = []
    for group in ["initContainers", "containers", "ephemeralContainers"] {
      for item in spec[group]?.items ?? [] {
        let name = item["name"]?.string ?? "?"
        result.append(Container(name: name, node: item, group: group, position: item.pair("name")?.keyPosition ?? item.position))
      }
    }
    return result
  }

  static func selects(_ selector: YAMLNode?, labels: [String: String]) -> Bool {
    guard let selector, !selector.isNull else { return true }
    for pair in selector["matchLabels"]?.pairs ?? [] where labels[pair.key] != pair.value.string {
      return false
    }
    for expression in selector["matchExpressions"]?.items ?? [] {
      let key = expression["key"]?.string ?? ""
      let values = (expression["values"]?.items ?? []).compactMap(\.string)
      switch expression["operator"]?.string ?? "" {
      case "In": if !values.contains(labels[key] ?? "\u{0}") { return false }
      case "NotIn": if let v = labels[key], values.contains(v) { return false }
      case "Exists": if labels[key] == nil { return false }
      case "DoesNotExist": if labels[key] != nil { return false }
      default: return false
      }
    }
    return true
  }

  static let allowedSELinuxTypes: Set<String> = ["container_t", "container_init_t", "container_kvm_t", "container_engine_t"]

  func checkContainer(
    _ container: Container, object: KubernetesObject, spec: YAMLNode, annotation: (String) -> String?, ignored: Ignored
  ) {
    let node = container.node
    let security = node["securityContext"]
    let podSecurity = spec["securityContext"]
    let objectName = "\(object.objectName)/container/\(container.name)"
    let scope = [object.node.position.line, container.position.line, node.position.line]
    let label = "\(object.kind) \(object.name) container \"\(container.name)\""
    func report(_ id: String, _ pair: YAMLPair?, _ message: String, snippet: String, severity: Severity? = nil) {
      let position = pair?.keyPosition ?? container.position
      if ignored.rules.contains(id) { return suppressed(id, at: position, object: objectName, "\(label): " + message, ignored.reason) }
      sink.add(id, at: position, object: objectName, "\(label): " + message, snippet: snippet, scope: scope, severity: severity)
    }
    /// Container value, else pod value (for the fields Kubernetes inherits).
    func effective(_ key: String) -> YAMLPair? { security?.pair(key) ?? podSecurity?.pair(key) }

    // IBX-K8-001
    if let pair = security?.pair("privileged"), pair.value.bool == true {
      report("IBX-K8-001", pair, "privileged: true gives full access to the node", snippet: "privileged")
    }
    // IBX-K8-002
    let escalation = security?.pair("allowPrivilegeEscalation")
    if escalation?.value.bool != false {
      report("IBX-K8-002", escalation, "allowPrivilegeEscalation is not false (the default allows it); set securityContext.allowPrivilegeEscalation: false", snippet: "allowPrivilegeEscalation")
    }
    // IBX-K8-003 / 004
    let capabilities = security?["capabilities"]
    let drops = (capabilities?["drop"]?.items ?? []).compactMap(\.string).map(normalizeCapability)
    if !drops.contains("ALL") {
      report("IBX-K8-003", security?.pair("capabilities"), "capabilities.drop does not contain ALL; drop ALL and add back only what is needed", snippet: "drop ALL")
    }
    for cap in capabilities?["add"]?.items ?? [] {
      if let name = cap.string, settings.isDangerousCapability(name) {
        report("IBX-K8-004", capabilities?.pair("add"), "capability \(normalizeCapability(name)) is added; it opens known escape or host-interference paths", snippet: "add \(normalizeCapability(name))")
      }
    }
    // IBX-K8-005 / 006 / 027
    let nonRoot = effective("runAsNonRoot")
    let user = effective("runAsUser")
    let group = effective("runAsGroup")
    let userID = user?.value.int
    if nonRoot?.value.bool != true && (userID == nil || userID == 0) {
      report("IBX-K8-005", user ?? nonRoot,
             userID == 0 ? "runAsUser: 0 runs as root" : "runAsNonRoot is not true and runAsUser is not set, so the image's user (often root) applies; set runAsNonRoot: true and runAsUser: 10001",
             snippet: "run as root")
    }
    let hostUsersFalse = spec["hostUsers"]?.bool == false
    if !hostUsersFalse {
      if let userID, userID < 10000 {
        report("IBX-K8-006", user, "runAsUser \(userID) is below 10000 and may collide with a host user", snippet: "runAsUser low")
      } else if userID == nil {
        report("IBX-K8-006", nil, "runAsUser is not set, so the uid cannot be checked to be >= 10000", snippet: "runAsUser unset")
      }
      if let gid = group?.value.int, gid < 10000, gid != 0 {
        report("IBX-K8-006", group, "runAsGroup \(gid) is below 10000", snippet: "runAsGroup low")
      }
    }
    if let group, group.value.int == 0 {
      report("IBX-K8-027", group, "runAsGroup: 0 runs with the root group", snippet: "runAsGroup 0")
    }
    // IBX-K8-007
    let readOnly = security?.pair("readOnlyRootFilesystem")
    if readOnly?.value.bool != true {
      report("IBX-K8-007", readOnly, "readOnlyRootFilesystem is not true; set it and mount emptyDir where the app writes", snippet: "readOnlyRootFilesystem")
    }
    // IBX-K8-008
    let seccompType = security?.at("seccompProfile", "type")?.string
      ?? annotation("container.seccomp.security.alpha.kubernetes.io/\(container.name)").map(Self.legacySeccomp)
      ?? podSecurity?.at("seccompProfile", "type")?.string
      ?? annotation("seccomp.security.alpha.kubernetes.io/pod").map(Self.legacySeccomp)
    if seccompType != "RuntimeDefault" && seccompType != "Localhost" {
      report("IBX-K8-008", security?.pair("seccompProfile") ?? podSecurity?.pair("seccompProfile"),
             seccompType == "Unconfined" ? "seccomp profile is Unconfined" : "no seccomp profile is set; set securityContext.seccompProfile.type: RuntimeDefault",
             snippet: "seccomp")
    }
    // IBX-K8-026
    let appArmor = security?.at("appArmorProfile", "type")?.string ?? podSecurity?.at("appArmorProfile", "type")?.string
    let legacyAppArmor = annotation("container.apparmor.security.beta.kubernetes.io/\(container.name)")
    if appArmor == "Unconfined" || legacyAppArmor == "unconfined" {
      report("IBX-K8-026", security?.pair("appArmorProfile") ?? podSecurity?.pair("appArmorProfile"), "AppArmor is Unconfined", snippet: "apparmor")
    }
    if let selinux = effective("seLinuxOptions") {
      let type = selinux.value["type"]?.string
      let custom = (type.map { !Self.allowedSELinuxTypes.contains($0) } ?? false) || selinux.value["user"] != nil || selinux.value["role"] != nil
      if custom {
        report("IBX-K8-026", selinux, "custom seLinuxOptions (type/user/role) change the SELinux confinement", snippet: "selinux")
      }
    }
    // IBX-K8-025
    if let pair = security?.pair("procMount"), pair.value.string == "Unmasked" {
      report("IBX-K8-025", pair, "procMount: Unmasked exposes host /proc paths", snippet: "procMount")
    }
    // IBX-K8-012 / 013 / 014
    let resources = node["resources"]
    let limits = resources?["limits"]
    let requests = resources?["requests"]
    if limits?["memory"] == nil {
      report("IBX-K8-012", node.pair("resources"), "no memory limit; set resources.limits.memory", snippet: "memory limit")
    }
    if limits?["cpu"] == nil {
      report("IBX-K8-013", node.pair("resources"), "no CPU limit; set resources.limits.cpu", snippet: "cpu limit")
    }
    let missingRequests = ["cpu", "memory"].filter { requests?[$0] == nil && limits?[$0] == nil }
    if !missingRequests.isEmpty {
      report("IBX-K8-014", node.pair("resources"), "no \(missingRequests.joined(separator: " or ")) request; set resources.requests", snippet: "requests \(missingRequests)")
    }
    // IBX-K8-015 / 016 / 030
    if let pair = node.pair("image"), let image = pair.value.string {
      let reference = ImageReference(image)
      if reference.isUntagged || reference.isLatest {
        report("IBX-K8-015", pair, reference.isLatest ? "image \(image) uses the moving latest tag; pin a version" : "image \(image) has no tag, so it means latest; pin a version", snippet: "image \(image)")
      }
      if !reference.isDigestPinned {
        report("IBX-K8-016", pair, "image \(image) is not pinned by digest", snippet: "image digest \(image)")
      }
    }
    // Kubernetes defaults the policy to Always for an untagged or :latest image.
    let pull = node.pair("imagePullPolicy")
    let defaultAlways = node["image"]?.string.map { ImageReference($0).isUntagged || ImageReference($0).isLatest } ?? false
    if pull.map({ $0.value.string != "Always" }) ?? !defaultAlways {
      report("IBX-K8-030", pull, "imagePullPolicy is not Always", snippet: "imagePullPolicy")
    }
    // IBX-K8-017 / 018
    for env in node["env"]?.items ?? [] {
      let name = env["name"]?.string ?? ""
      if let ref = env.at("valueFrom", "secretKeyRef") {
        _ = ref
        report("IBX-K8-017", env.pair("valueFrom"), "env \(name) comes from a Secret; mount the Secret as a file instead", snippet: "secret env \(name)")
      }
      if let value = env["value"]?.string, !value.isEmpty, !value.contains("$("), settings.isSecretName(name), !name.uppercased().hasSuffix("_FILE") {
        report("IBX-K8-018", env.pair("value"), "env \(name) has a literal secret-looking value; move it to a Secret mounted as a file", snippet: "literal env \(name)")
      }
    }
    for source in node["envFrom"]?.items ?? [] where source["secretRef"] != nil {
      report("IBX-K8-017", source.pair("secretRef"), "envFrom secretRef puts a whole Secret into the environment; mount it as a file instead", snippet: "envFrom secret")
    }
    // IBX-K8-021
    let sidecar = container.isInit && node["restartPolicy"]?.string == "Always"
    if object.isLongRunning && container.group == "containers" || sidecar {
      let missing = ["livenessProbe", "readinessProbe"].filter { node[$0] == nil }
      if !missing.isEmpty {
        report("IBX-K8-021", nil, "\(missing.joined(separator: " and ")) missing", snippet: "probes \(missing)")
      }
    }
    // IBX-K8-022 / 023
    for port in node["ports"]?.items ?? [] {
      if let pair = port.pair("hostPort"), (pair.value.int ?? 1) != 0 {
        report("IBX-K8-022", pair, "hostPort \(pair.value.string ?? "") binds on the node; expose the pod through a Service", snippet: "hostPort")
      }
      if let pair = port.pair("containerPort"), let value = pair.value.int, value < 1024 {
        report("IBX-K8-023", pair, "containerPort \(value) is below 1024 and needs NET_BIND_SERVICE or root", snippet: "containerPort \(value)")
      }
    }
  }

  /// `runtime/default` -> RuntimeDefault, `localhost/x` -> Localhost, `unconfined` -> Unconfined.
  static func legacySeccomp(_ value: String) -> String {
    if value == "runtime/default" || value == "docker/default" { return "RuntimeDefault" }
    if value.hasPrefix("localhost/") { return "Localhost" }
    if value == "unconfined" { return "Unconfined" }
    return value
  }
}
