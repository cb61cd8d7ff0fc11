import Foundation
import Yams

/// Reads YAML text into `YAMLNode` documents.
public enum YAMLReader {
  /// Every document of a (multi-document) stream; empty documents are skipped.
  public static func documents(_ text: String) throws(ParseError) -> [YAMLNode] {
    var source = text
    if source.hasPrefix("\u{FEFF}") { source.removeFirst() }
    do {
      var sequence = try Yams.compose_all(yaml: source)
      var result: [YAMLNode] = []
      while let node = sequence.next() {
        result.append(try convert(node))
      }
      if let error = sequence.error { throw error }
      return result
    } catch let error as ParseError {
      throw error
    } catch {
      throw parseError(error)
    }
  }

  static func parseError(_ error: any Error) -> ParseError {
    guard let yaml = error as? YamlError else {
      return ParseError("YAML error: \(error)", at: .start)
    }
    func position(_ mark: Mark) -> SourcePosition { SourcePosition(line: max(mark.line, 1), column: max(mark.column, 1)) }
    switch yaml {
    case .scanner(let context, let problem, let mark, _), .parser(let context, let problem, let mark, _),
      .composer(let context, let problem, let mark, _):
      let prefix = context.map { "\($0.text) (line \($0.mark.line)): " } ?? ""
      return ParseError("invalid YAML: \(prefix)\(problem)", at: position(mark))
    case .duplicatedKeysInMapping(let duplicates, let context):
      let keys = duplicates.sorted().map { "'\($0)'" }.joined(separator: ", ")
      return ParseError("duplicate key \(keys) in one mapping; Compose and Kubernetes reject it, keep one", at: position(context.mark))
    case .reader(let problem, let offset, _, let text):
      var line = 1
      var column = 1
      if let offset {
        for (index, c) in text.utf8.enumerated() {
          if index >= offset { break }
          if c == UInt8(ascii: "\n") { line += 1; column = 1 } else { column += 1 }
        }
      }
      return ParseError("unreadable input: \(problem)", at: SourcePosition(line: line, column: column))
    default:
      return ParseError("invalid YAML: \(yaml)", at: .start)
    }
  }

  static func position(of node: Node) -> SourcePosition {
    guard let mark = node.mark else { return .start }
    return SourcePosition(line: mark.line, column: mark.column)
  }

  static func convert(_ node: Node, depth: Int = 0) throws(ParseError) -> YAMLNode {
    guard depth < 200 else { throw ParseError("YAML nested too deeply (alias loop?)", at: position(of: node)) }
    switch node {
    case .scalar(let scalar):
      return YAMLNode(value: .scalar(scalar.string), position: position(of: node), isPlain: scalar.style == .plain || scalar.style == .any, mergedFrom: nil)
    case .sequence(let sequence):
      var items: [YAMLNode] = []
      for item in sequence { items.append(try convert(item, depth: depth + 1)) }
      return YAMLNode(value: .sequence(items), position: position(of: node), isPlain: false, mergedFrom: nil)
    case .mapping(let mapping):
      var own: [YAMLPair] = []
      var merges: [YAMLNode] = []
      for (key, value) in mapping {
        let keyString = key.string ?? ""
        if keyString == "<<", key.scalar?.style == .plain || key.scalar?.style == .any {
          let converted = try convert(value, depth: depth + 1)
          if let items = converted.items { merges += items } else { merges.append(converted) }
          continue
        }
        own.append(YAMLPair(key: keyString, keyPosition: position(of: key), value: try convert(value, depth: depth + 1)))
      }
      // Keys written in the mapping win over merged ones; earlier merged maps win over later ones.
      var pairs = own
      for source in merges {
        for var pair in source.pairs ?? [] where !pairs.contains(where: { $0.key == pair.key }) {
          pair.value.mergedFrom = pair.value.mergedFrom ?? source.position.line
          pairs.append(pair)
        }
      }
      return YAMLNode(value: .mapping(pairs), position: position(of: node), isPlain: false, mergedFrom: nil)
    case .alias:
      return YAMLNode(value: .scalar(""), position: position(of: node), isPlain: true, mergedFrom: nil)
    }
  }
}
