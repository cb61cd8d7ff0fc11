/// A configuration that ibex refuses to run: where, and what is wrong.
/// `description`: `/etc/ibex/services/web.service:12: unknown directive 'Restrat' (did you mean 'Restart'?)`.
///
/// A load reports every error it finds, not only the first: the first (in file and line
/// order) is this value, the others are in `more`.
public struct ConfigError: Error, Equatable, Sendable {
  public var location: SourceLocation?
  public var message: String
  /// The load's other errors, in file and line order after this one.
  public var more: [ConfigError] = []

  public init(_ message: String, at location: SourceLocation? = nil) {
    self.message = message
    self.location = location
  }

  /// One error standing for all of `errors` (not empty), sorted by file, then line; errors
  /// without a location come first.
  public init(collecting errors: [ConfigError]) {
    let all = errors.flatMap { $0.all }.stablySorted(by: ConfigError.precedes)
    self = all[0]
    more = Array(all.dropFirst())
  }

  private static func precedes(_ a: ConfigError, _ b: ConfigError) -> Bool {
    guard let x = a.location else { return b.location != nil }
    guard let y = b.location else { return false }
    return x.file != y.file ? x.file < y.file : x.line < y.line
  }

  /// This error and the others of the same load, each on its own.
  public var all: [ConfigError] {
    var first = self
    first.more = []
    return [first] + more
  }

  /// Every error, one per line.
  public var description: String {
    var text = ""
    for (k, error) in all.enumerated() {
      text += (k == 0 ? "" : "\n") + (error.location.map { "\($0.description): " } ?? "") + error.message
    }
    return text
  }
}

/// Runs the steps of one load, keeping every `ConfigError` instead of stopping at the first.
public struct ConfigErrorCollector {
  public private(set) var errors: [ConfigError] = []
  public init() {}

  /// The value of `step`, or nil when it failed (its error is kept).
  @discardableResult
  public mutating func attempt<T>(_ step: () throws(ConfigError) -> T) -> T? {
    do {
      return try step()
    } catch {
      errors.append(error)
      return nil
    }
  }

  public mutating func record(_ error: ConfigError) { errors.append(error) }

  /// Throws every kept error as one.
  public func check() throws(ConfigError) {
    if !errors.isEmpty { throw ConfigError(collecting: errors) }
  }
}

/// "did you mean ...?": the known word nearest to `word` (ASCII case ignored, edit distance at
/// most 2), or nil.
public func closestWord(to word: String, in candidates: [String]) -> String? {
  // ASCII case only: `lowercased()` would pull Unicode's case tables into the binary.
  func lowered(_ text: String) -> [UInt8] { Array(text.lowercasedASCII.utf8) }
  let target = lowered(word)
  var best: (String, Int)?
  for candidate in candidates {
    let distance = editDistance(target, lowered(candidate))
    if distance <= 2 && (best == nil || distance < best!.1) { best = (candidate, distance) }
  }
  return best?.0
}

private func editDistance(_ a: [UInt8], _ b: [UInt8]) -> Int {
  if a.isEmpty { return b.count }
  var previous = Array(0...b.count)
  for i in 1...a.count {
    var current = [i] + Array(repeating: 0, count: b.count)
    for j in 1...max(b.count, 1) where j <= b.count {
      current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
    }
    previous = current
  }
  return previous[b.count]
}
