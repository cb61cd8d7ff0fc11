import IbexCore
import Testing

@Suite("Signal names")
struct SignalTests {
  @Test(
    "parses names with or without SIG, any case, numbers and realtime offsets",
    arguments: [
      ("TERM", 15), ("SIGTERM", 15), ("sigterm", 15), ("term", 15), ("15", 15), ("HUP", 1), ("KILL", 9),
      ("USR1", 10), ("SIGUSR2", 12), ("WINCH", 28), ("RTMIN", 34), ("SIGRTMIN+3", 37), ("IOT", 6), ("64", 64),
    ] as [(String, Int32)])
  func parses(text: String, number: Int32) {
    #expect(Signal(parsing: text)?.rawValue == number)
  }

  @Test("rejects what names no signal", arguments: ["", "SIG", "TERMINATE", "0", "65", "-9", "RTMIN+31", "SIGSIGTERM"])
  func rejects(text: String) {
    #expect(Signal(parsing: text) == nil)
  }

  @Test("names round-trip through parsing", arguments: 1...64)
  func roundTrip(number: Int32) {
    let signal = Signal(rawValue: number)
    if number == 32 || number == 33 { return }  // reserved by glibc, no name
    #expect(Signal(parsing: signal.name) == signal)
  }

  @Test("job-control signals are recognised")
  func jobControl() {
    #expect(Signal.terminalStop.isJobControl)
    #expect(!Signal.terminate.isJobControl)
    #expect(!Signal.continue.isJobControl)
  }
}
