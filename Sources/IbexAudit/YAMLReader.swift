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
      var expansion = Expansion()
      while let node = sequence.next() {
        result.append(try convert(node, depth: 0, aliasDepth: 0, expansion: &expansion))
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

  /// Bounds on what aliases may add. Yams resolves an alias to the anchored node (sharing its
  /// storage), so a few hundred bytes of nested aliases ("billion laughs") stand for billions of
  /// nodes; converting them would take gigabytes. Real compose files and manifests use aliases
  /// for a few defaults: thousands of nodes, nesting one or two deep.
  public static let maxAliasNodes = 200_000
  public static let maxAliasDepth = 16

  /// What one conversion has seen: a node whose start position was converted before is a copy
  /// brought in by an alias (`*name`, `<<: *name`).
  struct Expansion {
    struct Origin: Hashable {
      var kind: UInt8
      var line: Int
      var column: Int
    }

    var converted = Set<Origin>()
    var aliasNodes = 0
  }

  static func convert(_ node: Node, depth: Int, aliasDepth outerAliasDepth: Int, expansion: inout Expansion) throws(ParseError) -> YAMLNode {
    guard depth < 200 else { throw ParseError("YAML nested too deeply (alias loop?)", at: position(of: node)) }
    var aliasDepth = outerAliasDepth
    if let mark = node.mark {
      let kind: UInt8 = switch node { case .scalar: 0; case .sequence: 1; case .mapping: 2; case .alias: 3 }
      if !expansion.converted.insert(.init(kind: kind, line: mark.line, column: mark.column)).inserted, kind != 0 {
        aliasDepth += 1
        guard aliasDepth <= maxAliasDepth else {
          throw ParseError("YAML aliases nested more than \(maxAliasDepth) deep (an alias bomb?); the file is not audited", at: position(of: node))
        }
      }
    }
    if aliasDepth > 0 {
      expansion.aliasNodes += 1
      guard expansion.aliasNodes <= maxAliasNodes else {
        throw ParseError(
          "YAML aliases expand to more than \(maxAliasNodes) nodes (an alias bomb?); the file is not audited, write the repeated parts out or use fewer nested aliases",
          at: position(of: node))
      }
    }
    switch node {
    case .scalar(let scalar):
      return YAMLNode(value: .scalar(scalar.string), position: position(of: node), isPlain: scalar.style == .plain || scalar.style == .any, mergedFrom: nil)
    case .sequence(let sequence):
      var items: [YAMLNode] = []
      for item in sequence { items.append(try convert(item, depth: depth + 1, aliasDepth: aliasDepth, expansion: &expansion)) }
      return YAMLNode(value: .sequence(items), position: position(of: node), isPlain: false, mergedFrom: nil)
    case .mapping(let mapping):
      var own: [YAMLPair] = []
      var merges: [YAMLNode] = []
      for (key, value) in mapping {
        let keyString = key.string ?? ""
        if keyString == "<<", key.scalar?.style == .plain || key.scalar?.style == .any {
          let converted = try convert(value, depth: depth + 1, aliasDepth: aliasDepth, expansion: &expansion)
          if let items = converted.items { merges += items } else { merges.append(converted) }
          continue
        }
        own.append(YAMLPair(
          key: keyString, keyPosition: position(of: key), value: try convert(value, depth: depth + 1, aliasDepth: aliasDepth, expansion: &expansion)))
      }
      // Keys written in the mapping win over merged ones; earlier merged maps win over later ones.
      var pairs = own
      var keys = Set(own.map(\.key))
      for source in merges {
        for var pair in source.pairs ?? [] where keys.insert(pair.key).inserted {
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
