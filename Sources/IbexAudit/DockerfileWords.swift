import Foundation

/// Splits Dockerfile arguments into words on blanks, keeping quoted parts together (quotes kept,
/// `VariableExpander.expand` removes them).
enum DockerfileWords {
  struct Word {
    var raw: String
    var offset: Int
  }

  static func split(_ chars: [Character], escape: Character) -> [Word] {
    var words: [Word] = []
    var current = ""
    var start = 0
    var quote: Character?
    var i = 0
    while i < chars.count {
      let c = chars[i]
      if let q = quote {
        current.append(c)
        if c == escape, q == "\"", i + 1 < chars.count {
          current.append(chars[i + 1])
          i += 2
          continue
        }
        if c == q { quote = nil }
      } else if c.isWhitespace {
        if !current.isEmpty { words.append(Word(raw: current, offset: start)) }
        current = ""
      } else {
        if current.isEmpty { start = i }
        if c == "\"" || c == "'" { quote = c }
        current.append(c)
        if c == escape, i + 1 < chars.count {
          current.append(chars[i + 1])
          i += 2
          continue
        }
      }
      i += 1
    }
    if !current.isEmpty { words.append(Word(raw: current, offset: start)) }
    return words
  }

  /// `ENV`/`ARG`/`LABEL` pairs: `a=1 b="x y"` or the legacy `ENV a value with spaces`.
  static func pairs(_ instruction: Instruction, escape: Character) -> [(name: String, value: String?, offset: Int)] {
    let words = split(instruction.arguments.characters, escape: escape)
    guard let first = words.first else { return [] }
    if instruction.keyword == "ENV", !first.raw.contains("=") {
      let rest = instruction.argumentString.dropFirst(first.raw.count).trimmingCharacters(in: .whitespaces)
      return [(first.raw, rest, first.offset)]
    }
    return words.map { word in
      if let eq = word.raw.firstIndex(of: "=") {
        return (String(word.raw[..<eq]), String(word.raw[word.raw.index(after: eq)...]), word.offset)
      }
      return (word.raw, nil, word.offset)
    }
  }
}
