/// A POSIX extended regular expression for s6-log's `+re`/`-re` selections, read as musl's
/// `regcomp(REG_EXTENDED | REG_NOSUB)` reads it in the C locale (bytes, ASCII classes), with
/// musl's extensions (`\b \B \< \> \w \W \s \S \d \D \t \n \r \f \e`, unknown escapes as
/// literals, empty branches). It only answers whether a line matches, by simulating the NFA
/// over the line once (time linear in the line, whatever the pattern). musl's own regex engine
/// cost the binary 62 KB; this one is a few.
public struct RegularExpression: Sendable {
  private enum Instruction: Sendable {
    case byte(ByteSet)
    case split(Int, Int)
    case jump(Int)
    case assert(Assertion)
    case match
  }

  private enum Assertion: Sendable { case lineStart, lineEnd, wordStart, wordEnd, wordBoundary, notWordBoundary }

  private indirect enum Node {
    case empty
    case byte(ByteSet)
    case assert(Assertion)
    case sequence([Node])
    case alternatives([Node])
    case repeated(Node, min: Int, max: Int?)
  }

  private let program: [Instruction]

  /// musl's RE_DUP_MAX; bounds on nesting (the parser recurses) and on the expanded program,
  /// where musl would go on allocating.
  private static let maxCount = 255
  private static let maxDepth = 200
  private static let maxProgram = 65_536

  /// Compiles `pattern`; throws musl's `regerror` message if it is invalid.
  public init(_ pattern: String) throws(RegularExpressionError) {
    var parser = Parser(Array(pattern.utf8))
    let node = try parser.alternatives(depth: 0)
    var program: [Instruction] = []
    try Self.emit(node, into: &program)
    program.append(.match)
    self.program = program
  }

  private static func emit(_ node: Node, into program: inout [Instruction]) throws(RegularExpressionError) {
    guard program.count < maxProgram else { throw RegularExpressionError(message: "Out of memory") }
    switch node {
    case .empty: break
    case .byte(let set): program.append(.byte(set))
    case .assert(let assertion): program.append(.assert(assertion))
    case .sequence(let nodes):
      for node in nodes { try emit(node, into: &program) }
    case .alternatives(let nodes):
      // split(first, next) first jump(end) split(second, next) second jump(end) ... last
      var jumps: [Int] = []
      for (index, node) in nodes.enumerated() {
        let split = program.count
        if index < nodes.count - 1 { program.append(.split(split + 1, 0)) }
        try emit(node, into: &program)
        if index < nodes.count - 1 {
          jumps.append(program.count)
          program.append(.jump(0))
          program[split] = .split(split + 1, program.count)
        }
      }
      for jump in jumps { program[jump] = .jump(program.count) }
    case .repeated(let node, let min, let max):
      for _ in 0..<min { try emit(node, into: &program) }
      guard let max else {
        let loop = program.count
        program.append(.split(loop + 1, 0))
        try emit(node, into: &program)
        program.append(.jump(loop))
        program[loop] = .split(loop + 1, program.count)
        return
      }
      var splits: [Int] = []
      for _ in min..<max {
        splits.append(program.count)
        program.append(.split(program.count + 1, 0))
        try emit(node, into: &program)
      }
      for split in splits { program[split] = .split(split + 1, program.count) }
    }
  }

  /// Whether the expression matches somewhere in `line` (up to its first NUL byte, as `regexec`
  /// saw the line's C string).
  public func matches(_ line: UnsafeRawBufferPointer) -> Bool {
    let end = line.firstIndex(of: 0) ?? line.count
    var current = StateSet(program.count)
    var next = StateSet(program.count)
    var pending: [Int] = []
    for position in 0...end {
      let previous = position > 0 ? line[position - 1] : 0
      let byte = position < end ? line[position] : 0
      // Unanchored: a new attempt starts at every position.
      if add(0, to: &current, pending: &pending, position: position, previous: previous, next: byte) { return true }
      guard position < end else { break }
      next.clear()
      for pc in current.states {
        if case .byte(let set) = program[pc], set.contains(byte),
          add(pc + 1, to: &next, pending: &pending, position: position + 1, previous: byte,
            next: position + 1 < end ? line[position + 1] : 0)
        {
          return true
        }
      }
      swap(&current, &next)
    }
    return false
  }

  public func matches(_ line: [UInt8]) -> Bool { line.withUnsafeBytes { matches($0) } }

  /// Adds `pc` and every state reachable from it without reading a byte; true on reaching `match`.
  private func add(
    _ pc: Int, to set: inout StateSet, pending: inout [Int], position: Int, previous: UInt8, next: UInt8
  ) -> Bool {
    pending.removeAll(keepingCapacity: true)
    pending.append(pc)
    while let pc = pending.popLast() {
      guard set.insert(pc) else { continue }
      switch program[pc] {
      case .byte: break
      case .match: return true
      case .jump(let target): pending.append(target)
      case .split(let first, let second):
        pending.append(second)
        pending.append(first)
      case .assert(let assertion):
        if Self.holds(assertion, atStart: position == 0, previous: previous, next: next) { pending.append(pc + 1) }
      }
    }
    return false
  }

  /// musl's (TRE's) rules; `next` is 0 at the end of the line.
  private static func holds(_ assertion: Assertion, atStart: Bool, previous: UInt8, next: UInt8) -> Bool {
    let before = ByteSet.word.contains(previous)
    let after = ByteSet.word.contains(next)
    switch assertion {
    case .lineStart: return atStart
    case .lineEnd: return next == 0
    case .wordStart: return !before && after
    case .wordEnd: return before && !after
    case .wordBoundary: return atStart || next == 0 || before != after
    case .notWordBoundary: return !atStart && next != 0 && before == after
    }
  }

  /// The states of the simulation: a sparse set over the program's instructions.
  private struct StateSet {
    var states: [Int] = []
    var member: [Bool]

    init(_ count: Int) { member = Array(repeating: false, count: count) }

    mutating func insert(_ state: Int) -> Bool {
      if member[state] { return false }
      member[state] = true
      states.append(state)
      return true
    }

    mutating func clear() {
      for state in states { member[state] = false }
      states.removeAll(keepingCapacity: true)
    }
  }

  /// Recursive descent over musl's ERE grammar (regcomp.c's tre_parse and parse_atom).
  private struct Parser {
    let pattern: [UInt8]
    var index = 0

    init(_ pattern: [UInt8]) { self.pattern = pattern }

    var peek: UInt8 { index < pattern.count ? pattern[index] : 0 }

    mutating func alternatives(depth: Int) throws(RegularExpressionError) -> Node {
      guard depth <= RegularExpression.maxDepth else { throw RegularExpressionError(message: "Out of memory") }
      var branches = [try sequence(depth: depth)]
      while peek == UInt8(ascii: "|") && index < pattern.count {
        index += 1
        branches.append(try sequence(depth: depth))
      }
      if depth > 0 && index == pattern.count { throw RegularExpressionError(message: "Missing ')'") }
      return branches.count == 1 ? branches[0] : .alternatives(branches)
    }

    mutating func sequence(depth: Int) throws(RegularExpressionError) -> Node {
      var nodes: [Node] = []
      while index < pattern.count, peek != UInt8(ascii: "|"), !(peek == UInt8(ascii: ")") && depth > 0) {
        var node = try atom(depth: depth)
        var stacked = 0
        while let (min, max) = try repetition() {
          stacked += 1
          guard stacked <= RegularExpression.maxDepth else { throw RegularExpressionError(message: "Out of memory") }
          node = min == 0 && max == 0 ? .empty : .repeated(node, min: min, max: max)
        }
        nodes.append(node)
      }
      return nodes.count == 1 ? nodes[0] : .sequence(nodes)
    }

    /// `*`, `+`, `?` or `{m,n}` after an atom, if one follows.
    mutating func repetition() throws(RegularExpressionError) -> (Int, Int?)? {
      switch peek {
      case UInt8(ascii: "*"): index += 1; return (0, nil)
      case UInt8(ascii: "+"): index += 1; return (1, nil)
      case UInt8(ascii: "?"): index += 1; return (0, 1)
      case UInt8(ascii: "{"):
        index += 1
        let badCount = RegularExpressionError(message: "Invalid contents of {}")
        guard let min = count() else { throw badCount }
        var max: Int? = min
        if peek == UInt8(ascii: ",") {
          index += 1
          max = count()
        }
        guard min <= RegularExpression.maxCount, (max ?? min) <= RegularExpression.maxCount, (max ?? min) >= min,
          peek == UInt8(ascii: "}")
        else { throw badCount }
        index += 1
        return (min, max)
      default: return nil
      }
    }

    /// Decimal digits, stopping once the value passes RE_DUP_MAX (as musl does).
    mutating func count() -> Int? {
      guard ByteSet.digit.contains(peek) else { return nil }
      var value = 0
      while ByteSet.digit.contains(peek) && value <= RegularExpression.maxCount {
        value = value * 10 + Int(peek - UInt8(ascii: "0"))
        index += 1
      }
      return value
    }

    mutating func atom(depth: Int) throws(RegularExpressionError) -> Node {
      let byte = peek
      index += 1
      switch byte {
      case UInt8(ascii: "("):
        let inner = try alternatives(depth: depth + 1)
        index += 1  // the ')'
        return inner
      case UInt8(ascii: "["): return .byte(try bracket())
      case UInt8(ascii: "."): return .byte(ByteSet().inverted)
      case UInt8(ascii: "^"): return .assert(.lineStart)
      case UInt8(ascii: "$"): return .assert(.lineEnd)
      case UInt8(ascii: "*"), UInt8(ascii: "+"), UInt8(ascii: "?"), UInt8(ascii: "{"):
        throw RegularExpressionError(message: "Repetition not preceded by valid expression")
      case UInt8(ascii: "\\"):
        guard index < pattern.count else { throw RegularExpressionError(message: "Trailing backslash") }
        let escaped = pattern[index]
        index += 1
        switch escaped {
        case UInt8(ascii: "b"): return .assert(.wordBoundary)
        case UInt8(ascii: "B"): return .assert(.notWordBoundary)
        case UInt8(ascii: "<"): return .assert(.wordStart)
        case UInt8(ascii: ">"): return .assert(.wordEnd)
        case UInt8(ascii: "w"): return .byte(.word)
        case UInt8(ascii: "W"): return .byte(ByteSet.word.inverted)
        case UInt8(ascii: "s"): return .byte(.space)
        case UInt8(ascii: "S"): return .byte(ByteSet.space.inverted)
        case UInt8(ascii: "d"): return .byte(.digit)
        case UInt8(ascii: "D"): return .byte(ByteSet.digit.inverted)
        case UInt8(ascii: "t"): return .byte(ByteSet(0x09))
        case UInt8(ascii: "n"): return .byte(ByteSet(0x0a))
        case UInt8(ascii: "r"): return .byte(ByteSet(0x0d))
        case UInt8(ascii: "f"): return .byte(ByteSet(0x0c))
        case UInt8(ascii: "e"): return .byte(ByteSet(0x1b))
        case UInt8(ascii: "x"): return .byte(try hexadecimal())
        default: return .byte(ByteSet(escaped))
        }
      default: return .byte(ByteSet(byte))
      }
    }

    /// `\xHH` or `\x{HHHH}` after its `x`. In musl's C locale a byte above 0x7f reads as the
    /// code point 0xdf00 plus the byte, so that is how such a byte is written.
    mutating func hexadecimal() throws(RegularExpressionError) -> ByteSet {
      let braced = peek == UInt8(ascii: "{")
      if braced { index += 1 }
      var value = 0
      var digits = 0
      while digits < (braced ? 8 : 2) && value < 0x110000, let digit = Self.hexValue(peek) {
        value = value * 16 + digit
        digits += 1
        index += 1
      }
      if braced {
        guard peek == UInt8(ascii: "}") else { throw RegularExpressionError(message: "Missing '}'") }
        index += 1
      }
      switch value {
      case 1...0x7f: return ByteSet(UInt8(value))
      case 0xdf80...0xdfff: return ByteSet(UInt8(value - 0xdf00))
      default: return ByteSet()  // NUL or a character no byte reads as
      }
    }

    static func hexValue(_ byte: UInt8) -> Int? {
      switch byte {
      case UInt8(ascii: "0")...UInt8(ascii: "9"): Int(byte - UInt8(ascii: "0"))
      case UInt8(ascii: "a")...UInt8(ascii: "f"): Int(byte - UInt8(ascii: "a")) + 10
      case UInt8(ascii: "A")...UInt8(ascii: "F"): Int(byte - UInt8(ascii: "A")) + 10
      default: nil
      }
    }

    /// A bracket expression after its `[`: `[^...]`, ranges, `[:class:]`; musl rejects
    /// `[.x.]` and `[=x=]`.
    mutating func bracket() throws(RegularExpressionError) -> ByteSet {
      let negated = peek == UInt8(ascii: "^")
      if negated { index += 1 }
      let start = index
      var set = ByteSet()
      while true {
        guard index < pattern.count else { throw RegularExpressionError(message: "Missing ']'") }
        let byte = pattern[index]
        let following = index + 1 < pattern.count ? pattern[index + 1] : 0
        if byte == UInt8(ascii: "]") && index != start {
          index += 1
          break
        }
        if byte == UInt8(ascii: "-") && index != start && following != UInt8(ascii: "]")
          && (following != UInt8(ascii: "-") || (index + 2 < pattern.count ? pattern[index + 2] : 0) == UInt8(ascii: "]"))
        {
          throw RegularExpressionError(message: "Invalid character range")
        }
        if byte == UInt8(ascii: "[") && (following == UInt8(ascii: ".") || following == UInt8(ascii: "=")) {
          throw RegularExpressionError(message: "Unknown collating element")
        }
        if byte == UInt8(ascii: "[") && following == UInt8(ascii: ":") {
          set.formUnion(try characterClass())
          continue
        }
        index += 1
        var last = byte
        if peek == UInt8(ascii: "-") && (index + 1 < pattern.count ? pattern[index + 1] : 0) != UInt8(ascii: "]") {
          guard index + 1 < pattern.count, pattern[index + 1] >= byte else {
            throw RegularExpressionError(message: "Invalid character range")
          }
          last = pattern[index + 1]
          index += 2
        }
        for member in byte...last { set.insert(member) }
      }
      return negated ? set.inverted : set
    }

    /// `[:name:]` at `index`.
    mutating func characterClass() throws(RegularExpressionError) -> ByteSet {
      let nameStart = index + 2
      var end = nameStart
      while end < pattern.count && pattern[end] != UInt8(ascii: ":") { end += 1 }
      let name = String(decoding: pattern[nameStart..<min(end, pattern.count)], as: UTF8.self)
      guard end + 1 < pattern.count, pattern[end + 1] == UInt8(ascii: "]"), let set = ByteSet(className: name) else {
        throw RegularExpressionError(message: "Unknown character class name")
      }
      index = end + 2
      return set
    }
  }
}

public struct RegularExpressionError: Error, Equatable, Sendable {
  public var message: String
}

/// A set of bytes, as four 64-bit words.
struct ByteSet: Equatable, Sendable {
  private var words: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)

  init() {}

  init(_ byte: UInt8) { insert(byte) }

  /// The POSIX classes of the C locale (ASCII only).
  init?(className: String) {
    self.init()
    for byte in UInt8(0)...0x7f {
      let letter = (byte | 0x20) >= 0x61 && (byte | 0x20) <= 0x7a
      let digit = byte >= 0x30 && byte <= 0x39
      let graph = byte > 0x20 && byte < 0x7f
      let member: Bool
      switch className {
      case "alnum": member = letter || digit
      case "alpha": member = letter
      case "blank": member = byte == 0x09 || byte == 0x20
      case "cntrl": member = byte < 0x20 || byte == 0x7f
      case "digit": member = digit
      case "graph": member = graph
      case "lower": member = byte >= 0x61 && byte <= 0x7a
      case "print": member = graph || byte == 0x20
      case "punct": member = graph && !letter && !digit
      case "space": member = (byte >= 0x09 && byte <= 0x0d) || byte == 0x20
      case "upper": member = byte >= 0x41 && byte <= 0x5a
      case "xdigit": member = digit || ((byte | 0x20) >= 0x61 && (byte | 0x20) <= 0x66)
      default: return nil
      }
      if member { insert(byte) }
    }
  }

  static let digit = ByteSet(className: "digit")!
  static let space = ByteSet(className: "space")!
  /// `\w`, and what `\b`, `\<` and `\>` take for a word character.
  static let word = ByteSet(className: "alnum")!.inserting(UInt8(ascii: "_"))

  func contains(_ byte: UInt8) -> Bool {
    let bit = UInt64(1) << UInt64(byte & 63)
    switch byte >> 6 {
    case 0: return words.0 & bit != 0
    case 1: return words.1 & bit != 0
    case 2: return words.2 & bit != 0
    default: return words.3 & bit != 0
    }
  }

  mutating func insert(_ byte: UInt8) {
    let bit = UInt64(1) << UInt64(byte & 63)
    switch byte >> 6 {
    case 0: words.0 |= bit
    case 1: words.1 |= bit
    case 2: words.2 |= bit
    default: words.3 |= bit
    }
  }

  mutating func formUnion(_ other: ByteSet) {
    words = (words.0 | other.words.0, words.1 | other.words.1, words.2 | other.words.2, words.3 | other.words.3)
  }

  func inserting(_ byte: UInt8) -> ByteSet {
    var result = self
    result.insert(byte)
    return result
  }

  /// Every byte not in the set but NUL, which never occurs in a C string.
  var inverted: ByteSet {
    var result = ByteSet()
    result.words = (~words.0 & ~1, ~words.1, ~words.2, ~words.3)
    return result
  }

  static func == (a: ByteSet, b: ByteSet) -> Bool {
    a.words.0 == b.words.0 && a.words.1 == b.words.1 && a.words.2 == b.words.2 && a.words.3 == b.words.3
  }
}
