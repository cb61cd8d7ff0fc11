import Foundation
import Glibc
import Testing

/// Counts zombies in the (namespace's) /proc until none is left or ~5 s pass; prints the count.
private let countZombiesScript = """
  n=0
  while :; do
    z=$(grep -l '^State:.Z' /proc/[0-9]*/status 2>/dev/null | wc -l)
    [ "$z" -eq 0 ] && break
    n=$((n+1)); [ $n -gt 500 ] && break
    sleep 0.01
  done
  echo "$z"
  """

@Suite("ibex run: reaping")
struct ReapingTests {
  @Test("as PID 1, a storm of 2000 orphans leaves no zombie", .enabled(if: canUnshare, "needs unshare --pid"))
  func orphanStorm() throws {
    let dir = makeScratchDirectory()
    let script = """
      i=0
      while [ $i -lt 2000 ]; do ( /bin/true & ); i=$((i+1)); done
      \(countZombiesScript) > \(dir)/zombies
      """
    let result = try runCommand(asPID1 + [ibexBinary, "run", "/bin/sh", "-c", script], timeout: 120)
    #expect(result.status == 0)
    #expect(fileContents("\(dir)/zombies") == "0\n")
  }

  @Test("not as PID 1, ibex is a child subreaper: an orphaned grandchild is reparented to it and reaped")
  func subreaper() throws {
    let dir = makeScratchDirectory()
    // The subshell exits at once, so its `sleep` is orphaned; then it is killed and must not
    // stay a zombie.
    let script = """
      ( sleep 30 & echo $! > \(dir)/orphan )
      orphan=$(cat \(dir)/orphan)
      grep '^PPid:' /proc/$orphan/status | cut -f2 > \(dir)/orphan-parent
      echo $PPID > \(dir)/ibex
      kill $orphan
      i=0; while [ -e /proc/$orphan ] && [ $i -lt 500 ]; do i=$((i+1)); sleep 0.01; done
      test -e /proc/$orphan && echo present > \(dir)/after || echo gone > \(dir)/after
      """
    let result = try runCommand([ibexBinary, "run", "/bin/sh", "-c", script], timeout: 30)
    #expect(result.status == 0)
    #expect(fileContents("\(dir)/orphan-parent") == fileContents("\(dir)/ibex"))
    #expect(fileContents("\(dir)/after") == "gone\n")
  }
}

@Suite("Idle cost")
struct IdleTests {
  /// voluntary + involuntary context switches of a process: they grow each time it wakes up.
  private func wakeUps(_ pid: Int32) -> Int? {
    let fields = statusFields(fileContents("/proc/\(pid)/status"))
    guard let voluntary = fields["voluntary_ctxt_switches"].flatMap({ Int($0) }),
      let involuntary = fields["nonvoluntary_ctxt_switches"].flatMap({ Int($0) })
    else { return nil }
    return voluntary + involuntary
  }

  @Test("idle, ibex run and ibex init never wake up: no polling, no periodic timer", arguments: ["run", "init"])
  func noWakeUps(mode: String) throws {
    let services = try ServiceRoot(["db.service": "[Service]\nExecStart=/bin/sleep 100000\n"])
    let arguments = mode == "run" ? [ibexBinary, "run", "/bin/sleep", "100000"] : [ibexBinary, "init", "--root", services.root]
    let ibex = try RunningCommand(arguments)
    #expect(waitUntil(timeout: 10) { (try? String(contentsOfFile: "/proc/\(ibex.pid)/task/\(ibex.pid)/children", encoding: .utf8))?.isEmpty == false })
    usleep(300_000)  // let start-up finish
    let before = try #require(wakeUps(ibex.pid))
    usleep(1_500_000)
    let after = try #require(wakeUps(ibex.pid))
    #expect(after == before, "ibex woke up \(after - before) times while idle")
    ibex.signal(SIGTERM)
    #expect(ibex.finish().status == (mode == "run" ? 143 : 0))
  }
}
