import Foundation
import Yams

/// A YAML node with its source position, anchors and merge keys already resolved. Built from
/// `Yams.compose`, which keeps marks; decoding straight into structs would lose them.
public struct YAMLNode: Sendable {
  public indirect enum Value: Sendable {
    case scalar(String)
    case mapping([YAMLPair])
    case sequence([YAMLNode])
  }

  public var value: Value
  public var position: SourcePosition
  /// A plain (unquoted) scalar: YAML 1.1 may have given it another type (`22:22` is base 60).
  public var isPlain: Bool
  /// Set on values that came in through a merge key (`<<: *defaults`): the anchor's line.
  public var mergedFrom: Int?

  public var string: String? {
    if case .scalar(let s) = value { return s }
    return nil
  }

  public var pairs: [YAMLPair]? {
    if case .mapping(let pairs) = value { return pairs }
    return nil
  }

  public var items: [YAMLNode]? {
    if case .sequence(let items) = value { return items }
    return nil
  }

  public var isNull: Bool {
    if case .scalar(let s) = value { return isPlain && ["", "~", "null", "Null", "NULL"].contains(s) }
    return false
  }

  public subscript(key: String) -> YAMLNode? { pair(key)?.value }

  public func pair(_ key: String) -> YAMLPair? { pairs?.first { $0.key == key } }

  /// Follows a path of mapping keys.
  public func at(_ path: String...) -> YAMLNode? {
    var node: YAMLNode? = self
    for key in path { node = node?[key] }
    return node
  }

  /// YAML 1.1 booleans as Compose and Kubernetes accept them.
  public var bool: Bool? {
    guard let s = string?.lowercased() else { return nil }
    if ["true", "yes", "on", "y"].contains(s) { return true }
    if ["false", "no", "off", "n"].contains(s) { return false }
    return nil
  }

  public var int: Int? { string.flatMap { Int($0) } }
}

public struct YAMLPair: Sendable {
  public var key: String
  public var keyPosition: SourcePosition
  public var value: YAMLNode
}

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
