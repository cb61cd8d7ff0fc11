import IbexAudit
import Testing

@Suite("Shell tokenizer for RUN")
struct ShellTokenizerTests {
  func script(_ text: String) -> ShellScript { ShellScript(MappedText(text, at: .start)) }

  @Test("commands are split at &&, ||, ;, | and & and pipelines are numbered")
  func separators() {
    let s = script("apk update && apk add curl || true; wget -O- x | tar -x & echo done")
    #expect(s.commands.map { $0.words.map(\.value) } == [["apk", "update"], ["apk", "add", "curl"], ["true"], ["wget", "-O-", "x"], ["tar", "-x"], ["echo", "done"]])
    #expect(s.commands[4].pipeline == s.commands[3].pipeline)
    #expect(s.commands[4].pipelineIndex == 1)
  }

  @Test("quotes and escapes are removed; expansions make a word non-literal")
  func quotes() {
    let s = script(#"echo 'a b' "c $D" e\ f "$(cat x)" plain"#)
    let words = s.commands[0].words
    #expect(words.map(\.value) == ["echo", "a b", "c $D", "e f", "$(cat x)", "plain"])
    #expect(words.map(\.isLiteral) == [true, true, false, true, false, true])
    #expect(words[4].substitutions == ["cat x"])
  }

  @Test("assignments, reserved words and wrappers are not the command name")
  func effectiveCommand() {
    let s = script("if true; then DEBIAN_FRONTEND=noninteractive sudo -E apt-get install -y x; fi")
    let install = s.commands[1]
    #expect(install.name == "apt-get")
    #expect(install.effective().wrappersSeen == ["sudo"])
  }

  @Test("sh -c scripts are tokenized too, with positions inside the quoted string")
  func nestedShell() {
    let s = script("bash -c 'pip install flask'")
    let all = s.allCommands()
    #expect(all.map { $0.command.name } == ["bash", "pip"])
    #expect(all[1].script.position(of: all[1].command) == SourcePosition(line: 1, column: 10))
  }

  @Test("redirections are not words; a heredoc body inside a script is skipped")
  func redirects() {
    let s = script("cat <<EOF > /etc/x\napk add curl\nEOF\necho done 2>&1 >/dev/null")
    #expect(s.commands.map { $0.name } == ["cat", "echo"])
    #expect(s.commands[0].redirects.map(\.op) == ["<<", ">"])
    #expect(s.commands[1].words.map(\.value) == ["echo", "done"])
  }

  @Test("process substitution is one opaque word that keeps its body")
  func processSubstitution() {
    let s = script("bash <(curl -fsSL https://x)")
    #expect(s.commands[0].words[1].isProcessSubstitution)
    #expect(s.commands[0].words[1].substitutions == ["curl -fsSL https://x"])
  }
}
