/// Text assembled from one or more physical lines (a continued instruction, a heredoc body) that
/// remembers where each character came from, so a finding deep inside a `RUN` points at the
/// physical line and column of the offending word.
public struct MappedText: Sendable, Equatable {
  public private(set) var characters: [Character] = []
  public private(set) var positions: [SourcePosition] = []
  /// Position used for an empty text or an index past the end.
  public var fallback: SourcePosition

  public init(fallback: SourcePosition = .start) {
    self.fallback = fallback
  }

  public init(_ text: String, at position: SourcePosition) {
    self.fallback = position
    append(contentsOf: Array(text), line: position.line, firstColumn: position.column)
  }

  public var string: String { String(characters) }
  public var count: Int { characters.count }
  public var isEmpty: Bool { characters.isEmpty }

  public mutating func append(_ character: Character, at position: SourcePosition) {
    characters.append(character)
    positions.append(position)
  }

  public mutating func append(contentsOf characters: some Collection<Character>, line: Int, firstColumn: Int) {
    var column = firstColumn
    for character in characters {
      append(character, at: SourcePosition(line: line, column: column))
      column += 1
    }
  }

  public mutating func append(_ other: MappedText) {
    characters += other.characters
    positions += other.positions
  }

  /// Position of the character at `index`, or of the last character when past the end.
  public func position(at index: Int) -> SourcePosition {
    if positions.isEmpty { return fallback }
    return positions[min(max(index, 0), positions.count - 1)]
  }

  public func slice(_ range: Range<Int>) -> MappedText {
    var result = MappedText(fallback: position(at: range.lowerBound))
    let clamped = range.clamped(to: 0..<characters.count)
    result.characters = Array(characters[clamped])
    result.positions = Array(positions[clamped])
    return result
  }

  /// The text without leading and trailing blanks.
  public func trimmed() -> MappedText {
    var start = 0
    var end = characters.count
    while start < end, characters[start].isWhitespace { start += 1 }
    while end > start, characters[end - 1].isWhitespace { end -= 1 }
    return slice(start..<end)
  }
}
