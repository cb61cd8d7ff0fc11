import Foundation

/// Substitutes `ARG`/`ENV` variables the way the Dockerfile frontend does for `FROM`, `COPY`,
/// `ENV`, `USER`, `WORKDIR`, ... (never for `RUN`/`CMD`/`ENTRYPOINT` bodies): `$VAR`, `${VAR}`,
/// `${VAR:-default}`, `${VAR-default}`, `${VAR:+alt}`, `${VAR+alt}`, escaped `\$`, single quotes
/// literal. A value that depends on something only known at build time is `unknown`, and rules
/// must not guess about it.
public struct VariableExpander: Sendable {
  /// What a name stands for at one point of the Dockerfile.
  public enum Value: Sendable, Equatable {
    /// `ARG X=1`, `ENV X=1`.
    case set(String)
    /// `ARG X` without a default: empty unless `--build-arg` sets it.
    case overridable
    /// Predefined platform args (`TARGETOS`...): always defined, value depends on the build.
    case dynamic
  }

  public static let platformArgs: Set<String> = [
    "TARGETPLATFORM", "TARGETOS", "TARGETARCH", "TARGETVARIANT",
    "BUILDPLATFORM", "BUILDOS", "BUILDARCH", "BUILDVARIANT",
  ]

  public var variables: [String: Value]
  public var escape: Character

  public init(variables: [String: Value] = [:], escape: Character = "\\") {
    self.variables = variables
    self.escape = escape
  }

  func lookup(_ name: String) -> Value? {
    if let value = variables[name] { return value }
    if VariableExpander.platformArgs.contains(name) { return .dynamic }
    return nil
  }

  /// The result of expanding one word.
  public struct Result: Sendable, Equatable {
    public var text: String
    /// True when part of the text could not be resolved statically.
    public var isUnknown: Bool
  }

  /// Removes quotes and substitutes variables in one word.
  public func expand(_ word: String) -> Result {
    let chars = Array(word)
    var out = ""
    var unknown = false
    var i = 0
    var inDouble = false
    while i < chars.count {
      let c = chars[i]
      if c == escape, i + 1 < chars.count {
        let next = chars[i + 1]
        if !inDouble || next == "$" || next == "\"" || next == escape || next == "`" {
          out.append(next)
        } else {
          out.append(c)
          out.append(next)
        }
        i += 2
        continue
      }
      if c == "'" && !inDouble {
        var j = i + 1
        while j < chars.count, chars[j] != "'" { out.append(chars[j]); j += 1 }
        i = j + 1
        continue
      }
      if c == "\"" {
        inDouble.toggle()
        i += 1
        continue
      }
      if c == "$", i + 1 < chars.count {
        let (value, consumed) = substitute(chars, from: i)
        if consumed > 0 {
          switch value {
          case .some(let text): out += text
          case .none: unknown = true
          }
          i += consumed
          continue
        }
      }
      out.append(c)
      i += 1
    }
    return Result(text: out, isUnknown: unknown)
  }

  /// Expands `$NAME` or `${...}` at `start`; returns nil text for unknown, and characters used.
  func substitute(_ chars: [Character], from start: Int) -> (String?, Int) {
    var i = start + 1
    if chars[i] == "{" {
      i += 1
      var name = ""
      while i < chars.count, chars[i].isLetter || chars[i].isNumber || chars[i] == "_" { name.append(chars[i]); i += 1 }
      guard !name.isEmpty, i < chars.count else { return (nil, 0) }
      if chars[i] == "}" { return (plain(name), i + 1 - start) }
      // Operator and word up to the matching brace.
      var op = String(chars[i])
      i += 1
      if op == ":", i < chars.count, "-+?".contains(chars[i]) { op.append(chars[i]); i += 1 }
      var depth = 1
      var word = ""
      while i < chars.count {
        if chars[i] == "{" { depth += 1 }
        if chars[i] == "}" { depth -= 1; if depth == 0 { break } }
        word.append(chars[i])
        i += 1
      }
      guard i < chars.count else { return (nil, 0) }
      let consumed = i + 1 - start
      let inner = expand(word)
      let alternative: String? = inner.isUnknown ? nil : inner.text
      let value = lookup(name)
      switch op {
      case ":-", "-":
        switch value {
        case .set(let text): return ((op == ":-" && text.isEmpty) ? alternative : text, consumed)
        case .overridable, .none: return (alternative, consumed)
        case .dynamic: return (nil, consumed)
        }
      case ":+", "+":
        switch value {
        case .set(let text): return ((op == ":+" && text.isEmpty) ? "" : alternative, consumed)
        case .overridable, .none: return ("", consumed)
        case .dynamic: return (nil, consumed)
        }
      case ":?", "?":
        return (plain(name), consumed)
      default:
        // `#`, `%`, `/` pattern operators: too dynamic for a static check.
        return (nil, consumed)
      }
    }
    var name = ""
    while i < chars.count, chars[i].isLetter || chars[i].isNumber || chars[i] == "_" { name.append(chars[i]); i += 1 }
    guard !name.isEmpty else { return (nil, 0) }
    return (plain(name), i - start)
  }

  func plain(_ name: String) -> String? {
    if case .set(let text) = lookup(name) { return text }
    return nil
  }
}
