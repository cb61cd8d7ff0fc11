import IbexCore
import IbexInit
import Testing

@Suite("ibex run argument parsing")
struct RunOptionsTests {
  private func options(_ words: [String]) throws -> RunOptions {
    guard case .run(let options) = try RunOptions.parse(words) else {
      Issue.record("expected options for \(words)")
      return RunOptions(programIndex: -1)
    }
    return options
  }

  @Test("PROGRAM starts at the first word that is not an option")
  func program() throws {
    #expect(try options(["sleep", "1"]) == RunOptions(programIndex: 0))
    #expect(try options(["--pgroup", "sleep"]) == RunOptions(forwardToProcessGroup: true, programIndex: 1))
    #expect(try options(["-g", "sleep"]) == RunOptions(forwardToProcessGroup: true, programIndex: 1))
  }

  @Test("--grace takes a duration as the next word or after '='")
  func grace() throws {
    #expect(try options(["--grace", "2s", "x"]) == RunOptions(grace: .seconds(2), programIndex: 2))
    #expect(try options(["--grace=500ms", "x"]) == RunOptions(grace: .milliseconds(500), programIndex: 1))
  }

  @Test("'--' ends the options, even before a word that looks like one")
  func doubleDash() throws {
    #expect(try options(["--", "--grace"]) == RunOptions(programIndex: 1))
    #expect(try options(["--pgroup", "--", "-x"]) == RunOptions(forwardToProcessGroup: true, programIndex: 2))
  }

  @Test("option-looking words after PROGRAM belong to PROGRAM")
  func wordsAfterProgram() throws {
    #expect(try options(["echo", "--grace", "-h", "--", "--pgroup"]) == RunOptions(programIndex: 0))
    #expect(try options(["-"]) == RunOptions(programIndex: 0))
  }

  @Test("--help anywhere before PROGRAM asks for help")
  func help() throws {
    #expect(try RunOptions.parse(["--help"]) == .help)
    #expect(try RunOptions.parse(["--pgroup", "-h", "x"]) == .help)
  }

  @Test(
    "usage errors say what is wrong",
    arguments: [
      ([], "missing PROGRAM to run"),
      (["--pgroup"], "missing PROGRAM to run"),
      (["--"], "missing PROGRAM to run"),
      (["--grace"], "option --grace needs a duration, e.g. --grace 5s"),
      (["--grace", "soon", "x"], "invalid duration 'soon' for --grace: 'soon' is not a number"),
      (["--grace=5parsecs", "x"], "invalid duration '5parsecs' for --grace: unknown time unit 'parsecs' (use ms, s, min, h)"),
      (["--verbose", "x"], "unknown option '--verbose'"),
      (["--pgroup=yes", "x"], "option --pgroup takes no value"),
      (["-x", "x"], "unknown option '-x'"),
    ] as [([String], String)])
  func usageErrors(words: [String], message: String) {
    #expect(throws: UsageError(message)) { try RunOptions.parse(words) }
  }
}

@Suite("ibex init argument parsing")
struct InitOptionsTests {
  @Test("options, then CMD from the first other word or after '--'")
  func options() throws {
    #expect(try InitOptions.parse([]) == .run(InitOptions()))
    #expect(try InitOptions.parse(["--root", "/tmp/r", "app", "--root"]) == .run(InitOptions(root: "/tmp/r", commandIndex: 2)))
    #expect(
      try InitOptions.parse(["--shutdown-timeout=3s", "--wait-timeout", "1min", "--", "-x"])
        == .run(InitOptions(shutdownTimeout: .seconds(3), waitTimeout: .seconds(60), commandIndex: 4)))
    #expect(try InitOptions.parse(["-h"]) == .help)
  }

  @Test(
    "usage errors",
    arguments: [
      (["--root"], "option --root needs a value"),
      (["--root", "relative"], "--root needs an absolute path"),
      (["--shutdown-timeout", "never"], "invalid duration 'never' for --shutdown-timeout: 'never' is not a number"),
      (["--frobnicate"], "unknown option '--frobnicate'"),
    ] as [([String], String)])
  func errors(words: [String], message: String) {
    #expect(throws: UsageError(message)) { try InitOptions.parse(words) }
  }
}
