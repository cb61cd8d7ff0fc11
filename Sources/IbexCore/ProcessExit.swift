/// How a process ended, decoded from a wait status (`waitpid(2)`).
public enum ProcessExit: Equatable, Sendable {
  /// It called `exit(code)`; code is 0...255.
  case exited(code: Int32)
  /// It was killed by a signal.
  case signaled(Signal, coreDumped: Bool)

  /// Decodes a Linux wait status of a terminated process (the layout behind `WIFEXITED`,
  /// `WEXITSTATUS`, `WTERMSIG` and `WCOREDUMP`). Returns nil for a stopped or continued
  /// process, which has not ended.
  public init?(waitStatus status: Int32) {
    let low = status & 0x7f
    if low == 0 {
      self = .exited(code: (status >> 8) & 0xff)
    } else if low != 0x7f && (status & 0xffff) != 0xffff {
      self = .signaled(Signal(rawValue: low), coreDumped: status & 0x80 != 0)
    } else {
      return nil
    }
  }

  /// The exit code a shell (and a container runtime) reports: the code itself, or 128+N for
  /// death by signal N.
  public var shellExitCode: Int32 {
    switch self {
    case .exited(let code): return code
    case .signaled(let signal, _): return 128 + signal.rawValue
    }
  }

  /// `exited 3`, `killed by SIGKILL`, `killed by SIGSEGV (core dumped)`.
  public var description: String {
    switch self {
    case .exited(let code): return "exited \(code)"
    case .signaled(let signal, let core): return "killed by \(signal.name)" + (core ? " (core dumped)" : "")
    }
  }
}
