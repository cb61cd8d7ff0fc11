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
      ("[Service\nExecStart=/x", "web.service:1: malformed section header: a line starting with '[' must be '[Name]'"),
      ("ExecStart=/x", "web.service:1: 'ExecStart=' is outside of any section"),
      ("[Service]\nExecStart /x", "web.service:2: expected 'Key=Value' or a '[Section]' header, found a line starting with 'ExecStart'"),
      // Never more of a line than its first word: this could be /etc/shadow.
      ("root:$6$SECRET$hash:19000:0:99999:7:::", "web.service:1: expected 'Key=Value' or a '[Section]' header, found a line starting with 'root'"),
      ("$6$SECRET", "web.service:1: expected 'Key=Value' or a '[Section]' header"),
      ("[Service]\nExecStart=/bin/true\u{0}/evil", "web.service:2: a NUL byte in the line: not allowed in a service file"),
      ("# comment \u{0}\n[Service]", "web.service:1: a NUL byte in the line: not allowed in a service file"),
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

  @Test("CRLF line endings and a UTF-8 byte-order mark read like LF and no mark")
  func crlfAndBOM() throws {
    let lf = try UnitFile.parse("[Service]\nExecStart=/bin/x a\nUser=app\n", file: "web.service")
    #expect(try UnitFile.parse("[Service]\r\nExecStart=/bin/x a\r\nUser=app\r\n", file: "web.service") == lf)
    #expect(try UnitFile.parse("\u{FEFF}[Service]\r\nExecStart=/bin/x a\r\nUser=app\r\n", file: "web.service") == lf)
    #expect(try UnitFile.parse("\u{FEFF}[Service]\nExecStart=/bin/x a\nUser=app", file: "web.service") == lf)
    #expect(lf.count == 2 && lf[1].location.line == 3)
  }

  @Test("words: quotes group, backslashes escape, whitespace separates")
  func words() throws {
    #expect(try UnitFile.words(#"/bin/sh -c "echo 'a b'; exit 3""#) == ["/bin/sh", "-c", "echo 'a b'; exit 3"])
    #expect(try UnitFile.words(#"a\ b 'c d' e\x41 "\"q\"" "#) == ["a b", "c d", "eA", "\"q\""])
    #expect(try UnitFile.words("") == [])
    #expect(try UnitFile.words(#"''"#) == [""])
    #expect(throws: ConfigError.Message("unterminated quote")) { try UnitFile.words(#"say "hi"#) }
    #expect(throws: ConfigError.Message("unknown escape '\\q'")) { try UnitFile.words(#"a\q"#) }
    #expect(throws: ConfigError.Message("\\x00 is not allowed (a NUL would end the value)")) { try UnitFile.words(#"/bin/true\x00/evil"#) }
  }
}
