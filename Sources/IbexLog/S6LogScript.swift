/// An s6-log logging script, parsed: what each line goes through, as a pure value.
///
/// The script is a list of elements, each a run of selections followed by a run of actions,
/// as s6-log reads it: `-foo +foo.*bar ./logs 1` selects, then acts. Selection carries over
/// from one element to the next, and `f` selects the lines no earlier action took.
///
/// Directives set for the next actions: `nN` archives kept, `sN` file size (clamped to
/// 4096...268435455), `SN` total archive size, `lN` (accepted, see `docs/logging.md`), `rN`
/// retry interval in ms, `EN` alert length, `^N` status file size, `pPREFIX` prefix; `t` and
/// `T` stamp only the next action. Processors (`!cmd`, `?cmd`) and periodic rotation (`RN`,
/// N > 0) are refused with a clear error rather than silently ignored.
public struct S6LogScript: Equatable, Sendable {
  public enum Selection: Equatable, Sendable {
    /// `+re`: select the line if it matches.
    case select(String)
    /// `-re`: deselect the line if it matches.
    case deselect(String)
    /// `f`: select the line if no earlier action took it.
    case unhandled
  }

  public enum Destination: Equatable, Sendable {
    /// A log directory (`/path` or `./path`).
    case directory(String)
    /// `1`
    case standardOutput
    /// `2`: an alert, `s6-log: alert: ` + the line cut at `alertSize`.
    case standardError
    /// `=path`: the file holds the last line (padded with `\n` to `statusSize`).
    case statusFile(String)
  }

  public struct Action: Equatable, Sendable {
    public var destination: Destination
    /// `t`: prefix a TAI64N stamp and a space.
    public var tai64n = false
    /// `T`: prefix `YYYY-MM-DD HH:MM:SS.nnnnnnnnn` (UTC) and two spaces.
    public var humanReadable = false
    /// `pPREFIX`: prefix and a space.
    public var prefix: String?
    /// For directories.
    public var rotation = RotationPolicy()
    /// For directories: milliseconds between retries after a write error.
    public var retryMilliseconds = 1000
    /// For `2`: message bytes shown (0 = all).
    public var alertSize = 200
    /// For `=file`: the file's size (0 = the line's length).
    public var statusSize = 1001

    public init(destination: Destination) { self.destination = destination }
  }

  public struct Element: Equatable, Sendable {
    public var selections: [Selection] = []
    public var actions: [Action] = []
  }

  public var elements: [Element]

  /// Parses a script given as one string (`S6_LOGGING_SCRIPT="n20 s1000000 T"`), split on
  /// spaces, tabs and newlines.
  public init(parsing text: String) throws(S6LogScriptError) {
    let words = text.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\n" }).map(String.init)
    try self.init(parsing: words)
  }

  /// Parses a script given as words, as s6-log receives its arguments.
  public init(parsing words: [String]) throws(S6LogScriptError) {
    var elements: [Element] = []
    var element = Element()
    var template = Action(destination: .standardOutput)
    var acted = false
    for word in words {
      let bytes = Array(word.utf8)
      guard let first = bytes.first else { throw S6LogScriptError("unrecognized directive: \(word)") }
      let rest = String(decoding: bytes.dropFirst(), as: UTF8.self)
      func number(_ limit: Int = Int.max) throws(S6LogScriptError) -> Int {
        guard !rest.isEmpty, rest.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }), let value = Int(rest), value <= limit
        else { throw S6LogScriptError("unrecognized directive: \(word)") }  // s6-log's wording
        return value
      }
      func act(_ destination: Destination) {
        var action = template
        action.destination = destination
        element.actions.append(action)
        acted = true
        template.tai64n = false
        template.humanReadable = false
      }
      switch first {
      case UInt8(ascii: "f"), UInt8(ascii: "+"), UInt8(ascii: "-"):
        let selection: Selection
        switch first {
        case UInt8(ascii: "f"):
          guard rest.isEmpty else { throw S6LogScriptError("syntax error at directive: \(word)") }
          selection = .unhandled
        case UInt8(ascii: "+"): selection = .select(rest)
        default: selection = .deselect(rest)
        }
        if acted {
          elements.append(element)
          element = Element()
          acted = false
        }
        element.selections.append(selection)
      case UInt8(ascii: "n"): template.rotation.maximumArchiveCount = try number(Int(UInt32.max))
      case UInt8(ascii: "s"):
        template.rotation.maximumFileSize = min(max(try number(Int(UInt32.max)), 4096), 268_435_455)
      case UInt8(ascii: "S"): template.rotation.maximumTotalArchiveSize = try number()
      case UInt8(ascii: "l"):
        if try number(Int(UInt32.max)) > template.rotation.maximumFileSize / 2 {
          throw S6LogScriptError("directive \(word) conflicts with previous s directive")
        }
      case UInt8(ascii: "r"): template.retryMilliseconds = try number(Int(UInt32.max))
      case UInt8(ascii: "R"):
        if try number(Int(UInt32.max)) != 0 {
          throw S6LogScriptError("unsupported directive: \(word) (periodic rotation; send SIGALRM instead)")
        }
      case UInt8(ascii: "E"): template.alertSize = try number(Int(UInt32.max))
      case UInt8(ascii: "^"): template.statusSize = try number(Int(UInt32.max))
      case UInt8(ascii: "p"): template.prefix = rest.isEmpty ? nil : rest
      case UInt8(ascii: "!"), UInt8(ascii: "?"):
        throw S6LogScriptError("unsupported directive: \(word) (ibex's s6-log runs no processors)")
      case UInt8(ascii: "t"), UInt8(ascii: "T"):
        guard rest.isEmpty else { throw S6LogScriptError("syntax error at directive: \(word)") }
        if first == UInt8(ascii: "t") { template.tai64n = true } else { template.humanReadable = true }
      case UInt8(ascii: "1"), UInt8(ascii: "2"):
        guard rest.isEmpty else { throw S6LogScriptError("syntax error at directive: \(word)") }
        act(first == UInt8(ascii: "1") ? .standardOutput : .standardError)
      case UInt8(ascii: "."), UInt8(ascii: "/"): act(.directory(word))
      case UInt8(ascii: "="):
        guard !rest.isEmpty else { throw S6LogScriptError("syntax error at directive: \(word)") }
        act(.statusFile(rest))
      default:
        throw S6LogScriptError("unrecognized directive: \(word)")
      }
    }
    if acted { elements.append(element) }
    guard !elements.isEmpty else { throw S6LogScriptError("no action directive specified") }
    self.elements = elements
  }

  /// The directories the script writes to, in order.
  public var directories: [String] {
    elements.flatMap { $0.actions }.compactMap {
      if case .directory(let path) = $0.destination { return path }
      return nil
    }
  }

  /// Whether any action stamps its lines (so the clock must be read).
  public var usesTimestamps: Bool {
    elements.contains { $0.actions.contains { $0.tai64n || $0.humanReadable } }
  }
}

/// A script s6-log cannot run; the message names the directive, as s6-log's do.
public struct S6LogScriptError: Error, Equatable, Sendable {
  public var message: String
  public init(_ message: String) { self.message = message }
}
