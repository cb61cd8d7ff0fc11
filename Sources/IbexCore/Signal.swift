/// A signal number, with the names users write (`TERM`, `SIGTERM`, `15`).
///
/// The numbers are Linux's generic ones (x86_64, aarch64 and most architectures); the runtime
/// tests check them against the C headers.
public struct Signal: RawRepresentable, Hashable, Sendable {
  public var rawValue: Int32
  public init(rawValue: Int32) { self.rawValue = rawValue }

  public static let hangup = Signal(rawValue: 1)
  public static let interrupt = Signal(rawValue: 2)
  public static let quit = Signal(rawValue: 3)
  public static let abort = Signal(rawValue: 6)
  public static let kill = Signal(rawValue: 9)
  public static let user1 = Signal(rawValue: 10)
  public static let user2 = Signal(rawValue: 12)
  public static let pipe = Signal(rawValue: 13)
  public static let alarm = Signal(rawValue: 14)
  public static let terminate = Signal(rawValue: 15)
  public static let child = Signal(rawValue: 17)
  public static let `continue` = Signal(rawValue: 18)
  public static let stop = Signal(rawValue: 19)
  public static let terminalStop = Signal(rawValue: 20)
  public static let terminalInput = Signal(rawValue: 21)
  public static let terminalOutput = Signal(rawValue: 22)
  public static let windowChange = Signal(rawValue: 28)
  public static let power = Signal(rawValue: 30)

  /// Names without the `SIG` prefix, indexed by number (1...31).
  private static let names: [String] = [
    "", "HUP", "INT", "QUIT", "ILL", "TRAP", "ABRT", "BUS", "FPE", "KILL", "USR1", "SEGV", "USR2",
    "PIPE", "ALRM", "TERM", "STKFLT", "CHLD", "CONT", "STOP", "TSTP", "TTIN", "TTOU", "URG", "XCPU",
    "XFSZ", "VTALRM", "PROF", "WINCH", "IO", "PWR", "SYS",
  ]
  /// SIGRTMIN as user programs see it (glibc reserves 32 and 33).
  public static let realtimeMinimum: Int32 = 34
  public static let realtimeMaximum: Int32 = 64

  /// `SIGTERM`, `SIGRTMIN+3`, or `signal 99` for a number that names no signal.
  public var name: String {
    if rawValue > 0 && Int(rawValue) < Signal.names.count { return "SIG" + Signal.names[Int(rawValue)] }
    if rawValue >= Signal.realtimeMinimum && rawValue <= Signal.realtimeMaximum {
      return rawValue == Signal.realtimeMinimum ? "SIGRTMIN" : "SIGRTMIN+\(rawValue - Signal.realtimeMinimum)"
    }
    return "signal \(rawValue)"
  }

  /// Parses `TERM`, `SIGTERM`, `sigterm`, `15`, `RTMIN+2` or `SIGRTMIN+2`.
  public init?(parsing text: String) {
    var upper = ""
    for scalar in text.unicodeScalars {
      upper.unicodeScalars.append(scalar.value >= 97 && scalar.value <= 122 ? Unicode.Scalar(scalar.value - 32)! : scalar)
    }
    if let number = Int32(upper) {
      guard number > 0 && number <= Signal.realtimeMaximum else { return nil }
      self.init(rawValue: number)
      return
    }
    if upper.hasPrefix("SIG") { upper = String(upper.dropFirst(3)) }
    if upper == "RTMIN" {
      self.init(rawValue: Signal.realtimeMinimum)
      return
    }
    if upper.hasPrefix("RTMIN+"), let offset = Int32(upper.dropFirst(6)),
      offset >= 0, Signal.realtimeMinimum + offset <= Signal.realtimeMaximum
    {
      self.init(rawValue: Signal.realtimeMinimum + offset)
      return
    }
    if upper == "IOT" { upper = "ABRT" }
    if upper == "CLD" { upper = "CHLD" }
    if upper == "POLL" { upper = "IO" }
    guard let index = Signal.names.firstIndex(of: upper), index > 0 else { return nil }
    self.init(rawValue: Int32(index))
  }

  /// Job-control signals: a supervisor acting for a terminal does not forward them.
  public var isJobControl: Bool {
    self == .terminalStop || self == .terminalInput || self == .terminalOutput || self == .stop
  }
}
