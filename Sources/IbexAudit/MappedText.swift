/// Text assembled from one or more physical lines (a continued instruction, a heredoc body) that
/// remembers where each character came from, so a finding deep inside a `RUN` points at the
/// physical line and column of the offending word.
///
/// Positions are kept per run of characters with consecutive columns on one line, not per
/// character: a position per character doubled the memory of every copy (one 50 MB line cost
/// gigabytes, issue 12). `position(at:)` finds the run by binary search.
public struct MappedText: Sendable, Equatable {
  public private(set) var characters: [Character] = []
  /// Runs in index order; canonical (a run never continues the one before it), so that equal
  /// mappings compare equal.
  private var runs: [Run] = []
  /// Position used for an empty text or an index past the end.
  public var fallback: SourcePosition

  struct Run: Sendable, Equatable {
    /// Index of the run's first character.
    var start: Int
    /// Position of that character; the others follow on the same line, one column each.
    var position: SourcePosition
  }

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

  /// Starts a run at the current end unless `position` continues the last one.
  private mutating func mark(_ position: SourcePosition) {
    if let last = runs.last, last.position.line == position.line,
      last.position.column + (characters.count - last.start) == position.column
    {
      return
    }
    runs.append(Run(start: characters.count, position: position))
  }

  public mutating func append(_ character: Character, at position: SourcePosition) {
    mark(position)
    characters.append(character)
  }

  public mutating func append(contentsOf characters: some Collection<Character>, line: Int, firstColumn: Int) {
    guard !characters.isEmpty else { return }
    mark(SourcePosition(line: line, column: firstColumn))
    self.characters.append(contentsOf: characters)
  }

  public mutating func append(_ other: MappedText) {
    for (index, run) in other.runs.enumerated() {
      let end = index + 1 < other.runs.count ? other.runs[index + 1].start : other.characters.count
      mark(run.position)
      characters.append(contentsOf: other.characters[run.start..<end])
    }
  }

  /// Index of the run holding character `index` (binary search).
  private func runIndex(containing index: Int) -> Int? {
    guard !runs.isEmpty else { return nil }
    return max(runs.partitionPoint { $0.start <= index } - 1, 0)
  }

  /// Position of the character at `index`, or of the last character when past the end.
  public func position(at index: Int) -> SourcePosition {
    if characters.isEmpty { return fallback }
    let clamped = min(max(index, 0), characters.count - 1)
    guard let run = runIndex(containing: clamped).map({ runs[$0] }) else { return fallback }
    return SourcePosition(line: run.position.line, column: run.position.column + (clamped - run.start))
  }

  public func slice(_ range: Range<Int>) -> MappedText {
    var result = MappedText(fallback: position(at: range.lowerBound))
    let clamped = range.clamped(to: 0..<characters.count)
    guard !clamped.isEmpty, var index = runIndex(containing: clamped.lowerBound) else { return result }
    result.characters = Array(characters[clamped])
    result.runs.append(Run(start: 0, position: position(at: clamped.lowerBound)))
    index += 1
    while index < runs.count, runs[index].start < clamped.upperBound {
      result.runs.append(Run(start: runs[index].start - clamped.lowerBound, position: runs[index].position))
      index += 1
    }
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
