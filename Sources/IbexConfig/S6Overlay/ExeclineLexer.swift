import IbexCore

/// Turns an s6-rc `up` or `down` file into the ONE command line execlineb would build from it
/// (S6-LAYOUT-06), without running execlineb: these files are not scripts.
///
/// The rules are execlineb's:
/// - whitespace (space, tab, newline, carriage return) separates words; newlines are nothing more;
/// - `#` at the start of a word starts a comment that ends with the line (so a `#!` line vanishes);
/// - a double-quoted string is part of a word and may be empty (`""` is the empty word); inside it
///   `\a \b \t \n \v \f \r` are control characters, `\0xHH` is hexadecimal, `\0OOO` octal,
///   `\DDD` decimal (first digit not 0), a backslash before a newline removes both, and a
///   backslash before anything else keeps that character;
/// - outside quotes a backslash keeps the next character as it is;
/// - an unquoted `{` word opens a block and `}` closes it. Blocks are encoded as execlineb passes
///   them on: every word inside gets one more leading space, and the block ends with an empty
///   word (so a nested block's end is a word of spaces);
/// - no `$VAR` substitution: `$` is an ordinary character.
public enum ExeclineLexer {
  /// The command line of a file, and whether the file looked like a script.
  public struct Result: Equatable, Sendable {
    /// argv, possibly empty (execlineb exits 0 on an empty command line).
    public var words: [String]
    /// The file has a `#!` line, or more than one line that is not blank or a comment: its
    /// author probably expected a script (S6-PAIN-02).
    public var looksLikeScript: Bool
  }

  /// Lexes `text`, read from `file` (for error positions).
  public static func lex(_ text: String, file: String) throws(ConfigError) -> Result {
    let bytes = Array(text.utf8)
    var index = 0
    var line = 1
    // The words of the top level and of every open block, innermost last.
    var levels: [[[UInt8]]] = [[]]
    var blockLines: [Int] = []

    func isSpace(_ b: UInt8) -> Bool { b == 0x20 || b == 0x09 || b == 0x0A || b == 0x0D }

    while true {
      while index < bytes.count && isSpace(bytes[index]) {
        if bytes[index] == 0x0A { line += 1 }
        index += 1
      }
      if index == bytes.count { break }
      if bytes[index] == 0x23 {  // "#": a comment to the end of the line
        while index < bytes.count && bytes[index] != 0x0A { index += 1 }
        continue
      }
      let wordLine = line
      var word: [UInt8] = []
      // Quoted or escaped: `"{"` and `\{` are words, not block delimiters.
      var quoted = false
      while index < bytes.count && !isSpace(bytes[index]) {
        let byte = bytes[index]
        if byte == 0 { throw ConfigError("a NUL byte cannot appear in a command line", at: SourceLocation(file: file, line: line)) }
        if byte == 0x22 {  // '"'
          quoted = true
          let quoteLine = line
          index += 1
          var closed = false
          while index < bytes.count {
            let b = bytes[index]
            if b == 0x22 {
              index += 1
              closed = true
              break
            }
            if b == 0x0A { line += 1 }
            if b == 0x5C {  // backslash
              index += 1
              guard index < bytes.count else { break }
              if let value = try escape(bytes, &index, &line, file: file) { word.append(value) }
              continue
            }
            if b == 0 { throw ConfigError("a NUL byte cannot appear in a command line", at: SourceLocation(file: file, line: line)) }
            word.append(b)
            index += 1
          }
          if !closed {
            throw ConfigError("unterminated double-quoted string (a \" without its closing \")", at: SourceLocation(file: file, line: quoteLine))
          }
          continue
        }
        if byte == 0x5C {  // backslash: the next character as it is (so `\{` is no block)
          quoted = true
          index += 1
          if index < bytes.count {
            if bytes[index] == 0x0A { line += 1 }
            if bytes[index] == 0 { throw ConfigError("a NUL byte cannot appear in a command line", at: SourceLocation(file: file, line: line)) }
            word.append(bytes[index])
            index += 1
          } else {
            word.append(0x5C)
          }
          continue
        }
        word.append(byte)
        index += 1
      }
      if !quoted && word == [0x7B] {  // "{"
        levels.append([])
        blockLines.append(wordLine)
      } else if !quoted && word == [0x7D] {  // "}"
        guard levels.count > 1 else {
          throw ConfigError("'}' without an opening '{'", at: SourceLocation(file: file, line: wordLine))
        }
        let block = levels.removeLast()
        blockLines.removeLast()
        for inner in block { levels[levels.count - 1].append([0x20] + inner) }
        levels[levels.count - 1].append([])
      } else {
        levels[levels.count - 1].append(word)
      }
    }
    if let open = blockLines.last {
      throw ConfigError("unterminated block: '{' without its closing '}'", at: SourceLocation(file: file, line: open))
    }
    return Result(words: levels[0].map { String(decoding: $0, as: UTF8.self) }, looksLikeScript: looksLikeScript(bytes))
  }

  /// Decodes the escape sequence after a backslash inside double quotes; `index` is on the
  /// character after the backslash. nil: the sequence produces nothing (backslash-newline).
  private static func escape(_ bytes: [UInt8], _ index: inout Int, _ line: inout Int, file: String) throws(ConfigError) -> UInt8? {
    func digit(_ b: UInt8, base: Int) -> Int? {
      let value: Int
      switch b {
      case 0x30...0x39: value = Int(b - 0x30)
      case 0x61...0x66: value = Int(b - 0x61 + 10)
      case 0x41...0x46: value = Int(b - 0x41 + 10)
      default: return nil
      }
      return value < base ? value : nil
    }
    func number(base: Int, maxDigits: Int) -> Int {
      var value = 0
      var count = 0
      while count < maxDigits && index < bytes.count, let d = digit(bytes[index], base: base) {
        value = value * base + d
        index += 1
        count += 1
      }
      return value
    }
    let b = bytes[index]
    var result: Int
    switch b {
    case 0x61: result = 7  // a
    case 0x62: result = 8  // b
    case 0x74: result = 9  // t
    case 0x6E: result = 10  // n
    case 0x76: result = 11  // v
    case 0x66: result = 12  // f
    case 0x72: result = 13  // r
    case 0x0A:
      line += 1
      index += 1
      return nil
    case 0x30:  // \0xHH or \0OOO
      index += 1
      if index < bytes.count && (bytes[index] == 0x78 || bytes[index] == 0x58) {
        index += 1
        result = number(base: 16, maxDigits: 2)
      } else {
        result = number(base: 8, maxDigits: 3)
      }
      if result == 0 || result > 255 {
        throw ConfigError("escape sequence gives a NUL byte or a value above 255", at: SourceLocation(file: file, line: line))
      }
      return UInt8(result)
    case 0x31...0x39:  // \DDD, decimal
      result = number(base: 10, maxDigits: 3)
      if result > 255 { throw ConfigError("escape sequence gives a value above 255", at: SourceLocation(file: file, line: line)) }
      return UInt8(result)
    case 0:
      throw ConfigError("a NUL byte cannot appear in a command line", at: SourceLocation(file: file, line: line))
    default:
      result = Int(b)
    }
    index += 1
    return UInt8(result)
  }

  /// A `#!` first line, or more than one line that is neither blank nor a comment.
  static func looksLikeScript(_ bytes: [UInt8]) -> Bool {
    if bytes.count >= 2 && bytes[0] == 0x23 && bytes[1] == 0x21 { return true }
    var commandLines = 0
    for line in bytes.split(separator: 0x0A, omittingEmptySubsequences: true) {
      guard let first = line.first(where: { $0 != 0x20 && $0 != 0x09 && $0 != 0x0D }) else { continue }
      if first != 0x23 { commandLines += 1 }
    }
    return commandLines > 1
  }

  /// argv for messages: words separated by spaces, a word that is empty or holds whitespace,
  /// quotes or backslashes shown in double quotes.
  public static func display(_ words: [String]) -> String {
    var text = ""
    for (i, word) in words.enumerated() {
      if i > 0 { text += " " }
      let needsQuotes = word.isEmpty || word.utf8.contains { $0 == 0x20 || $0 == 0x09 || $0 == 0x0A || $0 == 0x22 || $0 == 0x5C }
      guard needsQuotes else {
        text += word
        continue
      }
      text += "\""
      for scalar in word.unicodeScalars {
        switch scalar {
        case "\"": text += "\\\""
        case "\\": text += "\\\\"
        case "\n": text += "\\n"
        case "\t": text += "\\t"
        default: text.unicodeScalars.append(scalar)
        }
      }
      text += "\""
    }
    return text
  }
}
