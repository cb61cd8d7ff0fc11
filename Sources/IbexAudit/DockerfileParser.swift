import Foundation

/// Parses a Dockerfile the way BuildKit reads it: parser directives only at the very top, the
/// escape character (`\` or a backtick) continuing lines even with trailing blanks after it,
/// comment and empty lines inside a continued instruction dropped without ending it, and BuildKit
/// heredocs (`<<EOF`, `<<-EOF`, `<<'EOF'`, several per instruction) whose bodies are never read as
/// instructions. Positions of every character are kept for findings.
public enum DockerfileParser {
  static let instructions: Set<String> = [
    "FROM", "RUN", "CMD", "LABEL", "MAINTAINER", "EXPOSE", "ENV", "ADD", "COPY", "ENTRYPOINT",
    "VOLUME", "USER", "WORKDIR", "ARG", "ONBUILD", "STOPSIGNAL", "HEALTHCHECK", "SHELL",
  ]
  /// Instructions whose leading `--flags` are options, not arguments.
  static let flagInstructions: Set<String> = ["FROM", "RUN", "COPY", "ADD", "HEALTHCHECK"]
  static let heredocInstructions: Set<String> = ["RUN", "COPY", "ADD"]
  static let knownDirectives: Set<String> = ["syntax", "escape", "check"]
  public static let maxStages = 128

  public static func parse(_ source: String) throws(ParseError) -> Dockerfile {
    var text = source
    if text.hasPrefix("\u{FEFF}") { text.removeFirst() }
    let lines: [[Character]] = text.replacingOccurrences(of: "\r\n", with: "\n")
      .split(separator: "\n", omittingEmptySubsequences: false)
      .map { Array($0.hasSuffix("\r") ? $0.dropLast() : $0) }
    var file = Dockerfile()
    file.lineCount = lines.count
    var directivesAllowed = true
    var index = 0
    while index < lines.count {
      let line = lines[index]
      let lineNumber = index + 1
      let indent = line.prefix(while: { $0 == " " || $0 == "\t" }).count
      if indent == line.count {
        directivesAllowed = false
        index += 1
        continue
      }
      if line[indent] == "#" {
        if directivesAllowed, let (key, value) = directive(line) {
          if file.directives[key] != nil {
            throw ParseError("parser directive '\(key)' given twice; keep one", at: SourcePosition(line: lineNumber, column: 1))
          }
          if key == "escape" {
            guard value == "\\" || value == "`" else {
              throw ParseError("invalid escape directive '\(value)': use \\ or `", at: SourcePosition(line: lineNumber, column: 1))
            }
            file.escape = Character(value)
          }
          file.directives[key] = value
        } else {
          directivesAllowed = false
          file.comments.append(comment(line, line: lineNumber, indent: indent))
        }
        index += 1
        continue
      }
      directivesAllowed = false

      // One logical instruction: join continuation lines.
      var logical = MappedText(fallback: SourcePosition(line: lineNumber, column: indent + 1))
      var current = index
      while true {
        let (body, continues) = stripContinuation(lines[current], escape: file.escape)
        logical.append(contentsOf: body, line: current + 1, firstColumn: 1)
        guard continues else { break }
        var next = current + 1
        while next < lines.count {
          let candidate = lines[next]
          let blank = candidate.prefix(while: { $0 == " " || $0 == "\t" }).count
          if blank == candidate.count {
            next += 1
          } else if candidate[blank] == "#" {
            file.comments.append(comment(candidate, line: next + 1, indent: blank))
            next += 1
          } else {
            break
          }
        }
        if next >= lines.count {
          current = lines.count - 1
          break
        }
        current = next
      }
      var instruction = try parseInstruction(logical.trimmed(), endLine: current + 1, escape: file.escape)
      if heredocInstructions.contains(instruction.keyword) || instruction.onbuild.map({ heredocInstructions.contains($0.value.keyword) }) == true {
        current = try readHeredocs(into: &instruction, lines: lines, after: current)
      }
      file.instructions.append(instruction)
      index = current + 1
    }
    // Bounded so that walking a chain of stages stays cheap (BuildKit has no limit; real files
    // have a few stages).
    let froms = file.instructions.lazy.filter { $0.keyword == "FROM" }
    if let first = froms.dropFirst(maxStages).first {
      throw ParseError("more than \(maxStages) stages (FROM instructions); ibex-audit does not audit a file this large", at: first.position)
    }
    if file.instructions.isEmpty {
      throw ParseError("the file has no instructions; a Dockerfile needs at least a FROM", at: .start)
    }
    if let first = file.instructions.first(where: { $0.keyword != "ARG" }), first.keyword != "FROM" {
      throw ParseError("\(first.keyword) before the first FROM; only ARG may come before FROM", at: first.position)
    }
    return file
  }

  /// `# key=value` at the top of the file, for a known key (case-insensitive).
  static func directive(_ line: [Character]) -> (String, String)? {
    let text = String(line).trimmingCharacters(in: .whitespaces)
    guard text.hasPrefix("#") else { return nil }
    let body = text.dropFirst().trimmingCharacters(in: .whitespaces)
    guard let equals = body.firstIndex(of: "=") else { return nil }
    let key = body[..<equals].trimmingCharacters(in: .whitespaces).lowercased()
    guard knownDirectives.contains(key), !key.contains(" ") else { return nil }
    return (key, body[body.index(after: equals)...].trimmingCharacters(in: .whitespaces))
  }

  static func comment(_ line: [Character], line number: Int, indent: Int) -> Dockerfile.Comment {
    let text = String(line[(indent + 1)...]).trimmingCharacters(in: .whitespaces)
    return Dockerfile.Comment(line: number, column: indent + 1, text: text)
  }

  /// Removes a trailing escape character (blanks after it are tolerated, as BuildKit does).
  static func stripContinuation(_ line: [Character], escape: Character) -> ([Character], Bool) {
    var end = line.count
    while end > 0, line[end - 1] == " " || line[end - 1] == "\t" { end -= 1 }
    if end > 0, line[end - 1] == escape {
      return (Array(line[..<(end - 1)]), true)
    }
    return (line, false)
  }

  static func parseInstruction(_ logical: MappedText, endLine: Int, escape: Character) throws(ParseError) -> Instruction {
    let chars = logical.characters
    var cursor = 0
    while cursor < chars.count, !chars[cursor].isWhitespace { cursor += 1 }
    let keywordText = String(chars[0..<cursor])
    let keyword = keywordText.uppercased()
    let position = logical.position(at: 0)
    guard instructions.contains(keyword) else {
      throw ParseError("unknown instruction '\(keywordText)'; is a heredoc or continuation line missing above?", at: position)
    }
    while cursor < chars.count, chars[cursor].isWhitespace { cursor += 1 }
    var instruction = Instruction(
      keyword: keyword, position: position, lines: position.line...max(position.line, endLine),
      arguments: logical.slice(cursor..<chars.count))
    if keyword == "ONBUILD" {
      let inner = try parseInstruction(instruction.arguments.trimmed(), endLine: endLine, escape: escape)
      if inner.keyword == "ONBUILD" || inner.keyword == "FROM" || inner.keyword == "MAINTAINER" {
        throw ParseError("ONBUILD cannot wrap \(inner.keyword)", at: inner.position)
      }
      instruction.onbuild = Box(inner)
      return instruction
    }
    if flagInstructions.contains(keyword) {
      while cursor < chars.count, chars[cursor] == "-", cursor + 1 < chars.count, chars[cursor + 1] == "-" {
        let start = cursor
        var quote: Character?
        while cursor < chars.count {
          let c = chars[cursor]
          if let q = quote {
            if c == q { quote = nil }
          } else if c == "\"" || c == "'" {
            quote = c
          } else if c.isWhitespace {
            break
          }
          cursor += 1
        }
        let word = String(chars[(start + 2)..<cursor])
        let (name, value): (String, String?) =
          if let eq = word.firstIndex(of: "=") {
            (String(word[..<eq]).lowercased(), unquote(String(word[word.index(after: eq)...])))
          } else {
            (word.lowercased(), nil)
          }
        instruction.flags.append(.init(name: name, value: value, position: logical.position(at: start)))
        while cursor < chars.count, chars[cursor].isWhitespace { cursor += 1 }
      }
      instruction.arguments = logical.slice(cursor..<chars.count)
    }
    if ["RUN", "CMD", "ENTRYPOINT", "SHELL", "VOLUME", "COPY", "ADD"].contains(keyword) {
      (instruction.execForm, instruction.malformedExecForm) = execForm(instruction.argumentString)
    }
    return instruction
  }

  /// The exec form of `text` if it is a JSON array of strings; otherwise whether it looked like one.
  public static func execForm(_ text: String) -> ([String]?, Bool) {
    let trimmed = text.trimmingCharacters(in: .whitespaces)
    guard trimmed.hasPrefix("[") else { return (nil, false) }
    guard let strings = strictJSONStringArray(Array(trimmed)) else { return (nil, true) }
    return (strings, false)
  }

  /// Parses `["a", "b"]` strictly (double quotes, no trailing comma), as the Dockerfile frontend
  /// does; anything else is shell form.
  static func strictJSONStringArray(_ chars: [Character]) -> [String]? {
    var i = 0
    func skipBlanks() { while i < chars.count, chars[i].isWhitespace { i += 1 } }
    guard chars.first == "[" else { return nil }
    i = 1
    var result: [String] = []
    skipBlanks()
    if i < chars.count, chars[i] == "]" {
      i += 1
      skipBlanks()
      return i == chars.count ? [] : nil
    }
    while true {
      skipBlanks()
      guard i < chars.count, chars[i] == "\"" else { return nil }
      i += 1
      var value = ""
      while true {
        guard i < chars.count else { return nil }
        let c = chars[i]
        if c == "\"" { i += 1; break }
        if c == "\\" {
          guard i + 1 < chars.count else { return nil }
          let e = chars[i + 1]
          switch e {
          case "\"": value.append("\"")
          case "\\": value.append("\\")
          case "/": value.append("/")
          case "n": value.append("\n")
          case "t": value.append("\t")
          case "r": value.append("\r")
          case "b": value.append("\u{8}")
          case "f": value.append("\u{c}")
          case "u":
            guard i + 5 < chars.count, let code = UInt32(String(chars[(i + 2)...(i + 5)]), radix: 16), let scalar = Unicode.Scalar(code) else { return nil }
            value.unicodeScalars.append(scalar)
            i += 4
          default: return nil
          }
          i += 2
          continue
        }
        value.append(c)
        i += 1
      }
      result.append(value)
      skipBlanks()
      guard i < chars.count else { return nil }
      if chars[i] == "," { i += 1; continue }
      if chars[i] == "]" {
        i += 1
        skipBlanks()
        return i == chars.count ? result : nil
      }
      return nil
    }
  }

  static func unquote(_ value: String) -> String {
    if value.count >= 2, let first = value.first, first == "\"" || first == "'", value.last == first {
      return String(value.dropFirst().dropLast())
    }
    return value
  }

  /// Finds `<<EOF`-style markers in the arguments and consumes their bodies from the following
  /// lines. Returns the index of the last line consumed.
  static func readHeredocs(into instruction: inout Instruction, lines: [[Character]], after lastLine: Int) throws(ParseError) -> Int {
    var target = instruction.onbuild?.value ?? instruction
    let markers = heredocMarkers(in: target.arguments.characters)
    guard !markers.isEmpty else { return lastLine }
    var current = lastLine
    for marker in markers {
      var body = MappedText(fallback: SourcePosition(line: current + 2, column: 1))
      var terminated = false
      var next = current + 1
      while next < lines.count {
        var line = lines[next]
        if marker.stripsTabs { line = Array(line.drop(while: { $0 == "\t" })) }
        if String(line) == marker.delimiter {
          terminated = true
          break
        }
        if !body.isEmpty { body.append("\n", at: SourcePosition(line: next, column: lines[next - 1].count + 1)) }
        let dropped = lines[next].count - line.count
        body.append(contentsOf: line, line: next + 1, firstColumn: dropped + 1)
        next += 1
      }
      guard terminated else {
        throw ParseError(
          "heredoc <<\(marker.delimiter) is not terminated; add a line containing only '\(marker.delimiter)'",
          at: target.arguments.position(at: marker.offset))
      }
      target.heredocs.append(Heredoc(
        delimiter: marker.delimiter, quoted: marker.quoted, stripsTabs: marker.stripsTabs, body: body,
        markerOffset: marker.offset, markerLength: marker.length))
      current = next
    }
    target.lines = target.lines.lowerBound...(current + 1)
    if let inner = instruction.onbuild {
      _ = inner
      instruction.onbuild = Box(target)
      instruction.lines = instruction.lines.lowerBound...(current + 1)
    } else {
      instruction = target
    }
    instruction.execForm = nil
    instruction.malformedExecForm = false
    return current
  }

  struct Marker {
    var delimiter: String
    var quoted: Bool
    var stripsTabs: Bool
    var offset: Int
    var length: Int
  }

  /// `<<WORD`, `<<-WORD`, `<<'WORD'`, `<<"WORD"` outside quotes (not `<<<`).
  static func heredocMarkers(in chars: [Character]) -> [Marker] {
    var markers: [Marker] = []
    var quote: Character?
    var i = 0
    while i < chars.count {
      let c = chars[i]
      if let q = quote {
        if c == q { quote = nil } else if c == "\\", q == "\"" { i += 1 }
        i += 1
        continue
      }
      if c == "'" || c == "\"" {
        quote = c
        i += 1
        continue
      }
      if c == "\\" {
        i += 2
        continue
      }
      guard c == "<", i + 1 < chars.count, chars[i + 1] == "<", i == 0 || chars[i - 1] != "<",
        i + 2 < chars.count, chars[i + 2] != "<"
      else {
        i += 1
        continue
      }
      var j = i + 2
      var strips = false
      if j < chars.count, chars[j] == "-" {
        strips = true
        j += 1
      }
      var quoted = false
      var delimiter = ""
      if j < chars.count, chars[j] == "'" || chars[j] == "\"" {
        let q = chars[j]
        quoted = true
        j += 1
        while j < chars.count, chars[j] != q {
          delimiter.append(chars[j])
          j += 1
        }
        j += 1
      } else {
        while j < chars.count, !chars[j].isWhitespace, !"<>|&;()'\"".contains(chars[j]) {
          delimiter.append(chars[j])
          j += 1
        }
      }
      if !delimiter.isEmpty {
        markers.append(Marker(delimiter: delimiter, quoted: quoted, stripsTabs: strips, offset: i, length: j - i))
      }
      i = max(j, i + 2)
    }
    return markers
  }
}
