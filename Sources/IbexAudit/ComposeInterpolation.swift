/// Compose variable interpolation: `${VAR}`, `${VAR:-d}`, `${VAR-d}`, `${VAR:?err}`, `${VAR?err}`,
/// `${VAR:+alt}`, `$VAR`, `$$` (a literal `$`), nested defaults. Variables are only known when an
/// environment is given (`--env-file`); otherwise a reference without default is unknown.
public struct ComposeInterpolation: Sendable {
  public var environment: [String: String]

  public init(environment: [String: String] = [:]) {
    self.environment = environment
  }

  /// The interpolated text, or nil when it depends on an unknown variable.
  public func interpolate(_ text: String) -> String? {
    let chars = Array(text)
    var out = ""
    var i = 0
    while i < chars.count {
      let c = chars[i]
      guard c == "$", i + 1 < chars.count else {
        out.append(c)
        i += 1
        continue
      }
      let next = chars[i + 1]
      if next == "$" {
        out.append("$")
        i += 2
      } else if next == "{" {
        var depth = 1
        var j = i + 2
        while j < chars.count, depth > 0 {
          if chars[j] == "{" { depth += 1 }
          if chars[j] == "}" { depth -= 1 }
          if depth > 0 { j += 1 }
        }
        guard j < chars.count else { return nil }
        let body = String(chars[(i + 2)..<j])
        guard let value = expand(body) else { return nil }
        out += value
        i = j + 1
      } else if next.isLetter || next == "_" {
        var j = i + 1
        var name = ""
        while j < chars.count, chars[j].isLetter || chars[j].isNumber || chars[j] == "_" { name.append(chars[j]); j += 1 }
        guard let value = environment[name] else { return nil }
        out += value
        i = j
      } else {
        out.append(c)
        i += 1
      }
    }
    return out
  }

  func expand(_ body: String) -> String? {
    let name = String(body.prefix(while: { $0.isLetter || $0.isNumber || $0 == "_" }))
    let rest = body.dropFirst(name.count)
    let value = environment[name]
    for op in [":-", "-", ":?", "?", ":+", "+"] where rest.hasPrefix(op) {
      let word = String(rest.dropFirst(op.count))
      switch op {
      case ":-": return (value?.isEmpty == false) ? value : interpolate(word)
      case "-": return value ?? interpolate(word)
      case ":+": return (value?.isEmpty == false) ? interpolate(word) : (value == nil ? nil : "")
      case "+": return value != nil ? interpolate(word) : nil
      default: return value
      }
    }
    return rest.isEmpty ? value : nil
  }
}
