import Foundation
import Glibc
import Testing

/// An s6-overlay style image run as a real OCI container with `runc`, for the s6-overlay
/// compatibility matrix (spec s6-overlay-compat.md, section 12).
///
/// The root filesystem: Debian's busybox-static applets in /bin, the ibex under test at
/// /command/ibex with /init linked to it, the /command helper links (`ibex install-links
/// /command`, or links made here while that command does not exist), /etc/passwd with root,
/// nobody and `user` (1000), /etc/s6-overlay (so the image is in s6 mode), /var/run linked to
/// /run as in Alpine, and the `files` given. The host directory `out` is bind-mounted at /out
/// (mode 0777) so that tests can watch what services write, even on a read-only root.
///
///     let container = try S6Container(files: ["/etc/cont-init.d/a": .script("touch /out/a")])
///     try container.run(["true"])
///     let result = container.finish()     // the container's exit code and output
///
/// The container is deleted (`runc delete --force`) and its bundle removed when the object
/// goes away; `IBEX_KEEP_BUNDLES=1` keeps the bundle for a post-mortem.
final class S6Container: @unchecked Sendable {
  /// Something to put in the root filesystem.
  struct Entry {
    var text: String?
    var mode: mode_t
    var uid: uid_t = 0
    var gid: gid_t = 0
    /// A directory instead of a file.
    var isDirectory = false

    /// An executable script: `#!/bin/sh` is added unless the text starts with `#!`.
    static func script(_ text: String) -> Entry {
      Entry(text: text.hasPrefix("#!") ? text : "#!/bin/sh\n" + text + "\n", mode: 0o755)
    }
    /// A file with exactly this text (mode 0644 unless given).
    static func text(_ text: String, mode: mode_t = 0o644) -> Entry { Entry(text: text, mode: mode) }
    /// An empty file (e.g. a `contents.d/` or `dependencies.d/` entry).
    static var empty: Entry { Entry(text: "", mode: 0o644) }
    static func directory(mode: mode_t = 0o755, uid: uid_t = 0, gid: gid_t = 0) -> Entry {
      Entry(text: nil, mode: mode, uid: uid, gid: gid, isDirectory: true)
    }
  }

  /// What is mounted at /run.
  enum RunMount {
    /// /run is a directory of the image (Docker's default): its mode and owner.
    case directory(mode: mode_t = 0o755, uid: uid_t = 0, gid: gid_t = 0)
    /// `--tmpfs /run:OPTIONS`, e.g. `["exec", "mode=755"]`.
    case tmpfs([String])
    /// A host directory (a volume that outlives the container).
    case bind(String)
  }

  static let runc = "/usr/sbin/runc"
  /// Docker's default PATH.
  static let dockerPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
  /// The helper commands of s6-overlay that ibex provides under /command (spec section 5),
  /// linked here while `ibex install-links` is missing.
  static let helperNames = [
    "with-contenv", "printcontenv", "s6-svc", "s6-svstat", "s6-svwait", "s6-svscanctl", "s6-rc", "halt", "poweroff",
    "reboot", "shutdown", "logutil-service", "logutil-newfifo", "s6-log", "s6-setuidgid", "s6-envuidgid",
    "s6-applyuidgid", "with-retries", "s6-notifyoncheck",
  ]

  let bundle = makeScratchDirectory()
  let id = "ibex-s6-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
  var rootfs: String { bundle + "/rootfs" }
  /// Host side of /out.
  var out: String { bundle + "/out" }
  /// Messages about how the bundle was made (e.g. that /command links were made by hand).
  private(set) var notes: [String] = []

  private(set) var process: RunningCommand?
  private(set) var startTime: Date?
  private var result: CommandResult?

  /// - Parameters:
  ///   - files: path in the container → entry; parent directories are created (0755, root).
  ///   - environment: the container's variables (`ENV`, `-e`) besides PATH and HOME.
  ///   - path: the container's PATH (Docker's default unless given).
  ///   - workdir: the start directory (`WORKDIR`); created when missing.
  ///   - user: `--user uid:gid` (nil: root).
  ///   - noNewPrivileges: `--security-opt no-new-privileges`.
  ///   - readonlyRoot: `--read-only`.
  ///   - run: what /run is.
  ///   - varRunIsDirectory: the image has /var/run as a directory (with a file in it) rather
  ///     than Alpine's link to /run.
  ///   - s6Directory: create /etc/s6-overlay (the image is then in s6 mode whatever `files` holds).
  ///   - execline: install the host's execline programs (Debian's package, with the libraries
  ///     they need) and link them into /command, as docs/s6-overlay.md tells users to do with
  ///     Alpine's package. Needs `hostHasExecline`.
  init(
    files: [String: Entry] = [:], environment: [String: String] = [:], path: String = S6Container.dockerPath,
    workdir: String = "/", user: (uid: uid_t, gid: gid_t)? = nil, noNewPrivileges: Bool = false,
    readonlyRoot: Bool = false, run: RunMount = .directory(), varRunIsDirectory: Bool = false,
    s6Directory: Bool = true, execline: Bool = false
  ) throws {
    let fm = FileManager.default
    for dir in ["bin", "proc", "dev", "sys", "tmp", "etc", "usr/bin", "sbin", "root", "command", "var/log", "home/user"] {
      try fm.createDirectory(atPath: "\(rootfs)/\(dir)", withIntermediateDirectories: true)
    }
    chmod("\(rootfs)/tmp", 0o1777)
    chown("\(rootfs)/home/user", 1000, 1000)
    try fm.createDirectory(atPath: out, withIntermediateDirectories: true)
    chmod(out, 0o777)
    try fm.createDirectory(atPath: "\(rootfs)/out", withIntermediateDirectories: true)
    try fm.copyItem(atPath: "/bin/busybox", toPath: "\(rootfs)/bin/busybox")
    for applet in Self.busyboxApplets where applet != "busybox" {
      try fm.createSymbolicLink(atPath: "\(rootfs)/bin/\(applet)", withDestinationPath: "busybox")
    }
    try fm.copyItem(atPath: ibexBinary, toPath: "\(rootfs)/command/ibex")
    try fm.createSymbolicLink(atPath: "\(rootfs)/init", withDestinationPath: "command/ibex")
    try installLinks()
    if execline { try installExecline() }
    try "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\nuser:x:1000:1000:user:/home/user:/bin/sh\n"
      .write(toFile: "\(rootfs)/etc/passwd", atomically: true, encoding: .utf8)
    try "root:x:0:\nnogroup:x:65534:\nuser:x:1000:\n".write(
      toFile: "\(rootfs)/etc/group", atomically: true, encoding: .utf8)
    if s6Directory { try fm.createDirectory(atPath: "\(rootfs)/etc/s6-overlay/s6-rc.d", withIntermediateDirectories: true) }
    try fm.createDirectory(atPath: "\(rootfs)/var", withIntermediateDirectories: true)
    if varRunIsDirectory {
      try fm.createDirectory(atPath: "\(rootfs)/var/run", withIntermediateDirectories: true)
      try "old\n".write(toFile: "\(rootfs)/var/run/stale.pid", atomically: true, encoding: .utf8)
    } else {
      try fm.createSymbolicLink(atPath: "\(rootfs)/var/run", withDestinationPath: "../run")
    }
    try fm.createDirectory(atPath: "\(rootfs)/run", withIntermediateDirectories: true)
    if case .directory(let mode, let uid, let gid) = run {
      chmod("\(rootfs)/run", mode)
      chown("\(rootfs)/run", uid, gid)
    }
    if workdir != "/" { try fm.createDirectory(atPath: rootfs + workdir, withIntermediateDirectories: true) }
    // Directories first, so that a directory's owner and mode are not replaced by the defaults.
    for (name, entry) in files.sorted(by: { $0.key < $1.key }) where entry.isDirectory {
      try fm.createDirectory(atPath: rootfs + name, withIntermediateDirectories: true)
      chmod(rootfs + name, entry.mode)
      chown(rootfs + name, entry.uid, entry.gid)
    }
    for (name, entry) in files where !entry.isDirectory {
      let path = rootfs + name
      try fm.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
      try (entry.text ?? "").write(toFile: path, atomically: false, encoding: .utf8)
      chmod(path, entry.mode)
      chown(path, entry.uid, entry.gid)
    }

    let spec = Self.command([Self.runc, "spec", "--bundle", bundle])
    guard spec?.status == 0 else { throw BundleError("runc spec: \(spec?.stderr ?? "did not start")") }
    let configPath = "\(bundle)/config.json"
    var config = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: configPath))) as! [String: Any]
    var process = config["process"] as! [String: Any]
    process["terminal"] = false
    process["args"] = ["/init"]
    var env = ["PATH=\(path)", "HOME=\(user.map { $0.uid == 1000 ? "/home/user" : "/" } ?? "/root")", "HOSTNAME=s6test"]
    for (name, value) in environment.sorted(by: { $0.key < $1.key }) { env.append("\(name)=\(value)") }
    process["env"] = env
    process["cwd"] = workdir
    process["noNewPrivileges"] = noNewPrivileges
    if let user { process["user"] = ["uid": Int(user.uid), "gid": Int(user.gid)] }
    // Docker's default capability set (runc's own default is smaller: no SETUID/SETGID). As in
    // Docker, a non-root user keeps only the bounding set.
    let dockerDefault = [
      "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD", "CAP_NET_RAW", "CAP_SETGID",
      "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE",
    ]
    let isRootUser = (user?.uid ?? 0) == 0
    process["capabilities"] = [
      "bounding": dockerDefault, "effective": isRootUser ? dockerDefault : [],
      "permitted": isRootUser ? dockerDefault : [],
    ]
    config["process"] = process
    var root = config["root"] as! [String: Any]
    root["readonly"] = readonlyRoot
    config["root"] = root
    var mounts = config["mounts"] as! [[String: Any]]
    mounts.append(["destination": "/out", "type": "bind", "source": out, "options": ["rbind", "rw"]])
    switch run {
    case .directory: break
    case .tmpfs(let options):
      mounts.append(["destination": "/run", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "nodev"] + options])
    case .bind(let host):
      mounts.append(["destination": "/run", "type": "bind", "source": host, "options": ["rbind", "rw"]])
    }
    config["mounts"] = mounts
    // Own hostname only: runc spec's default namespaces (pid, ipc, uts, mount, network).
    config["hostname"] = "s6test"
    try JSONSerialization.data(withJSONObject: config).write(to: URL(fileURLWithPath: configPath))
  }

  deinit {
    if let process, process.process.isRunning { _ = Self.command([Self.runc, "kill", id, "KILL"], timeout: 10) }
    _ = Self.command([Self.runc, "delete", "--force", id], timeout: 20)
    if ProcessInfo.processInfo.environment["IBEX_KEEP_BUNDLES"] == nil {
      try? FileManager.default.removeItem(atPath: bundle)
      if let process { try? FileManager.default.removeItem(atPath: process.directory) }
    }
  }

  /// `runCommand`, without leaving its output directory behind in /tmp (the tests call runc
  /// many times).
  static func command(_ arguments: [String], timeout: TimeInterval = 20) -> CommandResult? {
    guard let running = try? RunningCommand(arguments) else { return nil }
    defer { try? FileManager.default.removeItem(atPath: running.directory) }
    return running.finish(timeout: timeout)
  }

  struct BundleError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
  }

  static let busyboxApplets: [String] = {
    (command(["/bin/busybox", "--list"])?.stdout ?? "").split(separator: "\n").map(String.init)
  }()

  /// `/command` links: `ibex install-links /command` run in the root filesystem (chroot, so
  /// that the links are what the image would get), else links to `ibex` made here.
  private func installLinks() throws {
    let attempt = Self.command(["/usr/sbin/chroot", rootfs, "/command/ibex", "install-links", "/command", "--target", "/command/ibex"])
    if let attempt, attempt.status == 0 { return }
    notes.append("ibex install-links failed (\(attempt?.status ?? -1): \(attempt?.stderr ?? "")): links made by the test")
    for name in Self.helperNames where !FileManager.default.fileExists(atPath: "\(rootfs)/command/\(name)") {
      try FileManager.default.createSymbolicLink(atPath: "\(rootfs)/command/\(name)", withDestinationPath: "ibex")
    }
  }

  /// Where Debian's execline package keeps its programs.
  static let hostExeclineDirectory = "/usr/lib/execline/bin"
  static var hostHasExecline: Bool { FileManager.default.isExecutableFile(atPath: hostExeclineDirectory + "/foreground") }

  /// Copies the host's execline programs to the same path in the root filesystem, with the
  /// shared libraries `ldd` names, and links each into /command.
  private func installExecline() throws {
    let fm = FileManager.default
    let programs = try fm.contentsOfDirectory(atPath: Self.hostExeclineDirectory)
    try fm.createDirectory(atPath: rootfs + Self.hostExeclineDirectory, withIntermediateDirectories: true)
    var libraries = Set<String>()
    for program in programs {
      let path = Self.hostExeclineDirectory + "/" + program
      guard Self.command(["/bin/cp", "-L", path, rootfs + path])?.status == 0 else { throw BundleError("cp \(path)") }
      if !fm.fileExists(atPath: "\(rootfs)/command/\(program)") {
        try fm.createSymbolicLink(atPath: "\(rootfs)/command/\(program)", withDestinationPath: path)
      }
      for word in (Self.command(["/usr/bin/ldd", path])?.stdout ?? "").split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\n" })
      where word.hasPrefix("/") {
        libraries.insert(String(word))
      }
    }
    for library in libraries {
      try fm.createDirectory(atPath: rootfs + (library as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
      guard Self.command(["/bin/cp", "-L", library, rootfs + library])?.status == 0 else { throw BundleError("cp \(library)") }
    }
  }

  // MARK: - Running

  /// `runc run` with `/init` and the CMD (`docker run IMAGE CMD...`); `args` replaces the whole
  /// argv (e.g. a different PID 1).
  @discardableResult
  func run(_ command: [String] = [], args: [String]? = nil) throws -> RunningCommand {
    let configPath = "\(bundle)/config.json"
    var config = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: configPath))) as! [String: Any]
    var process = config["process"] as! [String: Any]
    process["args"] = args ?? (["/init"] + command)
    config["process"] = process
    try JSONSerialization.data(withJSONObject: config).write(to: URL(fileURLWithPath: configPath))
    result = nil
    startTime = Date()
    let running = try RunningCommand([Self.runc, "run", "--bundle", bundle, id])
    self.process = running
    return running
  }

  /// `runc kill ID SIGNAL` (`docker stop` sends TERM; `docker kill -s`).
  func kill(_ signal: String = "TERM") {
    let result = Self.command([Self.runc, "kill", id, signal])
    if result?.status != 0 { Issue.record("runc kill \(signal): \(result?.stderr ?? "no result")") }
  }

  /// `runc exec ID ARGS` (`docker exec`): a command in the running container, as root.
  func exec(_ arguments: [String], timeout: TimeInterval = 20) -> CommandResult {
    Self.command([Self.runc, "exec", "--user", "0:0", id] + arguments, timeout: timeout)
      ?? CommandResult(status: -1, stdout: "", stderr: "runc exec failed to start")
  }

  /// Whether the container's PID 1 is still running (`runc state`).
  var isRunning: Bool {
    guard process?.process.isRunning == true else { return false }
    let state = Self.command([Self.runc, "state", id], timeout: 10)?.stdout ?? ""
    return state.contains("\"status\": \"running\"") || state.contains("\"status\":\"running\"")
  }

  /// Waits for the container to end (killing it after `timeout`); its exit code and output.
  @discardableResult
  func finish(timeout: TimeInterval = 30) -> CommandResult {
    if let result { return result }
    guard let process else { return CommandResult(status: -1, stdout: "", stderr: "not started") }
    let finished = process.finish(timeout: timeout)
    result = finished
    _ = Self.command([Self.runc, "delete", "--force", id])
    return finished
  }

  /// The container's stdout and stderr so far.
  var stdout: String { process.map { fileContents("\($0.directory)/stdout") } ?? "" }
  var stderr: String { process.map { fileContents("\($0.directory)/stderr") } ?? "" }
  /// Both, stdout first: what `docker logs` shows.
  var output: String { stdout + stderr }

  // MARK: - Watching /out

  /// The host path of a path under /out (`"/out/x"` or `"x"`).
  func outPath(_ path: String) -> String {
    path.hasPrefix("/out/") ? out + path.dropFirst(4) : out + "/" + path
  }

  func outFile(_ path: String) -> String { fileContents(outPath(path)) }

  func outExists(_ path: String) -> Bool { FileManager.default.fileExists(atPath: outPath(path)) }

  /// The lines of a file under /out.
  func outLines(_ path: String) -> [String] { outFile(path).split(separator: "\n").map(String.init) }

  /// Waits until a file under /out exists (readiness markers); false after `timeout` or when
  /// the container ended first.
  @discardableResult
  func waitFor(_ path: String, timeout: TimeInterval = 20) -> Bool {
    waitUntil(timeout: timeout) { self.outExists(path) || self.process?.process.isRunning == false }
      && outExists(path)
  }

  /// Waits until a file under /out has at least `count` lines.
  @discardableResult
  func waitForLines(_ path: String, count: Int, timeout: TimeInterval = 20) -> Bool {
    waitUntil(timeout: timeout) { self.outLines(path).count >= count || self.process?.process.isRunning == false }
      && outLines(path).count >= count
  }

  /// Everything the test knows about this run, for failure messages.
  var diagnostics: String {
    var text = "container \(id)"
    if !notes.isEmpty { text += "\nnotes: \(notes.joined(separator: "; "))" }
    text += "\n--- stdout ---\n\(stdout)--- stderr ---\n\(stderr)--- /out ---"
    for name in ((try? FileManager.default.contentsOfDirectory(atPath: out)) ?? []).sorted() {
      text += "\n\(name): \(fileContents(out + "/" + name).prefix(400))"
    }
    return text
  }
}

/// Shell lines for scripts: `stamp NAME FILE` appends `NAME UPTIME` (seconds since boot, two
/// decimals, from /proc/uptime) to FILE.
let stampFunction = #"stamp() { read up rest < /proc/uptime; echo "$1 $up" >> "$2"; }"#

/// Parses `NAME UPTIME` lines written by `stamp`.
func stamps(_ text: String) -> [(name: String, time: Double)] {
  text.split(separator: "\n").compactMap { line in
    let words = line.split(separator: " ")
    guard words.count == 2, let time = Double(words[1]) else { return nil }
    return (String(words[0]), time)
  }
}

/// The time of the first stamp with this name.
func stampTime(_ text: String, _ name: String) -> Double? { stamps(text).first { $0.name == name }?.time }

/// The files that put services into bundle `user` (or `user2`) the s6-overlay 3.2.3.2 way.
func userBundle(_ members: [String], bundle: String = "user") -> [String: S6Container.Entry] {
  var files: [String: S6Container.Entry] = [
    "/etc/s6-overlay/user-bundles.d/\(bundle)/type": .text("bundle\n"),
    "/etc/s6-overlay/user-bundles.d/\(bundle)/contents.d": .directory(),
  ]
  for member in members { files["/etc/s6-overlay/user-bundles.d/\(bundle)/contents.d/\(member)"] = .empty }
  return files
}

/// A `/etc/s6-overlay/s6-rc.d/NAME` definition: its `type`, `dependencies.d/` entries and
/// other files (`run`, `up`, `finish`, `notification-fd`...; `run`/`finish` as scripts).
func s6rcService(
  _ name: String, type: String, dependencies: [String] = [], files: [String: S6Container.Entry] = [:]
) -> [String: S6Container.Entry] {
  let base = "/etc/s6-overlay/s6-rc.d/\(name)"
  var result: [String: S6Container.Entry] = [base + "/type": .text(type + "\n")]
  for dependency in dependencies { result[base + "/dependencies.d/\(dependency)"] = .empty }
  for (file, entry) in files { result[base + "/" + file] = entry }
  return result
}

extension Dictionary where Key == String, Value == S6Container.Entry {
  /// Both sets of files (the right-hand side wins).
  static func + (lhs: Self, rhs: Self) -> Self { lhs.merging(rhs) { $1 } }
}
