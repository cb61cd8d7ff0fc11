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
