import IbexCore

/// One `Key=Value` line of a unit file.
public struct UnitEntry: Equatable, Sendable {
  public var section: String
  public var key: String
  public var value: String
  public var location: SourceLocation
}

/// The systemd unit-file syntax: `[Section]` headers, `Key=Value` lines, `#` and `;` comments,
/// and lines continued with a trailing backslash. Values keep their quotes; the directive
/// that reads a value decides how to split it.
public enum UnitFile {
  /// Parses `text` (the contents of `file`) into entries, in order. Lines end in LF or CRLF;
  /// a leading UTF-8 byte-order mark is skipped. A NUL byte anywhere is an error (a C string
  /// would end there: `ExecStart=/bin/true\0/evil` must not quietly run `/bin/true`).
  /// Messages never quote a whole line: the file may be something else entirely (a symlink to
  /// /etc/shadow), so they name at most the offending key or word.
  public static func parse(_ text: String, file: String) throws(ConfigError) -> [UnitEntry] {
    var entries: [UnitEntry] = []
    var section: String?
    var pending: (text: String, line: Int)?
    var lineNumber = 0
    var bytes = Substring(text).utf8[...]
    if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { bytes = bytes.dropFirst(3) }
    for rawLine in bytes.split(separator: 0x0A, omittingEmptySubsequences: false) {
      lineNumber += 1
      var lineBytes = rawLine
      if lineBytes.last == 0x0D { lineBytes = lineBytes.dropLast() }
      if lineBytes.contains(0) {
        throw ConfigError("a NUL byte in the line: not allowed in a service file", at: SourceLocation(file: file, line: lineNumber))
      }
      let line = String(decoding: lineBytes, as: UTF8.self)
      if var continued = pending {
        // A comment line inside a continuation is skipped, as systemd does.
        let trimmed = trimmed(line)
        if trimmed.hasPrefix("#") || trimmed.hasPrefix(";") { continue }
        continued.text += " " + trimmed
        pending = continued
      } else {
        let trimmed = trimmed(line)
        if trimmed.isEmpty || trimmed.hasPrefix("#") || trimmed.hasPrefix(";") { continue }
        pending = (trimmed, lineNumber)
      }
      if pending!.text.hasSuffix("\\") {
        pending!.text.removeLast()
        pending!.text = UnitFile.trimmed(pending!.text)
        continue
      }
      let (content, startLine) = pending!
      pending = nil
      let location = SourceLocation(file: file, line: startLine)
      if content.hasPrefix("[") {
        guard content.hasSuffix("]"), content.count > 2 else {
          throw ConfigError("malformed section header: a line starting with '[' must be '[Name]'", at: location)
        }
        section = String(content.dropFirst().dropLast())
        continue
      }
      guard let equals = content.firstIndex(of: "=") else {
        let word = leadingWord(content)
        throw ConfigError(
          "expected 'Key=Value' or a '[Section]' header" + (word.isEmpty ? "" : ", found a line starting with '\(word)'"),
          at: location)
      }
      let key = UnitFile.trimmed(String(content[..<equals]))
      guard let section else { throw ConfigError("'\(leadingWord(key))=' is outside of any section", at: location) }
      if key.isEmpty { throw ConfigError("missing key before '='", at: location) }
      let value = UnitFile.trimmed(String(content[content.index(after: equals)...]))
      entries.append(UnitEntry(section: section, key: key, value: value, location: location))
    }
    if let pending {
      throw ConfigError("the file ends inside a continued line", at: SourceLocation(file: file, line: pending.line))
    }
    return entries
  }

  /// The first word of a line that could be a key (ASCII letters, digits, `-_.@:`), at most
  /// 40 characters: what an error message may quote of a line it cannot read.
  static func leadingWord(_ text: String) -> String {
    var word = ""
    for scalar in text.unicodeScalars {
      guard scalar.isASCII, word.utf8.count < 40 else { break }
      let c = scalar.value
      let isWord = (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A) || c == 0x2D || c == 0x5F
        || c == 0x2E || c == 0x40
      guard isWord else { break }
      word.unicodeScalars.append(scalar)
    }
    return word
  }

  static func trimmed(_ text: String) -> String {
    var slice = Substring(text)
    while let first = slice.first, first == " " || first == "\t" { slice = slice.dropFirst() }
    while let last = slice.last, last == " " || last == "\t" { slice = slice.dropLast() }
    return String(slice)
  }

  /// Splits a value into words the way systemd does for command lines and lists: whitespace
  /// separates, double and single quotes group, and backslash escapes (`\n`, `\t`, `\\`, `\"`,
  /// `\'`, `\xNN`) are decoded.
  public static func words(_ value: String) throws(ConfigError.Message) -> [String] {
    var words: [String] = []
    var current: [UInt8] = []
    var inWord = false
    var quote: UInt8?
    let bytes = Array(value.utf8)
    var i = 0
    while i < bytes.count {
      let byte = bytes[i]
      if byte == UInt8(ascii: "\\") {
        guard i + 1 < bytes.count else { throw ConfigError.Message("trailing backslash") }
        let next = bytes[i + 1]
        i += 2
        inWord = true
        switch next {
        case UInt8(ascii: "n"): current.append(10)
        case UInt8(ascii: "t"): current.append(9)
        case UInt8(ascii: "r"): current.append(13)
        case UInt8(ascii: "x"):
          guard i + 1 < bytes.count, let high = hexValue(bytes[i]), let low = hexValue(bytes[i + 1]) else {
            throw ConfigError.Message("bad \\x escape")
          }
          guard high != 0 || low != 0 else { throw ConfigError.Message("\\x00 is not allowed (a NUL would end the value)") }
          current.append(high << 4 | low)
          i += 2
        case UInt8(ascii: "\\"), UInt8(ascii: "\""), UInt8(ascii: "'"), UInt8(ascii: " "), UInt8(ascii: ";"):
          current.append(next)
        default:
          throw ConfigError.Message("unknown escape '\\\(String(decoding: [next], as: UTF8.self))'")
        }
        continue
      }
      if let open = quote {
        if byte == open { quote = nil } else { current.append(byte) }
      } else if byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "'") {
        quote = byte
        inWord = true
      } else if byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t") {
        if inWord { words.append(String(decoding: current, as: UTF8.self)) }
        current = []
        inWord = false
      } else {
        current.append(byte)
        inWord = true
      }
      i += 1
    }
    if quote != nil { throw ConfigError.Message("unterminated quote") }
    if inWord { words.append(String(decoding: current, as: UTF8.self)) }
    return words
  }

  private static func hexValue(_ byte: UInt8) -> UInt8? {
    switch byte {
    case UInt8(ascii: "0")...UInt8(ascii: "9"): return byte - UInt8(ascii: "0")
    case UInt8(ascii: "a")...UInt8(ascii: "f"): return byte - UInt8(ascii: "a") + 10
    case UInt8(ascii: "A")...UInt8(ascii: "F"): return byte - UInt8(ascii: "A") + 10
    default: return nil
    }
  }
}

extension ConfigError {
  /// An error without a position yet: the caller adds file and line.
  public struct Message: Error, Equatable, Sendable {
    public var text: String
    public init(_ text: String) { self.text = text }
  }
}
