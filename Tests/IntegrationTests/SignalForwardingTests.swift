import Foundation
import Glibc
import Testing

/// A child that logs every signal it receives to `got` and exits 0 on TERM.
private func loggingChild(_ dir: String) -> String {
  let names = ["HUP", "INT", "QUIT", "USR1", "USR2", "WINCH", "CONT", "ALRM", "PIPE", "URG"]
  let traps = names.map { "trap 'echo \($0) >> \(dir)/got' \($0);" }.joined(separator: " ")
  return "\(traps) trap 'echo TERM >> \(dir)/got; exit 0' TERM; echo $$ > \(dir)/ready; while :; do sleep 0.05; done"
}

@Suite("ibex run: signal forwarding", .enabled(if: canUnshare, "needs unshare --pid"))
struct SignalForwardingTests {
  @Test("as PID 1, every catchable non-job-control signal reaches the child; TERM gives its exit code")
  func forwardsToChild() throws {
    let dir = makeScratchDirectory()
    let command = try RunningCommand(asPID1 + [ibexBinary, "run", "/bin/sh", "-c", loggingChild(dir)])
    let ibex = try #require(command.childPID())
    #expect(waitUntil(timeout: 10) { FileManager.default.fileExists(atPath: "\(dir)/ready") })
    let sent: [(Int32, String)] = [
      (SIGHUP, "HUP"), (SIGINT, "INT"), (SIGQUIT, "QUIT"), (SIGUSR1, "USR1"), (SIGUSR2, "USR2"),
      (SIGWINCH, "WINCH"), (SIGCONT, "CONT"), (SIGALRM, "ALRM"), (SIGPIPE, "PIPE"), (SIGURG, "URG"),
    ]
    var expected: [String] = []
    for (signal, name) in sent {
      command.signal(signal, to: ibex)
      expected.append(name)
      #expect(waitUntil(timeout: 10) { fileContents("\(dir)/got").split(separator: "\n").map(String.init) == expected })
    }
    command.signal(SIGTERM, to: ibex)
    let result = command.finish()
    #expect(result.status == 0)
    #expect(fileContents("\(dir)/got").split(separator: "\n").map(String.init) == expected + ["TERM"])
  }

  @Test("a signal a process inside sends to PID 1 is forwarded to the child")
  func signalFromInside() throws {
    let dir = makeScratchDirectory()
    let script = "trap 'echo USR1 > \(dir)/got; exit 3' USR1; kill -USR1 1; while :; do sleep 0.05; done"
    let result = try runCommand(asPID1 + [ibexBinary, "run", "/bin/sh", "-c", script], timeout: 20)
    #expect(result.status == 3)
    #expect(fileContents("\(dir)/got") == "USR1\n")
  }

  @Test("--pgroup forwards to the child's whole process group; without it only the child gets the signal",
        arguments: [true, false])
  func processGroup(pgroup: Bool) throws {
    let dir = makeScratchDirectory()
    let script = """
      ( trap 'echo grandchild >> \(dir)/got; exit 0' USR1; touch \(dir)/grandchild; while :; do sleep 0.05; done ) &
      trap 'echo child >> \(dir)/got' USR1
      trap 'exit 0' TERM
      while [ ! -e \(dir)/grandchild ]; do sleep 0.01; done; echo > \(dir)/ready
      while :; do sleep 0.05; done
      """
    let options = pgroup ? ["--pgroup"] : []
    let command = try RunningCommand(asPID1 + [ibexBinary, "run"] + options + ["/bin/sh", "-c", script])
    let ibex = try #require(command.childPID())
    #expect(waitUntil(timeout: 10) { FileManager.default.fileExists(atPath: "\(dir)/ready") })
    command.signal(SIGUSR1, to: ibex)
    if pgroup {
      #expect(waitUntil(timeout: 10) { fileContents("\(dir)/got").split(separator: "\n").sorted() == ["child", "grandchild"] })
    } else {
      #expect(waitUntil(timeout: 10) { fileContents("\(dir)/got").contains("child") })
      usleep(300_000)  // give a wrongly forwarded signal time to show
      #expect(fileContents("\(dir)/got") == "child\n")
    }
    command.signal(SIGTERM, to: ibex)
    #expect(command.finish().status == 0)
  }
}

@Suite("ibex run: grace time")
struct GraceTests {
  @Test("after TERM, a child that ignores it is killed with its process group after --grace; ibex exits 137")
  func killsAfterGrace() throws {
    let dir = makeScratchDirectory()
    let script = "trap '' TERM; sleep 60 & echo $! > \(dir)/sleeper; echo $$ > \(dir)/ready; wait; wait"
    let command = try RunningCommand([ibexBinary, "run", "--grace", "300ms", "/bin/sh", "-c", script])
    #expect(waitUntil(timeout: 10) { fileContents("\(dir)/ready").hasSuffix("\n") })
    let sleeper = try #require(Int32(fileContents("\(dir)/sleeper").trimmingCharacters(in: .whitespacesAndNewlines)))
    command.signal(SIGTERM)
    let result = command.finish(timeout: 20)
    #expect(result.status == 137)
    #expect(result.stderr.contains("sending SIGKILL to its process group"))
    // The grandchild in the child's process group was killed too (gone, or a zombie of init).
    #expect(waitUntil(timeout: 10) {
      let stat = fileContents("/proc/\(sleeper)/stat")
      return stat.isEmpty || stat.contains(") Z ")
    })
  }

  @Test("without --grace, ibex forwards TERM and keeps waiting for the child, like tini")
  func waitsWithoutGrace() throws {
    let dir = makeScratchDirectory()
    let script = "trap 'echo TERM >> \(dir)/got' TERM; echo $$ > \(dir)/ready; while :; do sleep 0.05; done"
    let command = try RunningCommand([ibexBinary, "run", "/bin/sh", "-c", script])
    // Wait for the content, not the file: the shell creates it before it writes the pid.
    #expect(waitUntil(timeout: 10) { fileContents("\(dir)/ready").hasSuffix("\n") })
    let child = try #require(Int32(fileContents("\(dir)/ready").trimmingCharacters(in: .whitespacesAndNewlines)))
    command.signal(SIGTERM)
    #expect(waitUntil(timeout: 10) { fileContents("\(dir)/got") == "TERM\n" })
    usleep(300_000)
    #expect(command.process.isRunning)
    kill(child, SIGKILL)
    #expect(command.finish().status == 137)
  }
}
