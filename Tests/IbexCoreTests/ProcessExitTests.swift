import IbexCore
import Testing

@Suite("Wait status decoding")
struct ProcessExitTests {
  @Test("exit codes 0 to 255 decode to themselves", arguments: 0...255)
  func exitCodes(code: Int32) {
    let exit = ProcessExit(waitStatus: code << 8)
    #expect(exit == .exited(code: code))
    #expect(exit?.shellExitCode == code)
  }

  @Test("death by signal N gives 128+N, as shells report it", arguments: 1...64)
  func signals(number: Int32) {
    let exit = ProcessExit(waitStatus: number)
    #expect(exit == .signaled(Signal(rawValue: number), coreDumped: false))
    #expect(exit?.shellExitCode == 128 + number)
  }

  @Test("a core dump is reported with the signal")
  func coreDump() {
    #expect(ProcessExit(waitStatus: 0x80 | 11) == .signaled(.init(rawValue: 11), coreDumped: true))
    #expect(ProcessExit(waitStatus: 0x80 | 11)?.description == "killed by SIGSEGV (core dumped)")
  }

  @Test("stopped and continued statuses are not exits")
  func notExits() {
    #expect(ProcessExit(waitStatus: 0x137f) == nil)  // stopped by SIGSTOP
    #expect(ProcessExit(waitStatus: 0xffff) == nil)  // continued
  }

  @Test("descriptions read as sentences")
  func descriptions() {
    #expect(ProcessExit.exited(code: 3).description == "exited 3")
    #expect(ProcessExit.signaled(.kill, coreDumped: false).description == "killed by SIGKILL")
  }
}
