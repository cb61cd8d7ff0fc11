import Foundation
import Glibc
import Testing

/// An OCI bundle with a minimal root filesystem: Debian's busybox-static for the userland and
/// the ibex under test as /sbin/ibex, with /init linked to it.
struct ContainerBundle {
  let path = makeScratchDirectory()
  var rootfs: String { "\(path)/rootfs" }

  /// `configure` changes the generated config.json last (a posture under test: capabilities,
  /// seccomp, mounts, devices, namespaces, resources); `environment` is added to the process's.
  init(
    args: [String], readonlyRoot: Bool = true, services: [String: String] = [:], environment: [String] = [],
    configure: (inout [String: Any]) -> Void = { _ in }
  ) throws {
    let fm = FileManager.default
    for dir in ["bin", "proc", "dev", "sys", "tmp", "etc"] {
      try fm.createDirectory(atPath: "\(rootfs)/\(dir)", withIntermediateDirectories: true)
    }
    try fm.copyItem(atPath: "/bin/busybox", toPath: "\(rootfs)/bin/busybox")
    for applet in try runCommand(["/bin/busybox", "--list"]).stdout.split(separator: "\n") where applet != "busybox" {
      try fm.createSymbolicLink(atPath: "\(rootfs)/bin/\(applet)", withDestinationPath: "busybox")
    }
    try fm.createDirectory(atPath: "\(rootfs)/sbin", withIntermediateDirectories: true)
    try fm.copyItem(atPath: ibexBinary, toPath: "\(rootfs)/sbin/ibex")
    try fm.createSymbolicLink(atPath: "\(rootfs)/init", withDestinationPath: "sbin/ibex")
    if !services.isEmpty {
      try fm.createDirectory(atPath: "\(rootfs)/etc/ibex/services", withIntermediateDirectories: true)
      for (name, text) in services {
        try text.write(toFile: "\(rootfs)/etc/ibex/services/\(name)", atomically: true, encoding: .utf8)
      }
    }
    try "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n".write(
      toFile: "\(rootfs)/etc/passwd", atomically: true, encoding: .utf8)
    try "root:x:0:\nnogroup:x:65534:\n".write(toFile: "\(rootfs)/etc/group", atomically: true, encoding: .utf8)
    let spec = try runCommand(["/usr/sbin/runc", "spec", "--bundle", path])
    #expect(spec.status == 0, "runc spec: \(spec.stderr)")
    let configPath = "\(path)/config.json"
    var config = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: configPath))) as! [String: Any]
    var process = config["process"] as! [String: Any]
    process["terminal"] = false
    process["args"] = args
    process["env"] = ["PATH=/bin", "HOME=/"] + environment
    // Docker's default capability set (runc's own default is smaller: no SETUID/SETGID).
    let dockerDefault = [
      "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD", "CAP_NET_RAW", "CAP_SETGID",
      "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE",
    ]
    process["capabilities"] = ["bounding": dockerDefault, "effective": dockerDefault, "permitted": dockerDefault]
    config["process"] = process
    var root = config["root"] as! [String: Any]
    root["readonly"] = readonlyRoot
    config["root"] = root
    configure(&config)
    try JSONSerialization.data(withJSONObject: config).write(to: URL(fileURLWithPath: configPath))
  }

  /// Starts `runc run` in the foreground; its exit code is the container's.
  func run(id: String) throws -> RunningCommand {
    try RunningCommand(["/usr/sbin/runc", "run", "--bundle", path, id])
  }
}

/// Whether IBEX_BIN is a static binary that can run alone in a busybox root filesystem.
let ibexIsStatic: Bool = {
  (try? runCommand(["/usr/bin/readelf", "-lW", ibexBinary]))
    .map { $0.status == 0 && !$0.stdout.contains("INTERP") } ?? false
}()

@Suite(
  "ibex run in a runc container",
  .enabled(if: isRoot && FileManager.default.isExecutableFile(atPath: "/usr/sbin/runc"), "needs root and runc"),
  .enabled(if: ibexIsStatic, "needs the static release build (scripts/build-release.sh, IBEX_BIN)"))
struct ContainerTests {
  @Test("as PID 1 of a real container, `runc kill ID TERM` gives the container the child's exit code")
  func killGivesChildExitCode() throws {
    let script = """
      echo "ppid=$PPID"
      i=0; while [ $i -lt 200 ]; do ( true & ); i=$((i+1)); done
      echo "zombies=$(grep -l '^State:.Z' /proc/[0-9]*/status 2>/dev/null | wc -l)"
      trap 'echo got TERM; exit 7' TERM
      echo ready
      while :; do sleep 0.05; done
      """
    let bundle = try ContainerBundle(args: ["/sbin/ibex", "run", "--", "/bin/sh", "-c", script])
    let id = "ibex-test-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
    let container = try bundle.run(id: id)
    let stdout = "\(container.directory)/stdout"
    #expect(waitUntil(timeout: 30) { fileContents(stdout).contains("ready\n") })
    let kill = try runCommand(["/usr/sbin/runc", "kill", id, "TERM"])
    #expect(kill.status == 0, "runc kill: \(kill.stderr)")
    let result = container.finish(timeout: 30)
    _ = try? runCommand(["/usr/sbin/runc", "delete", "--force", id])
    #expect(result.status == 7, "stderr: \(result.stderr)")
    #expect(result.stdout.contains("ppid=1\n"), "the child's parent is ibex, PID 1 of the container")
    #expect(result.stdout.contains("got TERM\n"))
    // Zombies can exist for an instant while ibex reaps; the count is taken after 200 orphans.
    let zombies = result.stdout.split(separator: "\n").first { $0.hasPrefix("zombies=") }
    #expect(zombies != nil)
    if let zombies, let count = Int(zombies.dropFirst(8)) { #expect(count <= 1) }
  }

  @Test("/init supervises a service tree on a read-only root; `runc kill ID TERM` stops it in order with exit 0")
  func serviceTree() throws {
    let services = [
      "db.service": """
        [Service]
        NotificationFD=3
        ExecStart=/bin/sh -c 'trap "echo db: stopping; exit 0" TERM; echo "db: uid=$(id -u)"; echo >&3; while :; do sleep 0.05; done'
        User=nobody
        NoNewPrivileges=yes
        """,
      "web.service": """
        [Unit]
        Requires=db
        [Service]
        ExecStart=/bin/sh -c 'trap "echo web: stopping; exit 0" TERM; echo "web: up"; while :; do sleep 0.05; done'
        CapabilityBoundingSet=CAP_NET_BIND_SERVICE
        """,
    ]
    let bundle = try ContainerBundle(args: ["/init"], services: services)
    let id = "ibex-test-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
    let container = try bundle.run(id: id)
    #expect(waitUntil(timeout: 30) { fileContents("\(container.directory)/stdout").contains("web: up\n") })
    let kill = try runCommand(["/usr/sbin/runc", "kill", id, "TERM"])
    #expect(kill.status == 0, "runc kill: \(kill.stderr)")
    let result = container.finish(timeout: 30)
    _ = try? runCommand(["/usr/sbin/runc", "delete", "--force", id])
    #expect(result.status == 0, "stderr: \(result.stderr)")
    // Each line labelled with its service (docs/logging.md).
    #expect(result.stdout.split(separator: "\n") == ["db | db: uid=65534", "web | web: up", "web | web: stopping", "db | db: stopping"])
    #expect(result.stderr.contains("ibex: web: stopped"))
  }
}
