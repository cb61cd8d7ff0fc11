import IbexRuntime

/// The first steps of every init program (`ibex run`, `ibex init`), before anything else.
enum BecomeInit {
  /// Fills closed standard fds with /dev/null, blocks every handled signal (they are read
  /// synchronously from then on) and, when not PID 1, makes ibex the reaper of its orphaned
  /// descendants. Returns the signal state ibex inherited, which its children get back, or nil
  /// after reporting a failure.
  static func takeOver() -> InheritedSignalState? {
    let inherited: InheritedSignalState
    do {
      try ThisProcess.ensureStandardDescriptors()
      inherited = try InheritedSignalState.takeOver()
    } catch {
      Console.fatal("unable to set up signals: \(error.description)")
      return nil
    }
    if Reaper.ownPID != 1 {
      do {
        try Reaper.becomeSubreaper()
      } catch {
        Console.warning("unable to become a child subreaper (\(error.description)): orphans will not be reaped; run ibex as PID 1")
      }
    }
    return inherited
  }
}
