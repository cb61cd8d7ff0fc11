import IbexCore
import IbexRuntime

/// `ibex run`: a single-child init (the tini role).
///
/// The lifecycle, in order: take over signals, become the reaper, spawn the child in its
/// own process group, then loop: reap on SIGCHLD, forward every other signal, escalate to
/// SIGKILL after the grace time, and exit with the child's code once it is gone.
public struct RunProgram: ~Copyable {
  private let options: RunOptions
  private var loop: EventLoop
  private var child: Int32 = 0
  private var killedAfterGrace = false

  /// Runs PROGRAM (the `argv` entries from `options.programIndex` on) and returns the exit
  /// code for ibex.
  public static func main(options: RunOptions, argv: UnsafePointer<UnsafeMutablePointer<CChar>?>) -> Int32 {
    guard let inherited = BecomeInit.takeOver() else { return ExitCode.systemFailure }
    let loop: EventLoop
    do {
      loop = try EventLoop(handling: .handled)
    } catch {
      Console.fatal("unable to create the event loop: \(error.description)")
      return ExitCode.systemFailure
    }
    var program = RunProgram(options: options, loop: loop)
    return program.run(argv: argv, inherited: inherited)
  }

  private init(options: RunOptions, loop: consuming EventLoop) {
    self.options = options
    self.loop = loop
  }

  private mutating func run(argv: UnsafePointer<UnsafeMutablePointer<CChar>?>, inherited: InheritedSignalState) -> Int32 {
    let arguments = argv + options.programIndex
    var request = SpawnRequest(
      program: String(cString: arguments[0]!),
      arguments: CStringArray(borrowing: arguments),
      environment: CStringArray(borrowing: ThisProcess.environment))
    request.ignoredSignals = inherited.ignored
    request.signalMask = inherited.mask
    request.grouping = .newGroup
    request.foregroundTerminal = FileDescriptor.standardInput.isTerminal ? .standardInput : nil
    request.closeOtherDescriptors = false  // the child gets exactly what ibex received
    do {
      child = try Spawner.spawn(request)
    } catch {
      Console.fatal(error.description)
      return error.exitCode
    }

    var events: [LoopEvent] = []
    while true {
      loop.wait(into: &events)
      for event in events {
        switch event {
        case .signal(.child, _):
          if let code = reapChildren() { return code }
        case .signal(let signal, _):
          forward(signal)
        case .deadline:
          killAfterGrace()
        case .ready, .wallClock:
          break
        }
      }
    }
  }

  /// Reaps every terminated process; returns ibex's exit code once the child is among them.
  private func reapChildren() -> Int32? {
    var code: Int32?
    while let (pid, exit) = Reaper.reapOne() {
      if pid == child { code = killedAfterGrace ? ExitCode.killedAfterGrace : exit.shellExitCode }
    }
    return code
  }

  private mutating func forward(_ signal: Signal) {
    if signal.isJobControl { return }
    let target = options.forwardToProcessGroup ? -child : child
    do {
      try Reaper.send(signal, to: target)
    } catch {
      // ESRCH: the child has just exited and its SIGCHLD is on the way.
      if error != .noSuchProcess { Console.warning("unable to forward \(signal.name): \(error.description)") }
    }
    if let grace = options.grace, signal == .terminate || signal == .interrupt, !killedAfterGrace {
      loop.arm(at: EventLoop.now() + grace)
    }
  }

  private mutating func killAfterGrace() {
    killedAfterGrace = true
    Console.warning("PROGRAM still running after the grace time: sending SIGKILL to its process group")
    // The child leads its own process group, so -child reaches everything it started there.
    try? Reaper.send(.kill, to: -child)
    try? Reaper.send(.kill, to: child)
  }
}
