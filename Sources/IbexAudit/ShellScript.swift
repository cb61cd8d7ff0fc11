/// A tokenized script with the text it came from, for positions.
public struct ShellScript: Sendable {
  public var source: MappedText
  public var commands: [ShellCommand]

  public init(_ source: MappedText) {
    self.source = source
    var tokenizer = ShellTokenizer(Array(source.characters))
    self.commands = tokenizer.tokenize()
  }

  public func position(of word: ShellWord) -> SourcePosition { source.position(at: word.offset) }
  public func position(of command: ShellCommand) -> SourcePosition { source.position(at: command.offset) }

  /// Commands of this script plus those of scripts nested in `sh -c '...'`/`bash -c "..."`,
  /// each with the script it belongs to (for positions).
  public func allCommands() -> [(command: ShellCommand, script: ShellScript)] {
    var result: [(ShellCommand, ShellScript)] = []
    for command in commands {
      result.append((command, self))
      if let nested = nestedScript(of: command) {
        result += nested.allCommands()
      }
    }
    return result
  }

  /// The script of `sh -c '...'` (also bash, ash, dash, zsh), mapped back onto this text.
  public func nestedScript(of command: ShellCommand) -> ShellScript? {
    guard let name = command.name, ShellTokenizer.shells.contains(name) else { return nil }
    let args = command.arguments
    guard let index = args.firstIndex(where: { $0.value.hasPrefix("-") && !$0.value.hasPrefix("--") && $0.value.contains("c") }),
      index + 1 < args.count
    else { return nil }
    let word = args[index + 1]
    var text = MappedText(fallback: position(of: word))
    let quoted = word.raw.first == "'" || word.raw.first == "\""
    for (k, c) in word.value.enumerated() {
      text.append(c, at: source.position(at: word.offset + (quoted ? k + 1 : k)))
    }
    return ShellScript(text)
  }
}
