import CIbex
import Foundation
import Glibc
import IbexCore
import IbexRuntime
import Testing

/// The child setup of ibex_spawn(), observed from inside the child through /proc/self.
@Suite("Spawner: child setup seen from the child")
struct SpawnerTests {
  static let modes = [false, true]  // clone(CLONE_VM|CLONE_VFORK), fork

  @Test(
    "a service as nobody gets uid, gid, groups, limits, umask, cwd, capabilities and no_new_privs",
    .enabled(if: isRoot, "needs root to change credentials"), arguments: modes)
  func fullSetupAsNobody(useFork: Bool) throws {
    let dir = makeScratchDirectory()
    let status = try spawnShell(
      "cat /proc/self/status > \(dir)/status; cat /proc/self/limits > \(dir)/limits; umask > \(dir)/umask; pwd > \(dir)/cwd; cat /proc/$$/stat > \(dir)/stat"
    ) { request in
      request.useFork = useFork
      request.credentials = Credentials(uid: 65534, gid: 65534, supplementaryGroups: [100, 65534])
      request.limits = [
        LimitSetting(resource: Int32(RLIMIT_NOFILE.rawValue), soft: 1024, hard: 4096),
        LimitSetting(resource: Int32(RLIMIT_CORE.rawValue), soft: 0, hard: 0),
      ]
      request.umask = 0o027
      request.workingDirectory = dir
      request.dropBoundingSet = true
      request.capabilities = CapabilitySet(bits: 1 << 10)  // CAP_NET_BIND_SERVICE
      request.ambientCapabilities = CapabilitySet(bits: 1 << 10)
      request.noNewPrivileges = true
      request.grouping = .newSession
    }
    #expect(ProcessExit(waitStatus: status) == .exited(code: 0))
    let fields = statusFields(try String(contentsOfFile: "\(dir)/status", encoding: .utf8))
    #expect(fields["Uid"] == "65534\t65534\t65534\t65534")
    #expect(fields["Gid"] == "65534\t65534\t65534\t65534")
    #expect(fields["Groups"] == "100 65534")
    #expect(fields["CapBnd"] == "0000000000000400")
    #expect(fields["CapPrm"] == "0000000000000400")
    #expect(fields["CapEff"] == "0000000000000400")
    #expect(fields["CapAmb"] == "0000000000000400")
    #expect(fields["NoNewPrivs"] == "1")
    #expect(fields["SigBlk"] == "0000000000000000")
    let limits = try String(contentsOfFile: "\(dir)/limits", encoding: .utf8)
    #expect(limits.contains(#/Max open files\s+1024\s+4096\s+files/#))
    #expect(limits.contains(#/Max core file size\s+0\s+0\s+bytes/#))
    #expect(try String(contentsOfFile: "\(dir)/umask", encoding: .utf8) == "0027\n")
    #expect(try String(contentsOfFile: "\(dir)/cwd", encoding: .utf8) == "\(dir)\n")
    // /proc/PID/stat: pid (comm) state ppid pgrp session ...
    let stat = try String(contentsOfFile: "\(dir)/stat", encoding: .utf8).split(separator: " ")
    #expect(stat[0] == stat[4] && stat[0] == stat[5], "a new session: sid == pgid == pid")
  }

  @Test(
    "a root service keeps only the capabilities left in its bounding set",
    .enabled(if: isRoot, "needs root"), arguments: modes)
  func rootBoundingSet(useFork: Bool) throws {
    let dir = makeScratchDirectory()
    let status = try spawnShell("cat /proc/self/status > \(dir)/status") { request in
      request.useFork = useFork
      request.dropBoundingSet = true
      request.capabilities = CapabilitySet(bits: 1 << 10 | 1 << 6)  // NET_BIND_SERVICE, SETGID
    }
    #expect(ProcessExit(waitStatus: status) == .exited(code: 0))
    let fields = statusFields(try String(contentsOfFile: "\(dir)/status", encoding: .utf8))
    #expect(fields["CapBnd"] == "0000000000000440")
    #expect(fields["CapEff"] == "0000000000000440")
    #expect(fields["Uid"] == "0\t0\t0\t0")
  }

  @Test("signals: ignored ones stay ignored, all others default, the mask is the one asked for", arguments: modes)
  func signalState(useFork: Bool) throws {
    // cat, not a shell: shells reset their signal mask at start-up.
    let dir = makeScratchDirectory()
    let out = open("\(dir)/status", O_WRONLY | O_CREAT | O_CLOEXEC, 0o644)
    defer { close(out) }
    var request = SpawnRequest(
      program: "/bin/cat", arguments: CStringArray(["cat", "/proc/self/status"]), environment: CStringArray([]))
    request.useFork = useFork
    var ignored = SignalSet()
    ignored.insert(.user1)
    var mask = SignalSet()
    mask.insert(.user2)
    request.ignoredSignals = ignored
    request.signalMask = mask
    request.descriptors = [(from: FileDescriptor(rawValue: out), to: 1)]
    let pid = try Spawner.spawn(request)
    #expect(ProcessExit(waitStatus: waitForExit(pid)) == .exited(code: 0))
    let fields = statusFields(try String(contentsOfFile: "\(dir)/status", encoding: .utf8))
    #expect(fields["SigIgn"] == "0000000000000200")  // USR1 (10) is bit 9
    #expect(fields["SigBlk"] == "0000000000000800")  // USR2 (12) is bit 11
    #expect(fields["SigCgt"] == "0000000000000000")
  }

  @Test("a new process group keeps the session; the group id is the child's pid", arguments: modes)
  func processGroup(useFork: Bool) throws {
    let dir = makeScratchDirectory()
    let status = try spawnShell("cat /proc/$$/stat > \(dir)/stat") { request in
      request.useFork = useFork
      request.grouping = .newGroup
    }
    #expect(ProcessExit(waitStatus: status) == .exited(code: 0))
    let stat = try String(contentsOfFile: "\(dir)/stat", encoding: .utf8).split(separator: " ")
    #expect(stat[0] == stat[4])
    #expect(Int32(stat[5]) == getsid(0))
  }

  @Test("descriptors: mapped fds arrive, even swapped; every other fd is closed", arguments: modes)
  func descriptors(useFork: Bool) throws {
    let dir = makeScratchDirectory()
    let out = open("\(dir)/out", O_WRONLY | O_CREAT | O_CLOEXEC, 0o644)
    let err = open("\(dir)/err", O_WRONLY | O_CREAT | O_CLOEXEC, 0o644)
    let leaked = open("/dev/null", O_RDONLY)  // not close-on-exec: must still not reach the child
    defer {
      close(out)
      close(err)
      close(leaked)
    }
    let status = try spawnShell("echo out; echo err >&2; echo five >&5; ls /proc/self/fd > \(dir)/fds") { request in
      request.useFork = useFork
      request.descriptors = [
        (from: FileDescriptor(rawValue: err), to: 1), (from: FileDescriptor(rawValue: out), to: 2),
        (from: FileDescriptor(rawValue: out), to: 5),
      ]
    }
    #expect(ProcessExit(waitStatus: status) == .exited(code: 0))
    #expect(try String(contentsOfFile: "\(dir)/err", encoding: .utf8) == "out\n")
    #expect(try String(contentsOfFile: "\(dir)/out", encoding: .utf8).split(separator: "\n").sorted() == ["err", "five"])
    // ls itself opens one fd (3) to read the directory.
    let fds = try String(contentsOfFile: "\(dir)/fds", encoding: .utf8).split(separator: "\n").compactMap { Int($0) }
    #expect(fds.sorted() == [0, 1, 2, 3, 5])
  }

  @Test("without the sweep, inherited descriptors stay open")
  func keepsInheritedDescriptors() throws {
    let dir = makeScratchDirectory()
    let kept = open("/dev/null", O_RDONLY)
    defer { close(kept) }
    let status = try spawnShell("test -e /proc/self/fd/\(kept) && touch \(dir)/kept") { request in
      request.closeOtherDescriptors = false
    }
    #expect(ProcessExit(waitStatus: status) == .exited(code: 0))
    #expect(FileManager.default.fileExists(atPath: "\(dir)/kept"))
  }

  @Test("a missing program is reported as the exec step with ENOENT (exit code 127)", arguments: modes)
  func missingProgram(useFork: Bool) {
    var request = SpawnRequest(
      program: "/nonexistent/program", arguments: CStringArray(["program"]), environment: CStringArray([]))
    request.useFork = useFork
    #expect(throws: SpawnError(step: .exec, errno: .noSuchFileOrDirectory, program: "/nonexistent/program")) {
      try Spawner.spawn(request)
    }
    #expect(
      SpawnError(step: .exec, errno: .noSuchFileOrDirectory, program: "x").description
        == "unable to exec x: No such file or directory")
    #expect(SpawnError(step: .exec, errno: .noSuchFileOrDirectory, program: "x").exitCode == 127)
  }

  @Test("a script whose #! interpreter is missing: the error names the interpreter, not the script (exit code 127)")
  func missingInterpreter() throws {
    let dir = makeScratchDirectory()
    let script = "\(dir)/run"
    #expect(FileManager.default.createFile(atPath: script, contents: Data("#!/command/with-contenv sh\necho hi\n".utf8)))
    chmod(script, 0o755)
    // Parallel tests fork while the file is being written: until every such child has exec'd,
    // execve(2) says ETXTBSY (a write descriptor to it is open somewhere), so try again then.
    var failure: SpawnError?
    for _ in 0..<200 {
      let request = SpawnRequest(program: script, arguments: CStringArray(["run"]), environment: CStringArray([]))
      do {
        _ = try Spawner.spawn(request)
        Issue.record("the script ran")
        return
      } catch {
        failure = error
        if error.errno != Errno(rawValue: 26) { break }  // ETXTBSY
        usleep(10_000)
      }
    }
    if let error = failure {
      #expect(error.missingInterpreter == "/command/with-contenv")
      #expect(error.exitCode == 127)
      #expect(
        error.description
          == "unable to exec \(script): its interpreter /command/with-contenv (the #! line) does not exist (the kernel looks #! paths up from /, also under ibex init --root)")
    }
  }

  @Test("a program without the execute bit is EACCES (exit code 126), also when found in PATH")
  func notExecutable() throws {
    let dir = makeScratchDirectory()
    #expect(FileManager.default.createFile(atPath: "\(dir)/tool", contents: Data("#!/bin/sh\n".utf8)))
    let request = SpawnRequest(
      program: "tool", arguments: CStringArray(["tool"]), environment: CStringArray(["PATH=/nonexistent:\(dir)"]))
    #expect(throws: SpawnError(step: .exec, errno: .permissionDenied, program: "tool")) { try Spawner.spawn(request) }
    #expect(SpawnError(step: .exec, errno: .permissionDenied, program: "tool").exitCode == 126)
  }

  @Test("a program name is searched in the child's PATH, in order")
  func pathSearch() throws {
    let dir = makeScratchDirectory()
    let request = SpawnRequest(
      program: "sh", arguments: CStringArray(["sh", "-c", "touch \(dir)/ran"]),
      environment: CStringArray(["PATH=/nonexistent:/usr/bin:/bin"]))
    let pid = try Spawner.spawn(request)
    #expect(ProcessExit(waitStatus: waitForExit(pid)) == .exited(code: 0))
    #expect(FileManager.default.fileExists(atPath: "\(dir)/ran"))
  }

  @Test("a missing working directory fails at that step and names the program")
  func missingDirectory() {
    var request = SpawnRequest(program: "/bin/true", arguments: CStringArray(["true"]), environment: CStringArray([]))
    request.workingDirectory = "/nonexistent"
    let expected = SpawnError(step: .workingDirectory, errno: .noSuchFileOrDirectory, program: "/bin/true")
    #expect(throws: expected) { try Spawner.spawn(request) }
    #expect(expected.description == "unable to change directory for /bin/true: No such file or directory")
  }

  @Test("a failing credential step is reported with its errno", .enabled(if: isRoot, "needs root"), arguments: modes)
  func credentialFailure(useFork: Bool) {
    // More supplementary groups than the kernel allows (NGROUPS_MAX is 65536): setgroups fails.
    var request = SpawnRequest(program: "/bin/true", arguments: CStringArray(["true"]), environment: CStringArray([]))
    request.useFork = useFork
    request.credentials = Credentials(uid: 65534, gid: 65534, supplementaryGroups: Array(repeating: 100, count: 70_000))
    let expected = SpawnError(step: .groups, errno: .invalidArgument, program: "/bin/true")
    #expect(throws: expected) { try Spawner.spawn(request) }
    #expect(expected.description == "unable to set supplementary groups for /bin/true: Invalid argument")
  }

  @Test("the argument and environment arrays reach the program unchanged")
  func argumentsAndEnvironment() throws {
    let dir = makeScratchDirectory()
    let status = try spawnShell(
      "printf '%s|' \"$0\" \"$1\" \"$FOO\" > \(dir)/out", environment: ["FOO=a b=c", "PATH=/usr/bin:/bin"]
    ) { request in
      request.arguments = CStringArray(["sh", "-c", "printf '%s|' \"$0\" \"$1\" \"$FOO\" > \(dir)/out", "zero", "--one"])
    }
    #expect(ProcessExit(waitStatus: status) == .exited(code: 0))
    #expect(try String(contentsOfFile: "\(dir)/out", encoding: .utf8) == "zero|--one|a b=c|")
  }
}
