/// The policy file format (docs/doctor.md, "Policy files"): one directive per line,
///
///     # what the payments service must run with
///     base restricted                  # optional, first: baseline | restricted | none
///     check memory-limit max=256Mi     # add a control, or change its parameters
///     check capabilities allow=NET_BIND_SERVICE,NET_RAW
///     skip read-only-root              # drop a control of the base
///
/// `#` starts a comment (at the start of a line or after a blank). Errors name file:line.
extension Policy {
  public static func parse(_ text: String, file: String) throws(ConfigError) -> Policy {
    var policy = Policy(name: file, checks: [])
    var sawDirective = false
    var lineNumber = 0
    for rawLine in text.split(separator: "\n", omittingEmptySubsequences: false) {
      lineNumber += 1
      let location = SourceLocation(file: file, line: lineNumber)
      var words: [Substring] = []
      for word in rawLine.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\r" }) {
        if word.hasPrefix("#") { break }
        words.append(word)
      }
      guard let directive = words.first else { continue }
      switch directive {
      case "base":
        guard !sawDirective else { throw ConfigError("'base' must be the first directive", at: location) }
        guard words.count == 2 else { throw ConfigError("'base' takes one name: baseline, restricted or none", at: location) }
        if words[1] != "none" {
          guard let base = Policy.named(String(words[1])) else {
            throw ConfigError("unknown base policy '\(words[1])' (known: baseline, restricted, none)", at: location)
          }
          policy.checks = base.checks
        }
      case "check":
        guard words.count >= 2 else { throw ConfigError("'check' needs a control name", at: location) }
        let check = try parseCheck(words[1], parameters: words.dropFirst(2), at: location)
        if let index = policy.checks.firstIndex(where: { $0.control == check.control }) {
          policy.checks[index] = check
        } else {
          policy.checks.append(check)
        }
      case "skip":
        guard words.count >= 2 else { throw ConfigError("'skip' needs a control name", at: location) }
        for word in words.dropFirst() {
          let control = try control(named: word, at: location)
          policy.checks.removeAll { $0.control == control }
        }
      default:
        throw ConfigError("unknown directive '\(directive)' (known: base, check, skip)", at: location)
      }
      sawDirective = true
    }
    return policy
  }

  static func control(named word: Substring, at location: SourceLocation) throws(ConfigError) -> PolicyControl {
    guard let control = PolicyControl(rawValue: String(word)) else {
      throw ConfigError("unknown control '\(word)' (known: \(PolicyControl.allCases.map { $0.rawValue }.joined(separator: ", ")))", at: location)
    }
    return control
  }

  static func parseCheck(_ name: Substring, parameters: ArraySlice<Substring>, at location: SourceLocation) throws(ConfigError) -> PolicyCheck {
    var check = PolicyCheck(try control(named: name, at: location))
    var seen: Set<Substring> = []
    for parameter in parameters {
      guard let equals = parameter.firstIndex(of: "=") else {
        throw ConfigError("'\(parameter)': parameters are KEY=VALUE", at: location)
      }
      let key = parameter[..<equals]
      let value = parameter[parameter.index(after: equals)...]
      guard check.control.parameters.contains(String(key)) else {
        let known = check.control.parameters.isEmpty ? "it takes none" : "known: " + check.control.parameters.joined(separator: ", ")
        throw ConfigError("\(name): unknown parameter '\(key)' (\(known))", at: location)
      }
      guard seen.insert(key).inserted else { throw ConfigError("\(name): '\(key)' given twice", at: location) }
      switch key {
      case "allow":
        check.allow = value.split(separator: ",").map(String.init)
        if check.control == .capabilities {
          for capability in check.allow where Capabilities.number(of: capability) == nil {
            throw ConfigError("\(name): unknown capability '\(capability)'", at: location)
          }
          check.allow = check.allow.map { capability in
            let upper = capability.uppercasedASCII
            return upper.hasPrefix("CAP_") ? String(upper.dropFirst(4)) : upper
          }
        }
      default:
        guard let number = check.control == .memoryLimit ? parseSize(value) : UInt64(value), number > 0 else {
          let expected = check.control == .memoryLimit ? "a size such as 256Mi, 1Gi, 500M or bytes" : "a positive number"
          throw ConfigError("\(name): invalid max '\(value)' (expected \(expected))", at: location)
        }
        check.max = number
      }
    }
    return check
  }

  /// `1024`, `512Ki`, `256Mi`, `1Gi`, `500K`, `500M`, `2G` (Kubernetes' spelling) → bytes.
  public static func parseSize(_ text: Substring) -> UInt64? {
    let units: [(String, UInt64)] = [
      ("Ki", 1 << 10), ("Mi", 1 << 20), ("Gi", 1 << 30), ("Ti", 1 << 40), ("K", 1000), ("M", 1_000_000),
      ("G", 1_000_000_000), ("T", 1_000_000_000_000),
    ]
    for (suffix, factor) in units where text.hasSuffix(suffix) {
      guard let number = UInt64(text.dropLast(suffix.count)) else { return nil }
      let (product, overflow) = number.multipliedReportingOverflow(by: factor)
      return overflow ? nil : product
    }
    return UInt64(text)
  }
}
