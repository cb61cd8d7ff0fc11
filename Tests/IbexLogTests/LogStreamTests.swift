import IbexLog
import Testing

@Test func streamNames() {
  #expect(LogStream.stdout.rawValue == "stdout")
  #expect(LogStream.stderr.rawValue == "stderr")
}
