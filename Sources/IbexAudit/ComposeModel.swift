import Foundation

/// A compose file as the rules see it: services (after merge keys, `x-` keys skipped) with
/// helpers that interpolate values and know where to report.
struct ComposeModel {
  struct Service {
    var name: String
    var keyPosition: SourcePosition
    var node: YAMLNode
    var object: String { "service/\(name)" }
  }

  var root: YAMLNode
  var services: [Service] = []
  var interpolation: ComposeInterpolation

  /// A compose file has a top-level `services:` mapping.
  static func looksLikeCompose(_ root: YAMLNode) -> Bool {
    root["services"]?.pairs != nil
  }

  init(root: YAMLNode, interpolation: ComposeInterpolation) {
    self.root = root
    self.interpolation = interpolation
    for pair in root["services"]?.pairs ?? [] where !pair.key.hasPrefix("x-") && pair.value.pairs != nil {
      services.append(Service(name: pair.key, keyPosition: pair.keyPosition, node: pair.value))
    }
  }

  /// The scalar at `node` interpolated: nil when absent or unknown.
  func text(_ node: YAMLNode?) -> String? {
    guard let node, let s = node.string, !node.isNull else { return nil }
    return interpolation.interpolate(s)
  }
}

extension ComposeModel.Service {
  /// Where to report a finding about `node`: the node itself when it is written inside the service,
  /// else (values from an anchor or merge key) the service key, with a note naming the anchor line.
  func location(_ node: YAMLNode?, keyPosition: SourcePosition? = nil) -> (SourcePosition, String) {
    guard let node else { return (self.keyPosition, "") }
    let position = keyPosition ?? node.position
    if let merged = node.mergedFrom {
      return (self.keyPosition, " (from the anchor at line \(merged))")
    }
    if position.line < self.keyPosition.line {
      return (self.keyPosition, " (from the anchor at line \(position.line))")
    }
    return (position, "")
  }
}
