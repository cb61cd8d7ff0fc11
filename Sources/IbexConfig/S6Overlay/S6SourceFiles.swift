import IbexCore
import IbexRuntime

/// A service or bundle name written in a definition, and where it was written.
struct S6Reference: Equatable, Sendable {
  var name: String
  var file: String
  /// nil for a name that is a directory entry (`dependencies.d/<name>`).
  var line: Int?

  var location: SourceLocation { SourceLocation(file: file, line: line ?? 1) }
  /// `path` or `path:line`, for messages.
  var place: String { line.map { "\(file):\($0)" } ?? file }
}

/// Small readers for the one-value files of s6 definitions.
enum S6SourceFiles {
  static func exists(_ path: String) -> Bool { FileSystem.info(path) != nil }
  static func isDirectory(_ path: String) -> Bool { FileSystem.info(path)?.isDirectory == true }

  static func read(_ path: String) throws(ConfigError) -> String {
    do {
      return try FileSystem.readText(path)
    } catch {
      throw ConfigError("unable to read \(path): \(error.description)")
    }
  }

  /// Directory entries that do not start with a dot, sorted bytewise.
  static func list(_ directory: String) throws(ConfigError) -> [String] {
    do {
      return try FileSystem.list(directory).filter { !$0.hasPrefix(".") }
    } catch {
      throw ConfigError("unable to read \(directory): \(error.description)")
    }
  }

  static func isWhitespace(_ b: UInt8) -> Bool { b == 0x20 || b == 0x09 || b == 0x0A || b == 0x0D }

  static func trimmed(_ text: Substring) -> String {
    let bytes = Array(text.utf8)
    guard let first = bytes.firstIndex(where: { !isWhitespace($0) }) else { return "" }
    let last = bytes.lastIndex(where: { !isWhitespace($0) })!
    return String(decoding: bytes[first...last], as: UTF8.self)
  }

  /// The whole file with surrounding whitespace removed, or nil when it does not exist.
  static func value(_ path: String) throws(ConfigError) -> String? {
    guard let info = FileSystem.info(path) else { return nil }
    if info.isDirectory { throw ConfigError("\(path) is a directory, not a file") }
    return trimmed(Substring(try read(path)))
  }

  /// Lines that are neither blank nor `#` comments, trimmed, with their numbers.
  static func lines(_ path: String) throws(ConfigError) -> [(text: String, line: Int)] {
    var result: [(text: String, line: Int)] = []
    for (i, line) in try read(path).split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
      let text = trimmed(line)
      if text.isEmpty || text.hasPrefix("#") { continue }
      result.append((text, i + 1))
    }
    return result
  }

  /// Names from a `<list>.d/` directory (one empty file per name) and the legacy `<list>`
  /// file (one name per line, `#` comments), in that order.
  static func names(in directory: String, _ kind: String) throws(ConfigError) -> [S6Reference] {
    var references: [S6Reference] = []
    let listDirectory = directory + "/" + kind + ".d"
    if isDirectory(listDirectory) {
      for name in try list(listDirectory) { references.append(S6Reference(name: name, file: listDirectory + "/" + name, line: nil)) }
    }
    let listFile = directory + "/" + kind
    if let info = FileSystem.info(listFile), info.isRegularFile {
      for (text, line) in try lines(listFile) { references.append(S6Reference(name: text, file: listFile, line: line)) }
    }
    return references
  }

  /// A number of milliseconds (digits only), or nil when the file does not exist.
  static func milliseconds(_ path: String) throws(ConfigError) -> Int64? {
    guard let text = try value(path) else { return nil }
    guard let value = S6Settings.digits(text) else {
      throw ConfigError("'\(text)' is not a number of milliseconds (digits only)", at: SourceLocation(file: path, line: 1))
    }
    return Int64(value)
  }

  /// The interpreter named by a `#!` first line, or nil when there is none (or the file
  /// cannot be read: running it will say why).
  static func interpreter(of path: String) -> String? {
    guard let bytes = try? FileSystem.read(path, limit: 64 << 20), bytes.count > 2, bytes[0] == 0x23, bytes[1] == 0x21 else { return nil }
    let firstLine = bytes[2...].prefix(while: { $0 != 0x0A })
    let words = firstLine.split(whereSeparator: { $0 == 0x20 || $0 == 0x09 || $0 == 0x0D })
    return words.first.map { String(decoding: $0, as: UTF8.self) }
  }
}
