import CIbex
import IbexCore

/// Collects terminated children with `waitpid(-1, WNOHANG)`.
///
/// ibex is the only reaper of its process tree (PID 1, or a child subreaper), so a pid
/// cannot be reused before ibex itself has collected it: signalling a pid that ibex has not
/// reaped yet is race-free.
public enum Reaper {
  /// Reaps one terminated child. Returns nil when none is waiting (or there are no children).
  public static func reapOne() -> (pid: Int32, exit: ProcessExit)? {
    while true {
      var status: Int32 = 0
      let pid = ibex_reap_any(&status)
      if pid <= 0 { return nil }
      // Without WUNTRACED/WCONTINUED only terminations are reported; decode defensively.
      if let exit = ProcessExit(waitStatus: status) { return (pid, exit) }
    }
  }

  /// Reaps every child that has ended; returns whether any child is left.
  public static func reapEnded() -> Bool {
    while true {
      var status: Int32 = 0
      let pid = ibex_reap_any(&status)
      if pid == 0 { return true }
      if pid < 0 { return false }  // ECHILD: none left
    }
  }

  /// Waits for child `pid` (`waitpid(2)`); with `block` false returns nil while it still runs.
  public static func wait(for pid: Int32, block: Bool = true) throws(Errno) -> ProcessExit? {
    var status: Int32 = 0
    let r = try Errno.check(ibex_waitpid(pid, &status, block ? 0 : 1))
    if r == 0 { return nil }
    return ProcessExit(waitStatus: status) ?? .exited(code: 0)
  }

  /// Waits for every child to end and reaps it (after they have all been killed).
  public static func reapAll() {
    var status: Int32 = 0
    while ibex_wait_any(&status) > 0 {}
  }

  /// Makes this process the reaper of its orphaned descendants (not needed as PID 1).
  public static func becomeSubreaper() throws(Errno) {
    _ = try Errno.check(ibex_set_child_subreaper())
  }

  /// This process's pid.
  public static var ownPID: Int32 { ibex_getpid() }

  /// Sends `signal` to `pid` (a negative pid is a process group). Throws `.noSuchProcess`
  /// when the target is gone.
  public static func send(_ signal: Signal, to pid: Int32) throws(Errno) {
    _ = try Errno.check(ibex_kill(pid, signal.rawValue))
  }
}
