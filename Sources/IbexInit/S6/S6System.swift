import CIbex
import IbexCore
import IbexRuntime

/// The few system calls the s6 commands need beyond IbexRuntime's, over `Sources/CIbex/s6.c`.
enum S6System {
  /// Replaces this process with `arguments[0]`, searched in the PATH of `environment`.
  /// Returns the error only if that failed.
  static func exec(_ arguments: [String], environment: [String], argv0: String? = nil) -> Errno {
    var argvStrings = arguments
    if let argv0 { argvStrings[0] = argv0 }
    let argv = CStringArray(argvStrings)
    let envp = CStringArray(environment)
    let path = Environment.value(of: "PATH", in: environment)
    let error = arguments[0].withCString { file in
      if let path {
        return path.withCString { search in ibex_exec(file, argv.pointer, envp.pointer, search) }
      }
      return ibex_exec(file, argv.pointer, envp.pointer, nil)
    }
    return Errno(rawValue: error)
  }

  /// fork(2): 0 in the child, the child's pid in the parent.
  static func fork() throws(Errno) -> Int32 { try checked(ibex_s6_fork()) }

  static var parentPID: Int32 { ibex_s6_getppid() }
  static var realUID: UInt32 { ibex_s6_getuid() }

  /// Sets supplementary groups, gid and uid (each when given), in that order.
  static func setCredentials(groups: [UInt32]?, gid: UInt32?, uid: UInt32?) throws(Errno) {
    if let groups {
      _ = try checked(groups.withUnsafeBufferPointer { ibex_s6_setgroups($0.count, $0.baseAddress) })
    }
    if let gid { _ = try checked(ibex_s6_setgid(gid)) }
    if let uid { _ = try checked(ibex_s6_setuid(uid)) }
  }

  enum FileKind { case symlink, directory, fifo, regular, other }

  /// What is at `path` (a link is not followed); nil if nothing is.
  static func kind(_ path: String) -> FileKind? {
    guard let info = FileSystem.linkInfo(path) else { return nil }
    if info.isSymbolicLink { return .symlink }
    if info.isDirectory { return .directory }
    if info.isRegularFile { return .regular }
    return info.mode & 0o170000 == 0o010000 ? .fifo : .other
  }

  static func makeFIFO(_ path: String, mode: UInt32) throws(Errno) {
    _ = try checked(path.withCString { ibex_s6_mkfifo($0, mode) })
  }

  /// Opens `path` for reading as fd 0 without waiting for a writer (a FIFO).
  static func openAsStandardInput(_ path: String) throws(Errno) {
    _ = try checked(path.withCString { ibex_s6_open_stdin($0) })
  }

  static func isOpen(_ fd: Int32) -> Bool { ibex_s6_fd_is_open(fd) == 1 }

  private static func checked(_ result: Int32) throws(Errno) -> Int32 {
    if result < 0 { throw Errno(rawValue: -result) }
    return result
  }

  /// Starts `arguments` as a child that keeps this process's descriptors, process group and
  /// environment (as a shell would run it); returns its pid.
  static func spawnPlain(_ arguments: [String], environment: [String]) throws(SpawnError) -> Int32 {
    var request = SpawnRequest(
      program: arguments[0], arguments: CStringArray(arguments), environment: CStringArray(environment))
    request.grouping = .inherit
    request.closeOtherDescriptors = false
    return try Spawner.spawn(request)
  }

  /// Waits for child `pid` for at most `milliseconds` (nil: no limit). Returns its exit, or nil
  /// when the time ran out (the child still runs).
  static func wait(for pid: Int32, milliseconds: Int?) -> ProcessExit? {
    guard let milliseconds else {
      return ((try? Reaper.wait(for: pid)) ?? nil) ?? .exited(code: 111)
    }
    let deadline = EventLoop.now() + .milliseconds(Int64(milliseconds))
    while true {
      do {
        if let exit = try Reaper.wait(for: pid, block: false) { return exit }
      } catch {
        return .exited(code: 111)
      }
      if EventLoop.now() >= deadline { return nil }
      ThisProcess.sleep(milliseconds: 5)
    }
  }
}
