import IbexLog
import Testing

private func error(_ text: String) -> String? {
  do {
    _ = try S6LogScript(parsing: text)
    return nil
  } catch {
    return error.message
  }
}

@Test("settings apply to the following actions; t and T only to the next one")
func settings() throws {
  let script = try S6LogScript(parsing: "n20 s1000000 S5000000 T /var/log/a t p:web 1")
  #expect(script.elements.count == 1)
  let actions = script.elements[0].actions
  #expect(actions[0].destination == .directory("/var/log/a"))
  #expect(actions[0].rotation == RotationPolicy(maximumFileSize: 1_000_000, maximumArchiveCount: 20, maximumTotalArchiveSize: 5_000_000))
  #expect(actions[0].humanReadable && !actions[0].tai64n && actions[0].prefix == nil)
  #expect(actions[1].destination == .standardOutput && actions[1].tai64n && !actions[1].humanReadable)
  #expect(actions[1].prefix == ":web")
  #expect(script.directories == ["/var/log/a"])
}

@Test("selections start a new element after actions")
func elements() throws {
  let script = try S6LogScript(parsing: ["-foo", "+bar", "./a", "f", "=status", "2"])
  #expect(script.elements.map { $0.selections } == [[.deselect("foo"), .select("bar")], [.unhandled]])
  #expect(script.elements[1].actions.map { $0.destination } == [.statusFile("status"), .standardError])
}

@Test("s is clamped to 4096...268435455")
func clamp() throws {
  #expect(try S6LogScript(parsing: "s10 1").elements[0].actions[0].rotation.maximumFileSize == 4096)
  #expect(try S6LogScript(parsing: "s999999999 1").elements[0].actions[0].rotation.maximumFileSize == 268_435_455)
}

@Test("bad scripts name the directive")
func errors() {
  #expect(error("x ./a") == "unrecognized directive: x")
  #expect(error("nfoo ./a") == "unrecognized directive: nfoo")
  #expect(error("tt ./a") == "syntax error at directive: tt")
  #expect(error("n5") == "no action directive specified")
  #expect(error("") == "no action directive specified")
  #expect(error("= 1") == "syntax error at directive: =")
  #expect(error("s4096 l3000 ./a") == "directive l3000 conflicts with previous s directive")
  #expect(error("!gzip ./a") == "unsupported directive: !gzip (ibex's s6-log runs no processors)")
  #expect(error("R60 ./a") == "unsupported directive: R60 (periodic rotation; send SIGALRM instead)")
}
