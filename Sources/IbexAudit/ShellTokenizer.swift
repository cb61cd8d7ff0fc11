/// A small POSIX-sh word splitter for `RUN` bodies: enough to find command words across `&&`,
/// `||`, `;`, `|`, `&`, newlines and subshells, with quotes and escapes removed. Command and
/// process substitutions (`$(...)`, backticks, `<(...)`) stay opaque inside their word but their
/// text is kept for the rules that look into them. It does not try to be bash; when something
/// cannot be known statically (a `$PKGS` word) the word says so and rules treat it as unknown.

struct ShellTokenizer {
  static let shells: Set<String> = ["sh", "bash", "ash", "dash", "zsh", "ksh", "mksh", "busybox"]

  let chars: [Character]
  var i = 0
  var commands: [ShellCommand] = []
  var current = ShellCommand()
  var pipeline = 0
  var pipelineIndex = 0
  var pendingRedirect: String?
  var pendingHeredocs: [(delimiter: String, stripTabs: Bool)] = []

  init(_ chars: [Character]) { self.chars = chars }

  mutating func tokenize() -> [ShellCommand] {
    while i < chars.count {
      let c = chars[i]
      if c == " " || c == "\t" || c == "\r" {
        i += 1
      } else if c == "\n" {
        endCommand(pipe: false)
        i += 1
        skipHeredocBodies()
      } else if c == "\\", i + 1 < chars.count, chars[i + 1] == "\n" {
        i += 2
      } else if c == "#" {
        while i < chars.count, chars[i] != "\n" { i += 1 }
      } else if c == "&" && peek(1) == "&" || c == "|" && peek(1) == "|" {
        endCommand(pipe: false)
        i += 2
      } else if c == "|" {
        endCommand(pipe: true)
        i += peek(1) == "&" ? 2 : 1
      } else if c == ";" || c == "(" || c == ")" {
        endCommand(pipe: false)
        i += (c == ";" && peek(1) == ";") ? 2 : 1
      } else if c == "&" && peek(1) != ">" {
        endCommand(pipe: false)
        i += 1
      } else if let op = redirectOperator() {
        pendingRedirect = op
        if op == "<<" || op == "<<-" {
          // The delimiter word follows; remember it to skip the body lines.
          skipBlanks()
          let word = readWord()
          current.redirects.append(ShellRedirect(op: op, target: word))
          if let word { pendingHeredocs.append((word.value, op == "<<-")) }
          pendingRedirect = nil
        }
      } else if (c == "<" || c == ">") && peek(1) == "(" {
        let start = i
        i += 1
        let body = readBalanced(open: "(", close: ")")
        let raw = String(chars[start..<i])
        addWord(ShellWord(value: raw, raw: raw, offset: start, isLiteral: false, substitutions: [body], isProcessSubstitution: true))
      } else if let word = readWord() {
        addWord(word)
      } else {
        i += 1
      }
    }
    endCommand(pipe: false)
    return commands
  }

  func peek(_ n: Int) -> Character? { i + n < chars.count ? chars[i + n] : nil }

  mutating func skipBlanks() {
    while i < chars.count, chars[i] == " " || chars[i] == "\t" { i += 1 }
  }

  mutating func addWord(_ word: ShellWord) {
    if let op = pendingRedirect {
      current.redirects.append(ShellRedirect(op: op, target: word))
      pendingRedirect = nil
      return
    }
    if current.words.isEmpty && current.redirects.isEmpty { current.offset = word.offset }
    current.words.append(word)
  }

  mutating func endCommand(pipe: Bool) {
    if let op = pendingRedirect {
      current.redirects.append(ShellRedirect(op: op, target: nil))
      pendingRedirect = nil
    }
    if !current.words.isEmpty || !current.redirects.isEmpty {
      current.pipeline = pipeline
      current.pipelineIndex = pipelineIndex
      commands.append(current)
      if pipe {
        pipelineIndex += 1
      } else {
        pipeline += 1
        pipelineIndex = 0
      }
    } else if !pipe {
      pipeline += 1
      pipelineIndex = 0
    }
    current = ShellCommand()
  }

  /// Consumes heredoc bodies that start after the newline just read.
  mutating func skipHeredocBodies() {
    for heredoc in pendingHeredocs {
      while i < chars.count {
        var end = i
        while end < chars.count, chars[end] != "\n" { end += 1 }
        var line = chars[i..<end]
        if heredoc.stripTabs { line = line.drop(while: { $0 == "\t" }) }
        i = min(end + 1, chars.count)
        if String(line) == heredoc.delimiter { break }
      }
    }
    pendingHeredocs = []
  }

  /// A redirection operator at `i` (with an optional fd number before it), consumed.
  mutating func redirectOperator() -> String? {
    var j = i
    while j < chars.count, chars[j].isNumber { j += 1 }
    guard j < chars.count else { return nil }
    if j > i, chars[j] != ">" && chars[j] != "<" { return nil }
    let candidates = ["<<<", "<<-", "&>>", "<<", ">>", ">&", "<&", ">|", "&>", "<>", ">", "<"]
    for op in candidates {
      let opChars = Array(op)
      if j + opChars.count <= chars.count, Array(chars[j..<(j + opChars.count)]) == opChars {
        if op == "<" || op == ">", j + 1 < chars.count, chars[j + 1] == "(" { return nil }
        i = j + opChars.count
        if op == ">&" || op == "<&" {
          // `2>&1`: the target is an fd, not a word.
          skipBlanks()
          while i < chars.count, chars[i].isNumber || chars[i] == "-" { i += 1 }
          return nil
        }
        return op
      }
    }
    return nil
  }

  /// Reads up to the matching close character, honouring quotes and nesting; returns the body.
  mutating func readBalanced(open: Character, close: Character) -> String {
    // chars[i] == open
    var depth = 0
    var body = ""
    var quote: Character?
    while i < chars.count {
      let c = chars[i]
      if let q = quote {
        if c == "\\" && q == "\"" && i + 1 < chars.count { body.append(c); body.append(chars[i + 1]); i += 2; continue }
        if c == q { quote = nil }
      } else if c == "'" || c == "\"" {
        quote = c
      } else if c == "\\" && i + 1 < chars.count {
        body.append(c); body.append(chars[i + 1]); i += 2; continue
      } else if c == open {
        depth += 1
        if depth == 1 { i += 1; continue }
      } else if c == close {
        depth -= 1
        if depth == 0 { i += 1; return body }
      }
      body.append(c)
      i += 1
    }
    return body
  }

  static let wordBreakers: Set<Character> = [" ", "\t", "\n", "\r", ";", "&", "|", "(", ")", "<", ">"]

  /// One shell word starting at `i`, or nil when `i` is at an operator.
  /// Reads `$(...)` at `i`: records its body and returns its text as it stands in the word.
  mutating func readCommandSubstitution(into substitutions: inout [String]) -> String {
    let start = i
    i += 1
    substitutions.append(readBalanced(open: "(", close: ")"))
    return String(chars[start..<i])
  }

  /// Reads a backtick substitution at `i` the same way.
  mutating func readBackticks(into substitutions: inout [String]) -> String {
    let start = i
    i += 1
    while i < chars.count, chars[i] != "`" { i += 1 }
    substitutions.append(String(chars[(start + 1)..<min(i, chars.count)]))
    i += 1
    return String(chars[start..<min(i, chars.count)])
  }

  mutating func readWord() -> ShellWord? {
    let start = i
    var value = ""
    var literal = true
    var substitutions: [String] = []
    while i < chars.count {
      let c = chars[i]
      if ShellTokenizer.wordBreakers.contains(c) { break }
      if c == "\\" {
        if i + 1 < chars.count {
          if chars[i + 1] != "\n" { value.append(chars[i + 1]) }
          i += 2
        } else {
          i += 1
        }
      } else if c == "'" {
        i += 1
        while i < chars.count, chars[i] != "'" { value.append(chars[i]); i += 1 }
        i += 1
      } else if c == "\"" {
        i += 1
        while i < chars.count, chars[i] != "\"" {
          let d = chars[i]
          if d == "\\", i + 1 < chars.count, "$`\"\\\n".contains(chars[i + 1]) {
            value.append(chars[i + 1])
            i += 2
          } else if d == "$" && peek(1) == "(" {
            literal = false
            value += readCommandSubstitution(into: &substitutions)
          } else if d == "`" {
            literal = false
            value += readBackticks(into: &substitutions)
          } else {
            if d == "$" { literal = false }
            value.append(d)
            i += 1
          }
        }
        i += 1
      } else if c == "$" && peek(1) == "(" {
        literal = false
        value += readCommandSubstitution(into: &substitutions)
      } else if c == "$" && peek(1) == "{" {
        literal = false
        let s = i
        i += 1
        _ = readBalanced(open: "{", close: "}")
        value += String(chars[s..<i])
      } else if c == "`" {
        literal = false
        value += readBackticks(into: &substitutions)
      } else {
        if c == "$", let n = peek(1), n.isLetter || n == "_" || n.isNumber || "@*#?$!-".contains(n) { literal = false }
        value.append(c)
        i += 1
      }
    }
    guard i > start else { return nil }
    return ShellWord(
      value: value, raw: String(chars[start..<min(i, chars.count)]), offset: start, isLiteral: literal,
      substitutions: substitutions, isProcessSubstitution: false)
  }
}
