import Foundation
import Glibc
import Testing

/// The images without Docker: the root filesystem `images/alpine/Dockerfile` builds (ImageBundle),
/// with the sample app of deploy/compose, run by runc the way compose.yaml runs it.
@Suite(
  "ibex images in runc",
  .enabled(if: isRoot && FileManager.default.isExecutableFile(atPath: "/usr/sbin/runc"), "needs root and runc"),
  .enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/sbin/chroot"), "needs chroot (coreutils)"),
  .enabled(if: ibexIsStatic, "needs the static release build (scripts/build-release.sh, IBEX_BIN)"))
struct ImageTests {
  @Test("setup.sh lays out the image: /init, the ibex account, root's service directory, no setuid file")
  func layout() throws {
    let image = try ImageBundle(.rootless)
    let rootfs = image.rootfs
    #expect((try? FileManager.default.destinationOfSymbolicLink(atPath: "\(rootfs)/init")) == "/usr/sbin/ibex")
    // The s6-overlay commands scripts call by their /command path.
    for name in ["with-contenv", "printcontenv", "s6-svc", "s6-setuidgid", "s6-log", "logutil-service"] {
      #expect((try? FileManager.default.destinationOfSymbolicLink(atPath: "\(rootfs)/command/\(name)")) == "/usr/sbin/ibex")
    }
    #expect(fileContents("\(rootfs)/etc/passwd").contains("\nibex:x:10001:10001:ibex:/var/empty:/sbin/nologin\n"))
    #expect(fileContents("\(rootfs)/etc/group").contains("\nibex:x:10001:\n"))
    var info = stat()
    #expect(stat("\(rootfs)/etc/ibex/services", &info) == 0)
    #expect(info.st_uid == 0 && info.st_mode & 0o7777 == 0o755, "only root may add services")
    // A tmpfs on /run takes this mode (runc), and ibex (10001) must create /run/ibex on it.
    #expect(stat("\(rootfs)/run", &info) == 0)
    #expect(info.st_uid == 0 && info.st_mode & 0o7777 == 0o1777)
    #expect(stat("\(rootfs)/run/ibex", &info) == 0)
    #expect(info.st_uid == 10001 && info.st_gid == 10001 && info.st_mode & 0o7777 == 0o750)
    let setuid = try runCommand(["/usr/bin/find", rootfs, "-xdev", "-type", "f", "-perm", "/6000"])
    #expect(setuid.status == 0 && setuid.stdout.isEmpty, "setuid/setgid files: \(setuid.stdout)")
    // Running it again changes nothing (a rebuild FROM this image runs it again).
    let passwd = fileContents("\(rootfs)/etc/passwd")
    try ImageBundle.runSetup(in: rootfs, script: "\(repositoryRoot)/images/alpine/setup.sh", variant: .rootless)
    #expect(fileContents("\(rootfs)/etc/passwd") == passwd)
  }

  @Test("-rootless boots with no privilege on a read-only root with tmpfs /run: PID 1 is uid 10001 without capabilities")
  func rootless() throws {
    let image = try ImageBundle(.rootless)
    let id = imageContainerID()
    let container = try image.run(id: id)
    defer { _ = try? runCommand(["/usr/sbin/runc", "delete", "--force", id]) }
    let stdout = "\(container.directory)/stdout"
    #expect(waitUntil(timeout: 60) { fileContents(stdout).contains("heartbeat: web answers\n") }, "stderr: \(container.stderrSoFar)")

    // The container's own view of PID 1 (ibex) and of the web server.
    let status = statusFields(try ImageBundle.exec(id, ["cat", "/proc/1/status"]).stdout)
    #expect(status["Uid"] == "10001\t10001\t10001\t10001")
    #expect(status["Gid"] == "10001\t10001\t10001\t10001")
    for set in ["CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"] {
      #expect(status[set] == ImageBundle.noCapabilities, "\(set)")
    }
    #expect(status["NoNewPrivs"] == "1")
    let web = statusFields(try ImageBundle.exec(id, ["/bin/sh", "-c", "cat /proc/$(pidof httpd)/status"]).stdout)
    #expect(web["Uid"] == "10001\t10001\t10001\t10001")
    #expect(web["CapEff"] == ImageBundle.noCapabilities)

    // Read-only root; /run and /tmp are tmpfs without exec, suid or devices.
    let mounts = try ImageBundle.exec(id, ["cat", "/proc/1/mountinfo"]).stdout.split(separator: "\n").map { $0.split(separator: " ") }
    func mount(_ point: String) -> [Substring]? { mounts.last { $0.count > 9 && $0[4] == point } }
    #expect(mount("/").map { $0[5].split(separator: ",").contains("ro") } == true, "the root is read-only")
    for point in ["/run", "/tmp"] {
      let fields = mount(point) ?? []
      let separator = fields.firstIndex(of: "-") ?? fields.endIndex
      #expect(separator + 1 < fields.count && fields[separator + 1] == "tmpfs", "\(point) is a tmpfs")
      let options = Set(fields.count > 5 ? fields[5].split(separator: ",").map(String.init) : [])
      #expect(options.isSuperset(of: ["rw", "nosuid", "nodev", "noexec"]), "\(point): \(options)")
    }
    #expect(try ImageBundle.exec(id, ["touch", "/etc/ibex/services/evil.service"]).status != 0)
    #expect(try ImageBundle.exec(id, ["touch", "/run/written"]).status == 0)

    // The sample app: its configuration rendered from the read-only config and the secret file.
    #expect(try ImageBundle.exec(id, ["stat", "-c", "%a %u", "/run/app/httpd.conf"]).stdout == "600 10001\n")
    let page = try ImageBundle.exec(id, ["wget", "-q", "-O", "-", "http://127.0.0.1:8080/"])
    #expect(page.status == 0 && page.stdout.contains("ibex sample app"), "\(page.stderr)")
    #expect(try ImageBundle.exec(id, ["wget", "-q", "-O", "-", "http://127.0.0.1:8080/private/"]).status != 0)
    let secret = try ImageBundle.exec(id, ["wget", "-q", "-O", "-", "http://app:\(image.token)@127.0.0.1:8080/private/"])
    #expect(secret.status == 0 && secret.stdout.contains("private:"), "\(secret.stderr)")
    if ibexHasCheck {
      // The image's HEALTHCHECK and the Kubernetes probes.
      for probe in [["ibex", "check"], ["ibex", "check", "--ready"], ["ibex", "check", "--live"]] {
        let check = try ImageBundle.exec(id, probe)
        #expect(check.status == 0, "\(probe.joined(separator: " ")): \(check.stdout)\(check.stderr)")
      }
    }

    // docker stop: SIGTERM; ibex stops the worker before the web server it needs, exits 0.
    let kill = try runCommand(["/usr/sbin/runc", "kill", id, "TERM"])
    #expect(kill.status == 0, "runc kill: \(kill.stderr)")
    let result = container.finish(timeout: 30)
    #expect(result.status == 0, "stderr: \(result.stderr)")
    #expect(result.stdout.contains("heartbeat: stopping\n"))
    let log = result.stderr.split(separator: "\n").map(String.init)
    let heartbeatStopped = log.firstIndex { $0.hasPrefix("ibex: heartbeat: stopped") }
    let webStopped = log.firstIndex { $0.hasPrefix("ibex: web: stopped") }
    #expect(heartbeatStopped != nil && webStopped != nil && heartbeatStopped! < webStopped!, "\(result.stderr)")
  }

  @Test("the default image runs ibex as root with Docker's capabilities; `runc kill ID TERM` gives CMD's exit code")
  func defaultVariant() throws {
    let command = ["/bin/sh", "-c", "trap 'echo cmd: TERM; exit 3' TERM; echo cmd: ready; while :; do sleep 0.1; done"]
    let image = try ImageBundle(.default, command: command)
    let id = imageContainerID()
    let container = try image.run(id: id)
    defer { _ = try? runCommand(["/usr/sbin/runc", "delete", "--force", id]) }
    let stdout = "\(container.directory)/stdout"
    // CMD starts once the services are ready: the web server has passed its first health check.
    #expect(waitUntil(timeout: 60) { fileContents(stdout).contains("cmd: ready\n") }, "stderr: \(container.stderrSoFar)")
    #expect(fileContents(stdout).contains("app-config: /run/app/httpd.conf written\n"))

    let status = statusFields(try ImageBundle.exec(id, ["cat", "/proc/1/status"]).stdout)
    #expect(status["Uid"] == "0\t0\t0\t0")
    #expect(status["CapBnd"] == ImageBundle.dockerDefaultCapabilities)
    let page = try ImageBundle.exec(id, ["wget", "-q", "-O", "-", "http://127.0.0.1:8080/"])
    #expect(page.status == 0 && page.stdout.contains("ibex sample app"), "\(page.stderr)")
    if ibexHasCheck {
      let check = try ImageBundle.exec(id, ["/usr/sbin/ibex", "check"])
      #expect(check.status == 0, "ibex check: \(check.stdout)\(check.stderr)")
    }

    let kill = try runCommand(["/usr/sbin/runc", "kill", id, "TERM"])
    #expect(kill.status == 0, "runc kill: \(kill.stderr)")
    let result = container.finish(timeout: 30)
    #expect(result.status == 3, "stderr: \(result.stderr)")
    #expect(result.stdout.contains("cmd: TERM\n"))
    #expect(result.stderr.contains("ibex: web: stopped"))
  }

  @Test("-monitoring: serve-metrics runs as ibex-metrics without capabilities, serves the metrics, may read but not control")
  func monitoringVariant() throws {
    let image = try ImageBundle(.monitoring)
    #expect(fileContents("\(image.rootfs)/etc/passwd").contains("\nibex-metrics:x:10002:10002:ibex-metrics:/var/empty:/sbin/nologin\n"))
    var info = stat()
    #expect(stat("\(image.rootfs)/etc/ibex/services/metrics.service", &info) == 0)
    #expect(info.st_uid == 0 && info.st_mode & 0o7777 == 0o644)
    let id = imageContainerID()
    let container = try image.run(id: id)
    defer { _ = try? runCommand(["/usr/sbin/runc", "delete", "--force", id]) }
    func get(_ path: String) throws -> CommandResult {
      try ImageBundle.exec(id, ["wget", "-q", "-O", "-", "http://127.0.0.1:9469\(path)"])
    }
    #expect(waitUntil(timeout: 60) { (try? get("/readyz").status) == 0 }, "stderr: \(container.stderrSoFar)")
    let metrics = try get("/metrics")
    #expect(metrics.stdout.contains(#"ibex_service_up{service="metrics"} 1"#), "\(metrics.stdout)\(metrics.stderr)")
    #expect(metrics.stdout.contains(#"ibex_service_ready{service="web"} 1"#))
    #expect(metrics.stdout.contains(#"ibex_service_processes{service="web"} 1"#))

    let server = statusFields(try ImageBundle.exec(id, ["/bin/sh", "-c", "cat /proc/$(pidof ibex)/status"]).stdout)
    #expect(server["Uid"] == "10002\t10002\t10002\t10002")
    #expect(server["CapEff"] == ImageBundle.noCapabilities && server["CapBnd"] == ImageBundle.noCapabilities)
    #expect(server["NoNewPrivs"] == "1")
    // The control socket is root's and ibex-metrics's: that group reads, never controls.
    #expect(try ImageBundle.exec(id, ["stat", "-c", "%a %U %G", "/run/ibex/control"]).stdout == "660 root ibex-metrics\n")
    let asMetrics = ["/usr/sbin/ibex", "s6-setuidgid", "ibex-metrics", "/usr/sbin/ibex"]
    #expect(try ImageBundle.exec(id, asMetrics + ["metrics"]).status == 0)
    let stop = try ImageBundle.exec(id, asMetrics + ["stop", "web"])
    #expect(stop.status == 4, "\(stop.stdout)\(stop.stderr)")

    let kill = try runCommand(["/usr/sbin/runc", "kill", id, "TERM"])
    #expect(kill.status == 0, "runc kill: \(kill.stderr)")
    #expect(container.finish(timeout: 30).status == 0)
  }

  @Test("a service file the image cannot load stops the container at once with exit 100")
  func invalidServiceFile() throws {
    let image = try ImageBundle(.rootless)
    try "[Service]\nExecStart=/bin/true\nRestrat=always\n".write(
      toFile: "\(image.rootfs)/etc/ibex/services/typo.service", atomically: true, encoding: .utf8)
    let id = imageContainerID()
    let result = try image.run(id: id).finish(timeout: 30)
    _ = try? runCommand(["/usr/sbin/runc", "delete", "--force", id])
    #expect(result.status == 100, "stderr: \(result.stderr)")
    #expect(result.stderr.contains("typo.service:3: unknown directive 'Restrat'"))
  }
}
