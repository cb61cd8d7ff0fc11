/// What `ibex wait-for` waits for (docs/wait-for.md).
public enum WaitTarget: Equatable, Sendable {
  /// A TCP connection to HOST:PORT can be made.
  case tcp(host: String, port: UInt16)
  /// PATH exists.
  case file(String)
  /// PATH is a Unix socket that accepts a connection.
  case socket(String)
  /// The service NAME of the running `ibex init` is ready.
  case service(String)

  /// `tcp:HOST:PORT` (an IPv6 address in brackets: `tcp:[::1]:80`), `file:PATH`,
  /// `socket:PATH` (absolute paths), `service:NAME`; nil and why otherwise.
  public static func parse(_ text: String) -> (target: WaitTarget?, error: String?) {
    func failure(_ message: String) -> (target: WaitTarget?, error: String?) { (nil, "'\(text)': " + message) }
    guard let colon = text.firstIndex(of: ":") else {
      return failure("use tcp:HOST:PORT, file:PATH, socket:PATH or service:NAME")
    }
    let kind = text[..<colon], rest = String(text[text.index(after: colon)...])
    switch kind {
    case "tcp":
      guard let last = rest.lastIndex(of: ":") else { return failure("use tcp:HOST:PORT") }
      var host = String(rest[..<last])
      let portText = rest[rest.index(after: last)...]
      if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
      guard !host.isEmpty else { return failure("the host is missing") }
      guard let port = UInt16(portText), port > 0, portText.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else {
        return failure("the port must be a number from 1 to 65535")
      }
      return (.tcp(host: host, port: port), nil)
    case "file", "socket":
      guard rest.hasPrefix("/") else { return failure("the path must be absolute") }
      return (kind == "file" ? .file(rest) : .socket(rest), nil)
    case "service":
      guard !rest.isEmpty, !rest.contains("/") else { return failure("the service name is missing") }
      return (.service(rest), nil)
    default:
      return failure("unknown kind '\(kind)' (use tcp, file, socket or service)")
    }
  }

  public var description: String {
    switch self {
    case .tcp(let host, let port): return host.contains(":") ? "tcp:[\(host)]:\(port)" : "tcp:\(host):\(port)"
    case .file(let path): return "file:" + path
    case .socket(let path): return "socket:" + path
    case .service(let name): return "service:" + name
    }
  }
}
