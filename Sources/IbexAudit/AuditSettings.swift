import Foundation

/// The `settings:` block of `.ibex.yaml`: lists the rules consult. Defaults follow the spec.
public struct AuditSettings: Sendable {
  /// Registries/repositories base images may come from (IBX-DF-006, policy; empty = rule off).
  public var trustedRegistries: [String] = []
  /// Image patterns known to set a non-root USER (satisfy IBX-DF-001 / IBX-CO-007).
  public var nonrootBaseImages: [String] = ["*:nonroot", "*:nonroot-*", "*:*-nonroot", "gcr.io/distroless/*:*nonroot*"]
  public var secretNamePatterns: [String] = [
    "(?i)(passw(or)?d|(^|_)pass($|_)|secret|token|api[_-]?key|access[_-]?key|private[_-]?key|credential|auth[_-]?key)"
  ]
  public var secretNameAllow: [String] = ["(?i)_FILE$", "PASSWORD_HASH_ALGO"]
  /// Bind-mount targets (or sources) that hold state and may be writable (IBX-CO-014).
  public var writableMounts: [String] = []
  /// Sysctls allowed in addition to the built-in safe set.
  public var safeSysctls: [String] = []
  public var dangerousCapabilities: [String] = [
    "ALL", "SYS_ADMIN", "NET_ADMIN", "SYS_MODULE", "SYS_PTRACE", "SYS_RAWIO", "DAC_READ_SEARCH", "NET_RAW",
    "BPF", "PERFMON", "SYS_BOOT", "MAC_ADMIN", "SETFCAP",
  ]

  public init() {}

  /// Sysctls Kubernetes calls safe (namespaced, isolated).
  static let builtInSafeSysctls: Set<String> = [
    "kernel.shm_rmid_forced", "net.ipv4.ip_local_port_range", "net.ipv4.ip_unprivileged_port_start",
    "net.ipv4.tcp_syncookies", "net.ipv4.ping_group_range", "net.ipv4.ip_local_reserved_ports",
    "net.ipv4.tcp_keepalive_time", "net.ipv4.tcp_fin_timeout", "net.ipv4.tcp_keepalive_intvl",
    "net.ipv4.tcp_keepalive_probes",
  ]

  func isSafeSysctl(_ name: String) -> Bool {
    AuditSettings.builtInSafeSysctls.contains(name) || safeSysctls.contains(name)
  }

  /// Whether a variable name looks like it holds a secret.
  func isSecretName(_ name: String) -> Bool {
    guard secretNamePatterns.contains(where: { name.matches(regex: $0) }) else { return false }
    return !secretNameAllow.contains(where: { name.matches(regex: $0) })
  }

  func isDangerousCapability(_ capability: String) -> Bool {
    dangerousCapabilities.map { normalizeCapability($0) }.contains(normalizeCapability(capability))
  }

  func isNonrootBaseImage(_ image: String) -> Bool {
    nonrootBaseImages.contains { Glob.matches(pattern: $0, path: image) }
  }
}

/// `cap_sys_admin`, `CAP_SYS_ADMIN` and `SYS_ADMIN` are the same capability.
func normalizeCapability(_ name: String) -> String {
  let upper = name.uppercased().trimmingCharacters(in: .whitespaces)
  return upper.hasPrefix("CAP_") ? String(upper.dropFirst(4)) : upper
}
