import IbexConfig
import IbexCore
import IbexRuntime

extension S6Settings {
  /// The supervisor's boot failure policy for `S6_BEHAVIOUR_IF_STAGE2_FAILS`.
  var bootFailure: BootFailurePolicy {
    switch failurePolicy {
    case 0: return .ignore
    case 1: return .warn
    default: return .halt
    }
  }
}

/// What `/init` does for an s6-overlay image around the supervisor (spec
/// s6-overlay-compat.md): the `S6_*` variables it reads, PATH, the runtime paths of section 10
/// that user scripts touch, the environment snapshot for `with-contenv`, and the exit code
/// file. The s6 service definitions themselves come from `S6OverlayLayout` (IbexConfig).
struct S6Boot {
  static let exitCodeFile = "/run/s6-linux-init-container-results/exitcode"
  static let environmentDirectory = "/run/s6/container_environment"

  /// Runs `S6_STAGE2_HOOK` (S6-ENV-19) before the services are read, and waits for it. A
  /// failure stops the boot with the hook's code when S6_BEHAVIOUR_IF_STAGE2_FAILS >= 2,
  /// else it is a warning. Returns the exit code when ibex must stop.
  static func runStage2Hook(_ settings: S6Settings, searchPath: String) -> Int32? {
    guard let program = settings.stage2Hook.first else { return nil }
    let request = SpawnRequest(
      program: program, arguments: CStringArray(settings.stage2Hook), environment: CStringArray(["PATH=" + searchPath]))
    let exit: ProcessExit
    do throws(SpawnError) {
      let pid = try Spawner.spawn(request)
      exit = ((try? Reaper.wait(for: pid)) ?? nil) ?? .exited(code: 111)
    } catch {
      exit = .exited(code: error.exitCode)
      Console.emit("S6_STAGE2_HOOK: \(error.description)")
    }
    guard exit != .exited(code: 0) else { return nil }
    if settings.failurePolicy >= 2 {
      Console.fatal("S6_STAGE2_HOOK \(exit.description): stopping (S6_BEHAVIOUR_IF_STAGE2_FAILS=\(settings.failurePolicy))")
      return exit.shellExitCode
    }
    if settings.verbosity >= 1 { Console.warning("S6_STAGE2_HOOK \(exit.description); carrying on") }
    return nil
  }

  /// What the loader's services need before they start: fix-attrs.d applied (a failure is a
  /// boot failure, S6-ENV-07), and the live service directories under /run. Returns the exit
  /// code when ibex must stop.
  static func prepareServices(_ layout: S6Layout, root: String, users: UserDatabase, settings: S6Settings) -> Int32? {
    let problems = FixAttrsRule.apply(layout.fixAttrs, root: root, users: users, includeHidden: settings.fixAttrsHidden)
    for problem in problems { Console.emit("fix-attrs: \(problem)") }
    if !problems.isEmpty && settings.failurePolicy >= 2 {
      Console.fatal("fix-attrs.d failed: stopping (S6_BEHAVIOUR_IF_STAGE2_FAILS=\(settings.failurePolicy))")
      return 1
    }
    if !layout.liveDirectories.isEmpty && FileSystem.isMountedNoExec(root + "/run") == true {
      Console.fatal("\(root)/run is mounted noexec: the services' run scripts are copied there and could not start; mount it with exec (--tmpfs /run:exec)")
      return ExitCode.configError
    }
    do throws(ConfigError) {
      try LiveDirectory.create(layout.liveDirectories)
    } catch {
      Console.fatal(error.description)
      return ExitCode.configError
    }
    return nil
  }

  /// Where the output of the loader's services goes: to the container unlabelled, as under
  /// s6-overlay (unless IBEX_LOG_PREFIX says otherwise), or to the catch-all log.
  static func adapt(_ services: [ServiceDefinition], environment: [String], settings: S6Settings, root: String) -> [ServiceDefinition] {
    let prefixChosen = Environment.value(of: "IBEX_LOG_PREFIX", in: environment) != nil
    return services.map { service in
      var service = service
      if !prefixChosen { service.log.prefix = service.log.prefix ?? false }
      if service.outputConsumer == nil { service.log = catchAll(service.log, settings: settings, root: root) }
      return service
    }
  }

  /// Where output without a logger goes with `S6_LOGGING` (S6-ENV-04/06, S6-LOG-02): the
  /// catch-all directory `/run/uncaught-logs` (s6-log's default rotation, stamped only when
  /// `S6_LOGGING_SCRIPT` has `t` or `T`), echoed unstamped to the console with 1.
  static func catchAll(_ log: LogSettings, settings: S6Settings, root: String) -> LogSettings {
    guard settings.logging >= 1 else { return log }
    var log = log
    log.ownerUID = settings.catchAllOwner?.uid
    log.ownerGID = settings.catchAllOwner?.gid
    log.directory = root + "/run/uncaught-logs"
    log.maxFileSize = 99999
    log.maxFiles = 10
    log.console = settings.logging == 1
    log.consoleOnStandardError = true
    log.fileTimestamps = settings.catchAllTimestamps ? .tai64n : LogSettings.Timestamps.none
    return log
  }

  /// Whether an image without any s6-overlay directory still shows it was built for
  /// s6-overlay, so that "replace s6-overlay's tarballs with ibex, nothing else changes" holds:
  /// an `S6_*` variable is set, or CMD is one of s6-overlay's programs (`with-contenv app`,
  /// `/command/...`, `/package/admin/s6...`). The `/command` links alone do not count: ibex's
  /// own images have them for native services too.
  static func showsS6Overlay(environment: [String], command: String?) -> Bool {
    if environment.contains(where: { $0.hasPrefix("S6_") && $0.contains("=") }) { return true }
    guard let command else { return false }
    return command == "with-contenv" || command.hasPrefix("/command/") || command.hasPrefix("/package/admin/s6")
  }

  /// S6-BOOT-02: PATH with `/command`, `/usr/bin` and `/bin` added at the front when missing.
  static func searchPath(_ path: String?) -> String {
    let parts = (path ?? "").split(separator: ":", omittingEmptySubsequences: true).map { String($0) }
    var missing: [String] = []
    for directory in ["/command", "/usr/bin", "/bin"] where !parts.contains(directory) { missing.append(directory) }
    var result = ""
    for part in missing + parts { result += (result.isEmpty ? "" : ":") + part }
    return result
  }

  /// The snapshot files `with-contenv` reads: one per variable, the value and one newline.
  /// Names that cannot be file names (empty, with `/`) are left out.
  static func snapshot(_ environment: [String]) -> [(name: String, contents: String)] {
    var files: [(name: String, contents: String)] = []
    for assignment in environment {
      guard let equals = assignment.utf8.firstIndex(of: UInt8(ascii: "=")) else { continue }
      let name = String(assignment[..<equals])
      guard !name.isEmpty, name != ".", name != "..", !name.utf8.contains(UInt8(ascii: "/")) else { continue }
      files.append((name, String(assignment[assignment.index(after: equals)...]) + "\n"))
    }
    return files
  }

  /// Checks `/run` before anything is written there (S6-PRIV-02/03, S6-RO-01, S6-BOOT-04):
  /// it must be a directory; a world-writable one without the sticky bit is refused unless
  /// `S6_YES_I_WANT_A_WORLD_WRITABLE_RUN_BECAUSE_KUBERNETES` is set; `noexec` is a warning
  /// (scripts under /run cannot run); `/var/run` becomes a link to `/run`. Returns an error
  /// message when ibex must not boot.
  static func checkRun(root: String, environment: [String], warn: (String) -> Void) -> String? {
    let run = root + "/run"
    guard let info = FileSystem.info(run), info.isDirectory else {
      return "\(run) is not a directory: mount a tmpfs there (docs/s6-overlay.md)"
    }
    let worldWritable = info.mode & 0o002 != 0, sticky = info.mode & 0o1000 != 0
    let kubernetes = (Environment.value(of: "S6_YES_I_WANT_A_WORLD_WRITABLE_RUN_BECAUSE_KUBERNETES", in: environment) ?? "0") != "0"
    if worldWritable && !sticky {
      guard kubernetes else {
        return "\(run) is world-writable (mode \(info.permissionsText)): any user could replace what ibex puts there; "
          + "mount /run owned by the container's user, or set S6_YES_I_WANT_A_WORLD_WRITABLE_RUN_BECAUSE_KUBERNETES=1"
      }
      warn("\(run) is world-writable (mode \(info.permissionsText)): accepted because of S6_YES_I_WANT_A_WORLD_WRITABLE_RUN_BECAUSE_KUBERNETES")
    }
    if FileSystem.isMountedNoExec(run) == true {
      warn("\(run) is mounted noexec: service scripts copied there cannot run; mount it with exec (--tmpfs /run:exec)")
    }
    let varRun = root + "/var/run"
    if let info = FileSystem.linkInfo(varRun), info.isDirectory {
      warn("\(varRun) is a directory: replacing it with a link to /run (its contents are deleted)")
      do throws(Errno) {
        try FileSystem.removeTree(varRun)
        try FileSystem.makeSymbolicLink(varRun, to: "/run")
      } catch {
        warn("unable to replace \(varRun) with a link to /run: \(error.description)")
      }
    }
    return nil
  }

  /// Creates the runtime paths user scripts rely on (S6-BOOT-04/05, S6-EXIT-01, section
  /// 10): `/run/s6/container_environment` (the snapshot, unless S6_KEEP_ENV), `workdir`,
  /// `/run/service`, and the exit code file holding 0. Returns the path that failed.
  /// Variables in `secrets` (read from `X_FILE`) are readable by root only.
  static func prepare(root: String, environment: [String], secrets: [String] = [], settings: S6Settings) -> (path: String, error: Errno)? {
    var current = ""
    do throws(Errno) {
      current = root + "/run/s6"
      try FileSystem.makeDirectories(current)
      current = root + "/run/service"
      try FileSystem.makeDirectories(current)
      current = root + "/run/s6/workdir"
      try FileSystem.write(current, FileSystem.currentDirectory() ?? "/")
      current = root + "/run/s6-linux-init-container-results"
      try FileSystem.makeDirectories(current)
      current = root + exitCodeFile
      try FileSystem.write(current, "0\n")
      // S6-HELP-07: scripts call /run/s6/basedir/bin/halt and friends by that path.
      current = root + "/run/s6/basedir/bin"
      try FileSystem.makeDirectories(current)
      let binary = try FileSystem.linkTarget("/proc/self/exe")
      for name in ["halt", "poweroff", "reboot", "shutdown"] {
        current = root + "/run/s6/basedir/bin/" + name
        FileSystem.remove(current)
        try FileSystem.makeSymbolicLink(current, to: binary)
      }
      if !settings.keepEnvironment {
        current = root + environmentDirectory
        try FileSystem.makeDirectories(current)
        try FileSystem.setMode(current, 0o755)
        // A persisted /run: what an earlier boot left must not leak into this one.
        for stale in (try? FileSystem.list(current)) ?? [] { FileSystem.remove(current + "/" + stale) }
        for file in snapshot(environment) {
          current = root + environmentDirectory + "/" + file.name
          try FileSystem.write(current, file.contents, mode: secrets.contains(file.name) ? 0o600 : 0o644)
        }
      }
    } catch {
      return (current, error)
    }
    return nil
  }

  /// The exit code a halt uses (S6-EXIT-01): the first line of the exit code file, 0 when
  /// it is missing or not a number.
  static func haltExitCode(root: String) -> Int32 {
    guard let text = try? FileSystem.readText(root + exitCodeFile) else { return 0 }
    let line = text.split(separator: "\n", omittingEmptySubsequences: false).first ?? ""
    return Int32(line.trimmingBlanks()).map { $0 & 0xff } ?? 0
  }
}

extension Substring {
  fileprivate func trimmingBlanks() -> Substring {
    var text = self
    while let first = text.first, first == " " || first == "\t" || first == "\r" { text = text.dropFirst() }
    while let last = text.last, last == " " || last == "\t" || last == "\r" { text = text.dropLast() }
    return text
  }
}
