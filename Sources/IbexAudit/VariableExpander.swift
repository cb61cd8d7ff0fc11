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

  /// The variables, as a persistent map: a Dockerfile has a scope before every instruction,
  /// and copying a dictionary for each made 20,000 `ENV` lines cost gigabytes (issue 12).
  var scope: Scope
  public var escape: Character

  public init(variables: [String: Value] = [:], escape: Character = "\\") {
    self.scope = Scope()
    self.escape = escape
    for (name, value) in variables.sorted(by: { $0.key < $1.key }) { scope.set(name, value, byENV: false) }
  }

  /// Every variable in scope (O(n): for one name use the subscript).
  public var variables: [String: Value] { scope.all() }

  /// One variable: O(log n).
  public subscript(name: String) -> Value? {
    if let entry = scope.own(name) { return entry.value }
    return scope.history.parent?.find(name).flatMap { $0.byENV ? $0.value : nil }
  }

  /// Sets a variable for the scopes derived from this one (`byENV`: it then passes to stages
  /// built `FROM` this one's stage).
  public mutating func set(_ name: String, _ value: Value, byENV: Bool) { scope.set(name, value, byENV: byENV) }

  /// The scope at the start of a stage built `FROM` the stage whose last scope is `parent`:
  /// `ENV` variables are inherited (with their last value), `ARG`s are not. O(1): the parent's
  /// scope is shared, not copied.
  public static func inheriting(from parent: VariableExpander) -> VariableExpander {
    var result = VariableExpander(escape: parent.escape)
    result.scope = Scope(parent: parent.scope)
    return result
  }

  func lookup(_ name: String) -> Value? {
    if let value = self[name] { return value }
    if VariableExpander.platformArgs.contains(name) { return .dynamic }
    return nil
  }

  /// A persistent map from names to values. The scopes of one stage form a chain; they share
  /// one append-only history and each is a version of it. Setting a variable on the newest
  /// version appends (O(1)); setting one on an older version (a branch, which the Dockerfile
  /// model never does) first copies what that version sees. A stage's scope refers to its
  /// parent stage's last scope for inherited `ENV` variables.
  struct Scope: @unchecked Sendable {
    struct Entry {
      var version: Int
      var value: Value
      /// Some `ENV` (in this history) set the name at or before this entry.
      var byENV: Bool
    }

    final class History {
      var entries: [String: [Entry]] = [:]
      var latest = 0
      let parent: Scope?

      init(parent: Scope?) { self.parent = parent }
    }

    var history: History
    var version = 0

    init(parent: Scope? = nil) { history = History(parent: parent) }

    /// The last entry for `name` at or before this version.
    func own(_ name: String) -> Entry? {
      guard let list = history.entries[name] else { return nil }
      if let last = list.last, last.version <= version { return last }
      let after = list.partitionPoint { $0.version <= version }
      return after > 0 ? list[after - 1] : nil
    }

    /// The value of `name`, and whether an `ENV` set it (so that child stages inherit it).
    func find(_ name: String) -> (value: Value, byENV: Bool)? {
      let entry = own(name)
      if let entry, entry.byENV { return (entry.value, true) }
      let inherited = history.parent?.find(name).flatMap { $0.byENV ? $0 : nil }
      if let entry { return (entry.value, inherited != nil) }
      return inherited
    }

    mutating func set(_ name: String, _ value: Value, byENV: Bool) {
      if version != history.latest { branch() }
      version += 1
      history.latest = version
      let earlier = history.entries[name]?.last?.byENV ?? false
      history.entries[name, default: []].append(Entry(version: version, value: value, byENV: byENV || earlier))
    }

    /// Copies what this version sees into a history of its own.
    mutating func branch() {
      let copy = History(parent: history.parent)
      for name in history.entries.keys {
        if let entry = own(name) { copy.entries[name] = [Entry(version: 1, value: entry.value, byENV: entry.byENV)] }
      }
      copy.latest = 1
      history = copy
      version = 1
    }

    func all() -> [String: Value] {
      var result: [String: Value] = [:]
      if let parent = history.parent {
        for (name, value) in parent.all() where parent.find(name)?.byENV == true { result[name] = value }
      }
      for name in history.entries.keys {
        if let entry = own(name) { result[name] = entry.value }
      }
      return result
    }
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
