import Foundation

/// An inline `# ibex-ignore IBX-DF-008 IBX-DF-010 -- reason` (or `# ibex-ignore-file ...`) comment,
/// and the lines it covers.
struct SuppressionComment {
  var position: SourcePosition
  var rules: [String]
  var reason: String?
  var fileWide: Bool
  /// Lines of the instruction or node the comment applies to.
  var target: ClosedRange<Int>
  /// `hadolint ignore=` / `checkov:skip=`: used only with --honor-foreign-suppressions.
  var foreign = false
  var used = false

  /// Parses the text after `#`; nil if it is not a suppression.
  static func parse(_ comment: String, at position: SourcePosition, target: ClosedRange<Int>) -> SuppressionComment? {
    let text = comment.trimmingCharacters(in: .whitespaces)
    if text.hasPrefix("ibex-ignore") {
      var body = Substring(text.dropFirst("ibex-ignore".count))
      var fileWide = false
      if body.hasPrefix("-file") {
        fileWide = true
        body = body.dropFirst(5)
      }
      guard body.isEmpty || body.first == " " || body.first == "\t" || body.first == ":" else { return nil }
      var reason: String?
      if let range = body.range(of: "--") {
        reason = body[range.upperBound...].trimmingCharacters(in: .whitespaces)
        body = body[..<range.lowerBound]
        if reason?.isEmpty == true { reason = nil }
      }
      let rules = body.split(whereSeparator: { $0 == " " || $0 == "," || $0 == "\t" || $0 == ":" }).map { String($0).uppercased() }
      return SuppressionComment(position: position, rules: rules, reason: reason, fileWide: fileWide, target: target)
    }
    // Foreign pragmas, mapped through the equivalence table.
    if text.hasPrefix("hadolint ignore=") {
      let ids = text.dropFirst("hadolint ignore=".count).split(separator: " ").first?.split(separator: ",").map(String.init) ?? []
      let rules = RuleCatalog.all.filter { rule in rule.hadolintIDs.contains { ids.contains($0) } }.map(\.id)
      return SuppressionComment(position: position, rules: rules, reason: "hadolint ignore=\(ids.joined(separator: ","))", fileWide: false, target: target, foreign: true)
    }
    if text.hasPrefix("checkov:skip=") {
      let body = text.dropFirst("checkov:skip=".count)
      let id = String(body.prefix(while: { $0 != ":" && $0 != " " }))
      let rules = RuleCatalog.all.filter { $0.checkovIDs.contains(id) }.map(\.id)
      return SuppressionComment(position: position, rules: rules, reason: "checkov:skip=\(id)", fileWide: false, target: target, foreign: true)
    }
    return nil
  }

  /// Suppressions in a Dockerfile: above an instruction (its whole continuation range), or
  /// file-wide before the first FROM. Comments inside a continued instruction apply to it.
  static func inDockerfile(_ file: Dockerfile) -> [SuppressionComment] {
    let firstFrom = file.instructions.first { $0.keyword == "FROM" }?.position.line ?? Int.max
    // The last line of the run of comment lines each comment line is in (linear, where asking
    // "are all lines up to the next instruction comments?" for each comment was quadratic).
    var runEnd: [Int: Int] = [:]
    for line in Set(file.comments.map(\.line)).sorted(by: >) { runEnd[line] = runEnd[line + 1] ?? line }
    let instructions = file.instructions
    return file.comments.compactMap { comment in
      let position = SourcePosition(line: comment.line, column: comment.column)
      var target = comment.line...comment.line
      // Instructions are in line order with disjoint ranges: the first one starting after the comment.
      let low = instructions.partitionPoint { $0.lines.lowerBound <= comment.line }
      if low > 0, instructions[low - 1].lines.contains(comment.line) {
        target = instructions[low - 1].lines
      } else if low < instructions.count {
        let next = instructions[low]
        if runEnd[comment.line, default: comment.line] >= next.position.line - 1 { target = next.lines }
      }
      guard var suppression = parse(comment.text, at: position, target: target) else { return nil }
      if suppression.fileWide {
        guard comment.line < firstFrom else { return nil }
        suppression.target = 1...max(file.lineCount, 1)
      }
      return suppression
    }
  }

  /// Suppressions in YAML: at the end of the offending line, or alone on the line above a key
  /// (then they cover that key's line, and through the findings' scope lines everything under
  /// a service key or container item). `ibex-ignore-file` in a document's leading comments
  /// covers that document.
  static func inYAML(_ text: String) -> [SuppressionComment] {
    let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map { String($0.hasSuffix("\r") ? $0.dropLast() : $0) }
    // Document ranges: split at `---` lines.
    var documentStarts = [1]
    for (index, line) in lines.enumerated() where line == "---" || line.hasPrefix("--- ") {
      documentStarts.append(index + 1)
    }
    func document(of line: Int) -> ClosedRange<Int> {
      // documentStarts is ascending: the first start after the line, by binary search.
      let low = documentStarts.partitionPoint { $0 <= line }
      let start = low > 0 ? documentStarts[low - 1] : 1
      let end = (low < documentStarts.count ? documentStarts[low] : lines.count + 1) - 1
      return start...max(start, end)
    }
    // Precomputed so that each comment costs O(1) (scanning ahead from every comment line of a
    // long comment block was quadratic): the index of the next line that is not blank or a
    // comment, and how many lines before each index are not blank, comments or `---`.
    let trimmedLines = lines.map { $0.trimmingCharacters(in: .whitespaces) }
    var nextContent = [Int](repeating: lines.count, count: lines.count + 1)
    for index in stride(from: lines.count - 1, through: 0, by: -1) {
      let t = trimmedLines[index]
      nextContent[index] = t.isEmpty || t.hasPrefix("#") ? nextContent[index + 1] : index
    }
    var contentBefore = [0]
    for t in trimmedLines {
      let skipped = t.isEmpty || t.hasPrefix("#") || t == "---" || t.hasPrefix("--- ")
      contentBefore.append(contentBefore[contentBefore.count - 1] + (skipped ? 0 : 1))
    }
    var result: [SuppressionComment] = []
    for (index, line) in lines.enumerated() {
      guard let hash = commentStart(line) else { continue }
      let number = index + 1
      let before = line[..<hash].trimmingCharacters(in: .whitespaces)
      let comment = String(line[line.index(after: hash)...])
      var target = number...number
      if before.isEmpty {
        let next = nextContent[index + 1]
        if next < lines.count { target = (next + 1)...(next + 1) }
      }
      let column = line.distance(from: line.startIndex, to: hash) + 1
      guard var suppression = parse(comment, at: SourcePosition(line: number, column: column), target: target) else { continue }
      if suppression.fileWide {
        let range = document(of: number)
        // Only in the leading comment block of the document.
        let leading = contentBefore[number - 1] == contentBefore[range.lowerBound - 1]
        guard leading else { continue }
        suppression.target = range
      }
      result.append(suppression)
    }
    return result
  }

  /// Index of a `#` that starts a comment (at line start or after a blank, outside quotes).
  static func commentStart(_ line: String) -> String.Index? {
    var quote: Character?
    var previous: Character = " "
    for index in line.indices {
      let c = line[index]
      if let q = quote {
        if c == q { quote = nil }
      } else if c == "'" || c == "\"", previous == " " || previous == ":" || previous == "[" || previous == "," || previous == "-" {
        quote = c
      } else if c == "#", previous == " " || previous == "\t" {
        return index
      }
      previous = c
    }
    return nil
  }
}
