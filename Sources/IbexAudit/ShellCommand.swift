/// One word of a shell command, with what the rules need to know about it.
public struct ShellWord: Sendable, Equatable {
  /// Quotes and escapes removed; expansions kept as written.
  public var value: String
  /// As written.
  public var raw: String
  /// Index of the first character in the tokenized text.
  public var offset: Int
  /// No unquoted or double-quoted `$`/backtick expansion: the value is known statically.
  public var isLiteral: Bool
  /// Bodies of `$(...)`, backticks and `<(...)`/`>(...)` inside this word.
  public var substitutions: [String]
  /// The whole word is a process substitution `<(...)`.
  public var isProcessSubstitution: Bool
}

public struct ShellRedirect: Sendable, Equatable {
  /// `>`, `>>`, `<`, `<<`, `<<-`, `<<<`, `>&`, `&>`, ...
  public var op: String
  public var target: ShellWord?
}

public struct ShellCommand: Sendable, Equatable {
  public var words: [ShellWord] = []
  public var redirects: [ShellRedirect] = []
  /// Commands joined by `|` share a pipeline number.
  public var pipeline: Int = 0
  /// Position of this command inside its pipeline (0 = first).
  public var pipelineIndex: Int = 0
  /// Offset of the first token.
  public var offset: Int = 0

  static let reserved: Set<String> = ["if", "then", "elif", "else", "while", "until", "do", "!", "{", "(", "time"]
  static let closing: Set<String> = ["fi", "done", "esac", "}", ")"]
  /// Wrappers that run their arguments as a command.
  static let wrappers: Set<String> = ["env", "command", "exec", "nohup", "nice", "xargs", "sudo", "doas", "su-exec", "gosu", "chroot", "timeout", "stdbuf"]

  /// The words that make up the command proper: reserved words, `VAR=value` assignments and
  /// wrappers such as `env`, `sudo -E`, `xargs -r` removed. `wrappersSeen` lists removed wrappers.
  public func effective() -> (words: [ShellWord], wrappersSeen: [String]) {
    var rest = words[...]
    var seen: [String] = []
    while let first = rest.first {
      let name = first.value
      if ShellCommand.reserved.contains(name) || ShellCommand.closing.contains(name) {
        rest = rest.dropFirst()
      } else if ShellCommand.isAssignment(name) {
        rest = rest.dropFirst()
      } else if ShellCommand.wrappers.contains(ShellCommand.basename(name)) {
        let wrapper = ShellCommand.basename(name)
        seen.append(wrapper)
        rest = rest.dropFirst()
        // Options of the wrapper (and, for a few, their values) and env assignments.
        while let option = rest.first, option.value.hasPrefix("-") || ShellCommand.isAssignment(option.value) {
          rest = rest.dropFirst()
          if ["-u", "-g", "-C", "-n", "-I", "-d", "-s", "-P", "-L"].contains(option.value), !rest.isEmpty { rest = rest.dropFirst() }
        }
        if wrapper == "gosu" || wrapper == "su-exec" || wrapper == "chroot" || wrapper == "timeout" { rest = rest.dropFirst() }
      } else {
        break
      }
    }
    return (Array(rest), seen)
  }

  /// The command's program name without directory: `/sbin/apk` is `apk`.
  public var name: String? {
    effective().words.first.map { ShellCommand.basename($0.value) }
  }

  /// Arguments after the program name.
  public var arguments: [ShellWord] { Array(effective().words.dropFirst()) }

  static func basename(_ path: String) -> String {
    path.split(separator: "/").last.map(String.init) ?? path
  }

  static func isAssignment(_ word: String) -> Bool {
    guard let eq = word.firstIndex(of: "="), eq != word.startIndex else { return false }
    return word[..<eq].allSatisfy { $0.isLetter || $0.isNumber || $0 == "_" } && !(word.first?.isNumber ?? true)
  }
}
