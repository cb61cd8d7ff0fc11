/// A parsed Dockerfile: parser directives, instructions with flags and heredocs, and the comments
/// (kept for inline suppressions). Produced by `DockerfileParser`.
public struct Dockerfile: Sendable {
  /// Parser directives from the top of the file, keys lowercased (`syntax`, `escape`, `check`).
  public var directives: [String: String] = [:]
  /// The continuation and escape character: `\` or, with `# escape=``, a backtick.
  public var escape: Character = "\\"
  public var instructions: [Instruction] = []
  /// Every comment line, including those dropped from inside continued instructions.
  public var comments: [Comment] = []
  /// Number of physical lines.
  public var lineCount = 0

  public struct Comment: Sendable, Equatable {
    public var line: Int
    public var column: Int
    /// The text after `#`, trimmed.
    public var text: String
  }
}

/// One instruction (a logical line), e.g. `RUN --mount=type=cache,target=/x apk add curl`.
public struct Instruction: Sendable {
  /// Upper-cased keyword: `FROM`, `RUN`, ...
  public var keyword: String
  public var position: SourcePosition
  /// Physical line range, including continuation lines and heredoc bodies.
  public var lines: ClosedRange<Int>
  /// `--name=value` flags before the arguments (`--mount`, `--from`, `--platform`, `--chmod`...).
  public var flags: [Flag] = []
  /// The arguments after keyword and flags, continuation lines joined.
  public var arguments: MappedText
  /// The exec (JSON) form, when the arguments are a valid JSON array of strings.
  public var execForm: [String]?
  /// The arguments start with `[` but are not valid JSON (single quotes, trailing comma): Docker
  /// silently runs them as a shell command.
  public var malformedExecForm = false
  public var heredocs: [Heredoc] = []
  /// For `ONBUILD`: the wrapped instruction.
  public var onbuild: Box<Instruction>?

  public struct Flag: Sendable, Equatable {
    public var name: String
    public var value: String?
    public var position: SourcePosition
  }

  public func flag(_ name: String) -> Flag? { flags.last { $0.name == name } }

  public var argumentString: String { arguments.string }
}

/// A BuildKit heredoc attached to `RUN`, `COPY` or `ADD`.
public struct Heredoc: Sendable {
  public var delimiter: String
  /// `<<'EOF'` or `<<"EOF"`: the body is not expanded.
  public var quoted: Bool
  /// `<<-EOF`: leading tabs are removed from body lines.
  public var stripsTabs: Bool
  /// Body lines joined with `\n`, with positions.
  public var body: MappedText
  /// Index of the `<<` marker in the instruction's arguments.
  public var markerOffset: Int
  public var markerLength: Int
}

/// Reference wrapper so a value type can hold itself (ONBUILD wraps an instruction).
public final class Box<Value: Sendable>: Sendable {
  public let value: Value
  public init(_ value: Value) { self.value = value }
}

/// A Dockerfile that cannot be parsed, with the position to fix.
public struct ParseError: Error, Equatable, Sendable, CustomStringConvertible {
  public var position: SourcePosition
  public var message: String

  public init(_ message: String, at position: SourcePosition) {
    self.message = message
    self.position = position
  }

  public var description: String { "\(position): \(message)" }
}
