/// An image reference split into name, tag and digest: `registry:5000/team/app:1.2@sha256:...`.
public struct ImageReference: Sendable, Equatable {
  public var name: String
  public var tag: String?
  public var digest: String?

  public init(_ reference: String) {
    var rest = Substring(reference)
    if let at = rest.firstIndex(of: "@") {
      digest = String(rest[rest.index(after: at)...])
      rest = rest[..<at]
    }
    let lastSlash = rest.lastIndex(of: "/")
    let searchStart = lastSlash.map { rest.index(after: $0) } ?? rest.startIndex
    if let colon = rest[searchStart...].lastIndex(of: ":") {
      tag = String(rest[rest.index(after: colon)...])
      rest = rest[..<colon]
    }
    name = String(rest)
  }

  public var isLatest: Bool { tag == "latest" }
  public var isUntagged: Bool { tag == nil && digest == nil }
  public var isDigestPinned: Bool { digest?.hasPrefix("sha256:") == true }
}
