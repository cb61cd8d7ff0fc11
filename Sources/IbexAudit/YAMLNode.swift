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
