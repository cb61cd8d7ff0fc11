/// Kubernetes objects found in manifests, with the pod template of every workload kind.
struct KubernetesObject {
  var kind: String
  var apiVersion: String
  var name: String
  var namespace: String?
  var node: YAMLNode
  /// Lines of the document this object is in (for `# ibex-ignore-file`).
  var document: Int

  /// Path from the object to its pod spec, per kind (spec section 9.3).
  static let podSpecPaths: [String: [String]] = [
    "Pod": ["spec"],
    "Deployment": ["spec", "template", "spec"], "ReplicaSet": ["spec", "template", "spec"],
    "StatefulSet": ["spec", "template", "spec"], "DaemonSet": ["spec", "template", "spec"],
    "Job": ["spec", "template", "spec"], "ReplicationController": ["spec", "template", "spec"],
    "DeploymentConfig": ["spec", "template", "spec"], "Rollout": ["spec", "template", "spec"],
    "CronJob": ["spec", "jobTemplate", "spec", "template", "spec"],
    "PodTemplate": ["template", "spec"],
  ]

  var objectName: String { "\(kind)/\(namespace ?? "default")/\(name)" }

  /// The pod spec and the metadata that goes with it (the template's, or the Pod's own).
  var podSpec: (spec: YAMLNode, metadata: YAMLNode?)? {
    if let path = Self.podSpecPaths[kind] {
      var current: YAMLNode? = node
      for key in path { current = current?[key] }
      guard let spec = current, spec.pairs != nil else { return nil }
      let metadata = kind == "Pod" ? node["metadata"] : templateNode?["metadata"]
      return (spec, metadata)
    }
    // Unknown kinds shaped like a workload.
    if let spec = node.at("spec", "template", "spec"), spec["containers"]?.items != nil {
      return (spec, node.at("spec", "template", "metadata"))
    }
    return nil
  }

  var templateNode: YAMLNode? {
    kind == "CronJob" ? node.at("spec", "jobTemplate", "spec", "template") : (kind == "PodTemplate" ? node["template"] : node.at("spec", "template"))
  }

  var isLongRunning: Bool { !["Job", "CronJob"].contains(kind) }

  static let clusterScoped: Set<String> = [
    "Namespace", "Node", "PersistentVolume", "ClusterRole", "ClusterRoleBinding", "StorageClass", "CustomResourceDefinition",
    "PriorityClass", "ValidatingWebhookConfiguration", "MutatingWebhookConfiguration", "APIService", "RuntimeClass",
    "IngressClass", "CSIDriver", "VolumeAttachment", "PodSecurityPolicy",
  ]
}

struct Container {
  var name: String
  var node: YAMLNode
  /// `containers`, `initContainers` or `ephemeralContainers`.
  var group: String
  var position: SourcePosition

  var isInit: Bool { group == "initContainers" }
}
