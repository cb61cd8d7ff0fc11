import IbexCore

/// Walks a command line's options: they end at the first word that is not an option (`-x`,
/// `--name`, `--name=value`) or after `--`, and everything from there on is left alone.
struct OptionScanner {
  let words: [String]
  /// The index of the next word; once `next()` returns nil, where the operands start.
  private(set) var index = 0
  private var inlineValue: String?
  private var name = ""

  init(_ words: [String]) { self.words = words }

  /// The next option's name, or nil when the options have ended.
  mutating func next() -> String? {
    guard index < words.count else { return nil }
    let word = words[index]
    if word == "--" {
      index += 1
      return nil
    }
    guard word.hasPrefix("-") && word != "-" else { return nil }
    index += 1
    inlineValue = nil
    name = word
    if word.hasPrefix("--"), let equals = word.firstIndex(of: "=") {
      name = String(word[..<equals])
      inlineValue = String(word[word.index(after: equals)...])
    }
    return name
  }

  /// The current option's value: after `=`, or the next word.
  mutating func value(missing message: String? = nil) throws(UsageError) -> String {
    if let inlineValue { return inlineValue }
    guard index < words.count else { throw UsageError(message ?? "option \(name) needs a value") }
    index += 1
    return words[index - 1]
  }

  /// For options without a value: `--flag=x` is an error.
  func noValue() throws(UsageError) {
    if inlineValue != nil { throw UsageError("option \(name) takes no value") }
  }

  /// The current option's value as a time span.
  mutating func duration(missing message: String? = nil) throws(UsageError) -> TimeSpan {
    let text = try value(missing: message)
    do {
      return try TimeSpan(parsing: text)
    } catch {
      throw UsageError("invalid duration '\(text)' for \(name): \(error.description)")
    }
  }
}
