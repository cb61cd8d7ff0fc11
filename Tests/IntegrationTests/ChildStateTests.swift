import Foundation
import Glibc
import Testing

/// Runs `prepare; exec [ibex run] command` in a shell, with and without ibex, so a test can
/// check that the child sees exactly what it would see without ibex in between.
private func withAndWithoutIbex(prepare: String, command: String) throws -> (direct: CommandResult, viaIbex: CommandResult) {
  let direct = try runCommand(["/bin/sh", "-c", "\(prepare); exec \(command)"])
  let viaIbex = try runCommand(["/bin/sh", "-c", "\(prepare); exec \(ibexBinary) run \(command)"])
  return (direct, viaIbex)
}

@Suite("ibex run: what the child inherits")
struct ChildStateTests {
  @Test("the child gets exactly the file descriptors ibex received, and none of ibex's own")
  func descriptors() throws {
    // One shell lists its child's fds with and without ibex in between: both see the same
    // inherited set (7 and 9 are opened for the purpose; 3 is ls's own directory).
    let dir = makeScratchDirectory()
    let script = "exec 7</dev/null 9>/dev/null; ls /proc/self/fd > \(dir)/direct; \(ibexBinary) run ls /proc/self/fd > \(dir)/via"
    #expect(try runCommand(["/bin/sh", "-c", script]).status == 0)
    let direct = fileContents("\(dir)/direct")
    #expect(fileContents("\(dir)/via") == direct)
    #expect(Set(direct.split(separator: "\n")).isSuperset(of: ["0", "1", "2", "3", "7", "9"]))
  }

  @Test("the child gets the signal mask and ignored signals ibex was started with, nothing else")
  func signalState() throws {
    // Python starts the program with USR1 blocked and USR2, HUP and CHLD ignored.
    func launch(_ program: [String]) throws -> [String: String] {
      let python = """
        import os, signal, sys
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGUSR1})
        for s in (signal.SIGUSR2, signal.SIGHUP, signal.SIGCHLD): signal.signal(s, signal.SIG_IGN)
        os.execv(sys.argv[1], sys.argv[1:])
        """
      let result = try runCommand(["/usr/bin/python3", "-c", python] + program)
      #expect(result.status == 0)
      return statusFields(result.stdout)
    }
    let direct = try launch(["/bin/cat", "/proc/self/status"])
    let viaIbex = try launch([ibexBinary, "run", "/bin/cat", "/proc/self/status"])
    #expect(viaIbex["SigBlk"] == direct["SigBlk"])
    #expect(viaIbex["SigIgn"] == direct["SigIgn"])
    #expect(viaIbex["SigCgt"] == "0000000000000000")
    let blocked = UInt64(viaIbex["SigBlk"] ?? "", radix: 16) ?? 0
    let ignored = UInt64(viaIbex["SigIgn"] ?? "", radix: 16) ?? 0
    #expect(blocked & (1 << (SIGUSR1 - 1)) != 0)
    for signal in [SIGUSR2, SIGHUP, SIGCHLD] { #expect(ignored & (1 << UInt64(signal - 1)) != 0) }
  }

  @Test("an inherited ignored SIGCHLD does not hide the child's exit code from ibex")
  func ignoredChildSignal() throws {
    let python = "import os, signal, sys\nsignal.signal(signal.SIGCHLD, signal.SIG_IGN)\nos.execv(sys.argv[1], sys.argv[1:])"
    let result = try runCommand(["/usr/bin/python3", "-c", python, ibexBinary, "run", "/bin/sh", "-c", "exit 5"])
    #expect(result.status == 5)
  }

  @Test("argv, environment, working directory and umask reach the child unchanged")
  func processState() throws {
    let (direct, viaIbex) = try withAndWithoutIbex(
      prepare: "umask 0077; cd /tmp",
      command: "env -i 'A=1 2' EMPTY= PATH=/usr/bin:/bin sh -c 'echo \"$0|$*\"; pwd; umask; env | sort' zero --grace -h -- --pgroup")
    #expect(direct.status == 0)
    #expect(viaIbex.stdout == direct.stdout)
    #expect(viaIbex.stdout.hasPrefix("zero|--grace -h -- --pgroup\n/tmp\n0077\n"))
  }

  @Test("option-looking words after PROGRAM are passed to it, not parsed by ibex")
  func optionWordsAfterProgram() throws {
    let result = try runCommand([ibexBinary, "run", "/bin/echo", "--grace", "5s", "--pgroup", "-h", "--"])
    #expect(result.status == 0)
    #expect(result.stdout == "--grace 5s --pgroup -h --\n")
  }

  @Test("on a terminal, the child's process group becomes the foreground group")
  func terminalForeground() throws {
    // script(1) gives the command a pseudo-terminal.
    let dir = makeScratchDirectory()
    let inner = "\(ibexBinary) run /bin/sh -c 'cat /proc/$$/stat > \(dir)/stat'"
    let result = try runCommand(["/usr/bin/script", "-qec", inner, "/dev/null"])
    #expect(result.status == 0)
    // pid (comm) state ppid pgrp session tty_nr tpgid
    let fields = fileContents("\(dir)/stat").split(separator: " ")
    try #require(fields.count > 7)
    #expect(fields[4] == fields[0], "the child leads its own process group")
    #expect(fields[7] == fields[4], "and that group is the terminal's foreground group")
  }
}
