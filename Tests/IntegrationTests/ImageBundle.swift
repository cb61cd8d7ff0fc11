import Foundation
import Glibc
import Testing

/// The root filesystem of an ibex image, assembled the way `images/alpine/Dockerfile` builds it,
/// with Debian's busybox-static standing in for Alpine's userland, plus the sample app of
/// `deploy/compose/app` on top (its Dockerfile's `COPY rootfs/ /`), in an OCI bundle that runs
/// the way `deploy/compose/compose.yaml` runs it: read-only root, tmpfs `/run` and `/tmp`
/// (`noexec,nosuid,nodev`), the secret as a file, the configuration read-only.
struct ImageBundle {
  enum Variant: String {
    /// ibex runs as root; services drop privileges per their service files.
    case `default`
    /// `USER 10001:10001`, no capabilities: nothing privileged anywhere.
    case rootless
    /// The default variant plus metrics.service (`ibex serve-metrics` as ibex-metrics).
    case monitoring
  }

  /// The image's unprivileged account (`setup.sh`: IBEX_UID, IBEX_GID).
  static let uid = 10001
  /// Alpine's default PATH (the `alpine` image's ENV).
  static let path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
  /// Docker's default capability set, as /proc shows it.
  static let dockerDefaultCapabilities = "00000000a80425fb"
  static let noCapabilities = "0000000000000000"

  let bundle: ContainerBundle
  let variant: Variant
  /// The password of the sample app's /private, in the secret file.
  let token = "t0ken-\(UInt32.random(in: 0...UInt32.max))"
  var rootfs: String { bundle.rootfs }

  /// Assembles the image and writes the bundle's config.json; `command` is the container's CMD
  /// (ENTRYPOINT is /init).
  init(_ variant: Variant, command: [String] = [], environment: [String] = []) throws {
    self.variant = variant
    bundle = try ContainerBundle(args: ["/init"] + command, readonlyRoot: true)
    let fm = FileManager.default
    let images = "\(repositoryRoot)/images/alpine"

    // COPY --from=builder --chmod=0755 /out/ibex /usr/sbin/ibex (ContainerBundle put it in /sbin)
    try fm.removeItem(atPath: "\(rootfs)/sbin/ibex")
    try fm.removeItem(atPath: "\(rootfs)/init")
    try fm.createDirectory(atPath: "\(rootfs)/usr/sbin", withIntermediateDirectories: true)
    try fm.copyItem(atPath: ibexBinary, toPath: "\(rootfs)/usr/sbin/ibex")
    chmod("\(rootfs)/usr/sbin/ibex", 0o755)
    // COPY images/alpine/rootfs/ /
    try Self.copyTree("\(images)/rootfs", to: rootfs)
    // RUN setup.sh default; the rootless stage is FROM default, then RUN setup.sh rootless.
    try Self.runSetup(in: rootfs, script: "\(images)/setup.sh", variant: .default)
    if variant == .rootless { try Self.runSetup(in: rootfs, script: "\(images)/setup.sh", variant: .rootless) }
    // The monitoring stage is FROM default: COPY images/alpine/monitoring/ /, RUN setup.sh
    // monitoring, ENV IBEX_CONTROL_GROUP=ibex-metrics (below).
    if variant == .monitoring {
      try Self.copyTree("\(images)/monitoring", to: rootfs)
      try Self.runSetup(in: rootfs, script: "\(images)/setup.sh", variant: .monitoring)
    }
    // The sample app's Dockerfile: COPY rootfs/ / (its busybox-extras httpd is busybox's httpd).
    try Self.copyTree("\(repositoryRoot)/deploy/compose/app/rootfs", to: rootfs)

    // What compose.yaml mounts: the secret as a file (0400, owned by the user that reads it),
    // the configuration read-only.
    let secret = "\(bundle.path)/app_token"
    try "\(token)\n".write(toFile: secret, atomically: true, encoding: .utf8)
    chmod(secret, 0o400)
    if variant == .rootless { chown(secret, uid_t(Self.uid), gid_t(Self.uid)) }
    let config = "\(bundle.path)/config"
    try fm.createDirectory(atPath: config, withIntermediateDirectories: true)
    try fm.copyItem(atPath: "\(repositoryRoot)/deploy/compose/config/httpd.conf", toPath: "\(config)/httpd.conf")
    try configure(secret: secret, config: config, environment: environment)
  }

  private func configure(secret: String, config: String, environment: [String]) throws {
    let configPath = "\(bundle.path)/config.json"
    var spec = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: configPath))) as! [String: Any]
    var process = spec["process"] as! [String: Any]
    let home = variant == .rootless ? "/var/empty" : "/root"
    let imageEnvironment = variant == .monitoring ? ["IBEX_CONTROL_GROUP=ibex-metrics"] : []
    process["env"] = ["PATH=\(Self.path)", "HOME=\(home)"] + imageEnvironment + environment
    if variant == .rootless {
      // USER 10001:10001, cap_drop: [ALL], no-new-privileges.
      process["user"] = ["uid": Self.uid, "gid": Self.uid]
      process["capabilities"] = ["bounding": [], "effective": [], "permitted": [], "inheritable": [], "ambient": []]
      process["noNewPrivileges"] = true
    }
    spec["process"] = process
    let hardenedTmpfs = ["nosuid", "nodev", "noexec", "mode=1777"]
    var mounts = spec["mounts"] as! [[String: Any]]
    mounts += [
      ["destination": "/run", "type": "tmpfs", "source": "tmpfs", "options": hardenedTmpfs + ["size=16m"]],
      ["destination": "/tmp", "type": "tmpfs", "source": "tmpfs", "options": hardenedTmpfs + ["size=32m"]],
      ["destination": "/run/secrets/app_token", "type": "bind", "source": secret, "options": ["bind", "ro"]],
      ["destination": "/etc/app", "type": "bind", "source": config, "options": ["bind", "ro"]],
    ]
    spec["mounts"] = mounts
    try JSONSerialization.data(withJSONObject: spec).write(to: URL(fileURLWithPath: configPath))
  }

  /// `cp -a SOURCE/. DESTINATION/`: modes, links and directories as COPY keeps them.
  static func copyTree(_ source: String, to destination: String) throws {
    let copy = try runCommand(["/bin/cp", "-a", "\(source)/.", "\(destination)/"])
    #expect(copy.status == 0, "cp \(source): \(copy.stderr)")
  }

  /// `RUN --mount=type=bind,source=images/alpine/setup.sh,target=/tmp/setup.sh sh /tmp/setup.sh
  /// VARIANT`: the same script, as root, chrooted into the root filesystem.
  static func runSetup(in rootfs: String, script: String, variant: Variant) throws {
    let copy = "\(rootfs)/tmp/setup.sh"
    try FileManager.default.copyItem(atPath: script, toPath: copy)
    defer { try? FileManager.default.removeItem(atPath: copy) }
    let setup = try runCommand(
      ["/usr/sbin/chroot", rootfs, "/bin/sh", "/tmp/setup.sh", variant.rawValue], environment: ["PATH": path])
    #expect(setup.status == 0, "setup.sh \(variant.rawValue): \(setup.stderr)")
  }

  func run(id: String) throws -> RunningCommand { try bundle.run(id: id) }

  /// `runc exec ID ARGS...`: as the container's process (same user, capabilities).
  static func exec(_ id: String, _ arguments: [String]) throws -> CommandResult {
    try runCommand(["/usr/sbin/runc", "exec", id] + arguments, timeout: 30)
  }
}

/// A fresh runc container id.
func imageContainerID() -> String { "ibex-image-\(getpid())-\(UInt32.random(in: 0...UInt32.max))" }

/// Whether this ibex has the control client (`ibex check`, issue 6); the image's HEALTHCHECK and
/// probes use it, the tests check it only when it is there.
let ibexHasCheck: Bool = {
  let available = (try? runCommand([ibexBinary, "check", "--help"]).status) == 0
  if !available {
    print("ImageTests: `\(ibexBinary) check --help` failed: this ibex has no `ibex check` yet; skipping the HEALTHCHECK and probe assertions")
  }
  return available
}()

/// Where an executable is: PATH, then where scripts/install-python-tools.sh links or installs.
func executable(_ name: String) -> String? {
  let path = ProcessInfo.processInfo.environment["PATH"] ?? ""
  let home = ProcessInfo.processInfo.environment["HOME"] ?? "/root"
  let directories = path.split(separator: ":").map(String.init)
    + ["/usr/local/bin", "/opt/ibex-python-tools/bin", "\(home)/.local/bin", "/usr/bin", "/bin"]
  return directories.map { "\($0)/\(name)" }.first { FileManager.default.isExecutableFile(atPath: $0) }
}

/// The text of a file of the repository.
func repositoryFile(_ path: String) -> String { fileContents("\(repositoryRoot)/\(path)") }
