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
