import IbexConfig
import IbexCore
import Testing

@Suite("Unit-file syntax")
struct UnitFileTests {
  @Test("sections, keys, comments, blank lines and continued lines")
  func syntax() throws {
    let text = """
      # a comment
      [Unit]
      Description = The web server  
      ; another comment

      [Service]
      ExecStart=/usr/bin/server \\
        --port 8080 \\
        --verbose
      Environment=A=1
      """
    let entries = try UnitFile.parse(text, file: "web.service")
    #expect(entries.map { "\($0.section).\($0.key)=\($0.value)@\($0.location.line)" } == [
      "Unit.Description=The web server@3", "Service.ExecStart=/usr/bin/server --port 8080 --verbose@7",
      "Service.Environment=A=1@10",
    ])
  }

  @Test(
    "malformed lines are errors with their line",
    arguments: [
      ("[Service\nExecStart=/x", "web.service:1: malformed section header '[Service'"),
      ("ExecStart=/x", "web.service:1: 'ExecStart=/x' is outside of any section"),
      ("[Service]\nExecStart /x", "web.service:2: expected 'Key=Value', found 'ExecStart /x'"),
      ("[Service]\n=x", "web.service:2: missing key before '='"),
      ("[Service]\nExecStart=/x \\", "web.service:2: the file ends inside a continued line"),
    ] as [(String, String)])
  func malformed(text: String, message: String) {
    do {
      _ = try UnitFile.parse(text, file: "web.service")
      Issue.record("no error for \(text)")
    } catch {
      #expect(error.description == message)
    }
  }

  @Test("words: quotes group, backslashes escape, whitespace separates")
  func words() throws {
    #expect(try UnitFile.words(#"/bin/sh -c "echo 'a b'; exit 3""#) == ["/bin/sh", "-c", "echo 'a b'; exit 3"])
    #expect(try UnitFile.words(#"a\ b 'c d' e\x41 "\"q\"" "#) == ["a b", "c d", "eA", "\"q\""])
    #expect(try UnitFile.words("") == [])
    #expect(try UnitFile.words(#"''"#) == [""])
    #expect(throws: ConfigError.Message("unterminated quote")) { try UnitFile.words(#"say "hi"#) }
    #expect(throws: ConfigError.Message("unknown escape '\\q'")) { try UnitFile.words(#"a\q"#) }
  }
}
