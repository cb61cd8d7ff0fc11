/// Environment lists (`NAME=value` strings) and `$NAME` expansion in command lines.
public enum Environment {
  /// `base` with `overrides` applied: a name set in `overrides` replaces its earlier value.
  public static func merge(_ base: [String], _ overrides: [String]) -> [String] {
    var result = base
    for assignment in overrides {
      let name = self.name(of: assignment)
      if let index = result.firstIndex(where: { self.name(of: $0) == name }) {
        result[index] = assignment
      } else {
        result.append(assignment)
      }
    }
    return result
  }

  static func name(of assignment: String) -> Substring {
    assignment.utf8.firstIndex(of: UInt8(ascii: "=")).map { assignment[..<$0] } ?? Substring(assignment)
  }

  /// The value of `name` in `environment`. An entry without `=` (execve(2) allows them in a
  /// process's environment) sets nothing.
  public static func value(of name: String, in environment: [String]) -> String? {
    for assignment in environment {
      // Bytes, not Characters: `=` is ASCII, and this runs for every variable ibex reads.
      guard let equals = assignment.utf8.firstIndex(of: UInt8(ascii: "=")), assignment[..<equals] == name else { continue }
      return String(assignment[assignment.index(after: equals)...])
    }
    return nil
  }

  /// systemd's expansion in command lines: `${NAME}` inside a word is replaced by the value
  /// (empty if unset); a word that is exactly `$NAME` becomes the value split at whitespace
  /// (no word if it is empty); `$$` is a literal `$`. Beyond systemd, the shell's defaults
  /// that users write: `${NAME:-word}` (word when NAME is unset or empty), `${NAME-word}`
  /// (when unset), `${NAME:+word}` (word when NAME is set and not empty, else nothing) and
  /// `${NAME+word}` (when set); the word is taken as written. Any other `${...}` stays as
  /// written (`unsupportedExpansion` lets a loader refuse it first).
  public static func expand(_ words: [String], in environment: [String]) -> [String] {
    var result: [String] = []
    for word in words {
      if word.hasPrefix("$") && !word.hasPrefix("${") && !word.hasPrefix("$$") && word.count > 1 {
        let name = String(word.dropFirst())
        if name.utf8.allSatisfy(isNameByte) {
          let value = value(of: name, in: environment) ?? ""
          result += value.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\n" }).map(String.init)
          continue
        }
      }
      var unsupported: String?
      result.append(expandBraces(word, environment, unsupported: &unsupported))
    }
    return result
  }

  /// The first `${...}` in `word` that `expand` does not understand (`${#X}`, `${X%y}`,
  /// `${X:=y}`, ...), or nil.
  public static func unsupportedExpansion(in word: String) -> String? {
    var unsupported: String?
    _ = expandBraces(word, [], unsupported: &unsupported)
    return unsupported
  }

  static func isNameByte(_ byte: UInt8) -> Bool {
    (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5a) || (byte >= 0x61 && byte <= 0x7a) || byte == 0x5f
  }

  private static func expandBraces(_ word: String, _ environment: [String], unsupported: inout String?) -> String {
    guard word.contains("$") else { return word }
    let bytes = Array(word.utf8)
    var out: [UInt8] = []
    var i = 0
    while i < bytes.count {
      if bytes[i] == UInt8(ascii: "$") && i + 1 < bytes.count && bytes[i + 1] == UInt8(ascii: "$") {
        out.append(UInt8(ascii: "$"))
        i += 2
      } else if bytes[i] == UInt8(ascii: "$") && i + 1 < bytes.count && bytes[i + 1] == UInt8(ascii: "{"),
        let close = bytes[(i + 2)...].firstIndex(of: UInt8(ascii: "}"))
      {
        if let value = braceValue(bytes[(i + 2)..<close], environment) {
          out += value
        } else {
          out += bytes[i...close]
          if unsupported == nil { unsupported = String(decoding: bytes[i...close], as: UTF8.self) }
        }
        i = close + 1
      } else {
        out.append(bytes[i])
        i += 1
      }
    }
    return String(decoding: out, as: UTF8.self)
  }

  /// The value of the inside of `${...}`, or nil when it is not a form `expand` knows.
  private static func braceValue(_ inside: ArraySlice<UInt8>, _ environment: [String]) -> [UInt8]? {
    let nameEnd = inside.firstIndex { !isNameByte($0) } ?? inside.endIndex
    guard nameEnd > inside.startIndex else { return nil }
    let value = value(of: String(decoding: inside[..<nameEnd], as: UTF8.self), in: environment)
    var rest = inside[nameEnd...]
    guard let first = rest.first else { return Array((value ?? "").utf8) }
    let colon = first == UInt8(ascii: ":")
    if colon { rest = rest.dropFirst() }
    guard let operation = rest.first, operation == UInt8(ascii: "-") || operation == UInt8(ascii: "+") else { return nil }
    let word = Array(rest.dropFirst())
    // `:` counts an empty value as unset.
    let isSet = value != nil && !(colon && value!.isEmpty)
    if operation == UInt8(ascii: "-") { return isSet ? Array(value!.utf8) : word }
    return isSet ? word : []
  }

  /// Parses an `EnvironmentFile=`: `NAME=value` lines; blank lines and lines starting with
  /// `#` or `;` are skipped; `export ` before a name is allowed; a value in matching single
  /// or double quotes loses them. Returns the assignments, or the 1-based line of a bad one.
  public static func parseFile(_ text: String) -> Result<[String], EnvironmentFileError> {
    var assignments: [String] = []
    var number = 0
    // Split on bytes: "\r\n" is one Character, so splitting the String on "\n" would see a
    // CRLF file as one line. A leading UTF-8 byte-order mark is skipped.
    var bytes = Substring(text).utf8[...]
    if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { bytes = bytes.dropFirst(3) }
    for rawLine in bytes.split(separator: 0x0A, omittingEmptySubsequences: false) {
      number += 1
      // A NUL would end the value where the C library reads it.
      if rawLine.contains(0) { return .failure(EnvironmentFileError(line: number, reason: "a NUL byte is not allowed")) }
      var line = Substring(String(decoding: rawLine, as: UTF8.self))
      while let first = line.first, first == " " || first == "\t" { line = line.dropFirst() }
      while let last = line.last, last == " " || last == "\t" || last == "\r" { line = line.dropLast() }
      if line.isEmpty || line.hasPrefix("#") || line.hasPrefix(";") { continue }
      if line.hasPrefix("export ") { line = line.dropFirst(7) }
      guard let equals = line.firstIndex(of: "="), equals != line.startIndex,
        line[..<equals].utf8.allSatisfy(isNameByte)
      else { return .failure(EnvironmentFileError(line: number)) }
      var value = line[line.index(after: equals)...]
      if value.count >= 2, let first = value.first, first == "\"" || first == "'", value.last == first {
        value = value.dropFirst().dropLast()
      }
      assignments.append(String(line[..<equals]) + "=" + String(value))
    }
    return .success(assignments)
  }
}

/// A line of an environment file that is not `NAME=value`.
public struct EnvironmentFileError: Error, Equatable, Sendable {
  public var line: Int
  public var reason: String
  public init(line: Int, reason: String = "not NAME=value") {
    self.line = line
    self.reason = reason
  }
}
