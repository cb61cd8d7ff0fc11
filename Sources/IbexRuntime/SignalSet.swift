import CIbex
import IbexCore

/// A set of signals (`sigset_t`).
public struct SignalSet {
  var raw = sigset_t()

  /// The empty set.
  public init() { sigemptyset(&raw) }

  /// Every signal ibex blocks and reads from its signalfd: all but the fault signals.
  public static var handled: SignalSet {
    var set = SignalSet()
    ibex_handled_signals(&set.raw)
    return set
  }

  public mutating func insert(_ signal: Signal) { sigaddset(&raw, signal.rawValue) }
  public mutating func remove(_ signal: Signal) { sigdelset(&raw, signal.rawValue) }
  public func contains(_ signal: Signal) -> Bool {
    var copy = raw
    return sigismember(&copy, signal.rawValue) == 1
  }
}

/// The signal state ibex was started with, which its children get back.
public struct InheritedSignalState {
  /// The signal mask ibex inherited (its own blocking is undone in children).
  public var mask: SignalSet
  /// Signals that were ignored (SIG_IGN) when ibex started; children keep them ignored.
  public var ignored: SignalSet

  /// Blocks every signal ibex handles, so they queue for its signalfd, and records what the
  /// mask and the ignored set were before. Call first thing in `main`, before any thread or
  /// child can exist.
  ///
  /// If ibex inherited SIGCHLD ignored, it sets it back to the default for itself (an ignored
  /// SIGCHLD makes the kernel reap children, and ibex would never learn their exit status);
  /// its children still inherit it ignored, as they would without ibex.
  public static func takeOver() throws(Errno) -> InheritedSignalState {
    var state = InheritedSignalState(mask: SignalSet(), ignored: SignalSet())
    _ = try Errno.check(ibex_block_signals(&state.mask.raw))
    _ = ibex_ignored_signals(&state.ignored.raw)
    if state.ignored.contains(.child) { _ = try Errno.check(ibex_default_signal(Signal.child.rawValue)) }
    return state
  }
}
