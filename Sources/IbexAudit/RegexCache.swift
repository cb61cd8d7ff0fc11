import Foundation

extension String {
  func matches(regex pattern: String) -> Bool {
    var pattern = pattern
    var options: NSRegularExpression.Options = []
    if pattern.hasPrefix("(?i)") {
      options.insert(.caseInsensitive)
      pattern.removeFirst(4)
    }
    guard let expression = RegexCache.shared.expression(pattern, options: options) else { return false }
    return expression.firstMatch(in: self, range: NSRange(startIndex..., in: self)) != nil
  }
}

/// Compiled regular expressions, shared (settings patterns are matched thousands of times).
final class RegexCache: @unchecked Sendable {
  static let shared = RegexCache()
  private let lock = NSLock()
  private var cache: [String: NSRegularExpression] = [:]

  func expression(_ pattern: String, options: NSRegularExpression.Options) -> NSRegularExpression? {
    let key = "\(options.rawValue)/\(pattern)"
    lock.lock()
    defer { lock.unlock() }
    if let cached = cache[key] { return cached }
    guard let compiled = try? NSRegularExpression(pattern: pattern, options: options) else { return nil }
    cache[key] = compiled
    return compiled
  }
}
