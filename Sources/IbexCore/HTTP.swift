/// The small HTTP/1.1 subset `ibex serve-metrics` speaks (docs/metrics.md): one request per
/// connection, no body, `Connection: close` after the answer. Pure: bytes in, values out.

/// The status codes ibex answers with.
public enum HTTPStatus: Int, Sendable {
  case ok = 200
  case badRequest = 400
  case notFound = 404
  case methodNotAllowed = 405
  case requestTimeout = 408
  case headersTooLarge = 431
  case serviceUnavailable = 503
  case versionNotSupported = 505

  public var reason: String {
    switch self {
    case .ok: return "OK"
    case .badRequest: return "Bad Request"
    case .notFound: return "Not Found"
    case .methodNotAllowed: return "Method Not Allowed"
    case .requestTimeout: return "Request Timeout"
    case .headersTooLarge: return "Request Header Fields Too Large"
    case .serviceUnavailable: return "Service Unavailable"
    case .versionNotSupported: return "HTTP Version Not Supported"
    }
  }
}

/// The request line and the one header ibex uses.
public struct HTTPRequestHead: Equatable, Sendable {
  public var method: String
  /// The path, without the query.
  public var path: String
  /// The `Accept` header (several are joined with `,`).
  public var accept: String?

  public init(method: String, path: String, accept: String? = nil) {
    self.method = method
    self.path = path
    self.accept = accept
  }
}

/// What the bytes received so far amount to.
public enum HTTPParseResult: Equatable, Sendable {
  /// The head has not ended yet (and is within the limit).
  case incomplete
  case complete(HTTPRequestHead)
  /// Answer with this status and close.
  case invalid(HTTPStatus)
}

public enum HTTPRequestParser {
  /// The longest request line plus headers, final empty line included.
  public static let maximumHeadLength = 8192

  /// Parses the head of a request from the start of `bytes`. Lines end in CRLF (a bare LF is
  /// accepted, as RFC 9112 allows); bodies are never read.
  public static func parse(_ bytes: [UInt8]) -> HTTPParseResult {
    // Find the empty line that ends the head.
    var lines: [ArraySlice<UInt8>] = []
    var start = 0
    var ended = false
    var index = 0
    while index < bytes.count && index < maximumHeadLength {
      if bytes[index] == 0x0a {
        var end = index
        if end > start && bytes[end - 1] == 0x0d { end -= 1 }
        if end == start {
          // Empty lines before the request line are ignored (RFC 9112 2.2).
          if !lines.isEmpty {
            ended = true
            break
          }
        } else {
          lines.append(bytes[start..<end])
        }
        start = index + 1
      }
      index += 1
    }
    guard ended else { return bytes.count >= maximumHeadLength ? .invalid(.headersTooLarge) : .incomplete }

    // The request line: METHOD SP TARGET SP HTTP/1.x
    let parts = lines[0].split(separator: 0x20, omittingEmptySubsequences: false)
    guard parts.count == 3, !parts[0].isEmpty, parts[0].allSatisfy(isTokenByte) else { return .invalid(.badRequest) }
    let target = parts[1]
    guard target.first == UInt8(ascii: "/"), target.allSatisfy({ $0 > 0x20 && $0 < 0x7f }) else { return .invalid(.badRequest) }
    let version = parts[2]
    guard version.count == 8, version.starts(with: Array("HTTP/".utf8)), version[version.startIndex + 6] == UInt8(ascii: ".") else {
      return .invalid(.badRequest)
    }
    let major = version[version.startIndex + 5]
    let minor = version[version.startIndex + 7]
    guard isDigit(major) && isDigit(minor) else { return .invalid(.badRequest) }
    guard major == UInt8(ascii: "1") else { return .invalid(.versionNotSupported) }

    var accept: String?
    var hosts = 0
    for line in lines.dropFirst() {
      // No obsolete line folding, no space before the colon, a token as name.
      guard let colon = line.firstIndex(of: UInt8(ascii: ":")), colon > line.startIndex,
        line[line.startIndex..<colon].allSatisfy(isTokenByte)
      else { return .invalid(.badRequest) }
      var value = line[(colon + 1)...]
      while let first = value.first, first == 0x20 || first == 0x09 { value = value.dropFirst() }
      while let last = value.last, last == 0x20 || last == 0x09 { value = value.dropLast() }
      guard value.allSatisfy({ $0 == 0x09 || ($0 >= 0x20 && $0 != 0x7f) }) else { return .invalid(.badRequest) }
      let name = line[line.startIndex..<colon]
      if equalsIgnoringCase(name, "host") { hosts += 1 }
      if equalsIgnoringCase(name, "accept") {
        let text = String(decoding: value, as: UTF8.self)
        accept = accept.map { $0 + "," + text } ?? text
      }
    }
    // HTTP/1.1 needs exactly one Host (RFC 9112 3.2).
    if minor != UInt8(ascii: "0") && hosts != 1 { return .invalid(.badRequest) }
    if hosts > 1 { return .invalid(.badRequest) }

    let pathEnd = target.firstIndex(of: UInt8(ascii: "?")) ?? target.endIndex
    return .complete(HTTPRequestHead(
      method: String(decoding: parts[0], as: UTF8.self), path: String(decoding: target[..<pathEnd], as: UTF8.self),
      accept: accept))
  }

  private static func isDigit(_ byte: UInt8) -> Bool { byte >= 0x30 && byte <= 0x39 }

  /// RFC 9110 `tchar`.
  private static func isTokenByte(_ byte: UInt8) -> Bool {
    switch byte {
    case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), 0x30...0x39: return true
    default: return Array("!#$%&'*+-.^_`|~".utf8).contains(byte)
    }
  }

  private static func equalsIgnoringCase(_ bytes: ArraySlice<UInt8>, _ lowercase: String) -> Bool {
    bytes.count == lowercase.utf8.count
      && zip(bytes, lowercase.utf8).allSatisfy { ($0 >= 0x41 && $0 <= 0x5a ? $0 + 0x20 : $0) == $1 }
  }
}

/// What `serve-metrics` serves.
public enum HTTPEndpoint: Equatable, Sendable {
  case metrics, health, readiness

  /// The endpoint for a request, or the status that refuses it: 404 for any other path, 405
  /// for a method other than GET and HEAD.
  public static func route(_ head: HTTPRequestHead) -> Result<HTTPEndpoint, HTTPRefusal> {
    let endpoint: HTTPEndpoint
    switch head.path {
    case "/metrics": endpoint = .metrics
    case "/healthz": endpoint = .health
    case "/readyz": endpoint = .readiness
    default: return .failure(HTTPRefusal(.notFound))
    }
    guard head.method == "GET" || head.method == "HEAD" else { return .failure(HTTPRefusal(.methodNotAllowed)) }
    return .success(endpoint)
  }
}

public struct HTTPRefusal: Error, Equatable, Sendable {
  public var status: HTTPStatus
  public init(_ status: HTTPStatus) { self.status = status }
}

public enum HTTPResponse {
  /// A complete response: status line, `Content-Type`, `Content-Length`, `Connection: close`,
  /// then the body (left out for HEAD, the length kept).
  public static func encode(_ status: HTTPStatus, contentType: String = "text/plain; charset=utf-8", body: String, head: Bool = false)
    -> String
  {
    var text = "HTTP/1.1 \(status.rawValue) \(status.reason)\r\nContent-Type: \(contentType)\r\nContent-Length: \(body.utf8.count)\r\n"
    if status == .methodNotAllowed { text += "Allow: GET, HEAD\r\n" }
    text += "Cache-Control: no-store\r\nX-Content-Type-Options: nosniff\r\nConnection: close\r\n\r\n"
    if !head { text += body }
    return text
  }

  /// The answer to a refused request: its status and reason as the body.
  public static func refusal(_ status: HTTPStatus) -> String { encode(status, body: "\(status.rawValue) \(status.reason)\n") }
}

/// `ADDR:PORT` for `--listen`: an IPv4 address (`0.0.0.0`, `127.0.0.1`) or a bracketed IPv6
/// one (`[::]`, `[::1]`), and a port 1-65535.
public struct ListenAddress: Equatable, Sendable {
  public var host: String
  public var port: UInt16
  public var isIPv6: Bool

  public static let defaultPort: UInt16 = 9469
  public static let `default` = ListenAddress(host: "127.0.0.1", port: defaultPort, isIPv6: false)

  public init(host: String, port: UInt16, isIPv6: Bool) {
    self.host = host
    self.port = port
    self.isIPv6 = isIPv6
  }

  public init(parsing text: String) throws(ConfigError) {
    func bad(_ why: String) -> ConfigError {
      ConfigError("--listen \(text): \(why) (use ADDR:PORT such as 127.0.0.1:9469, 0.0.0.0:9469 or [::]:9469)")
    }
    let utf8 = Array(text.utf8)
    guard let colon = utf8.lastIndex(of: UInt8(ascii: ":")) else { throw bad("no port") }
    let portText = utf8[(colon + 1)...]
    guard !portText.isEmpty, portText.count <= 5, portText.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }),
      let port = UInt16(String(decoding: portText, as: UTF8.self)), port > 0
    else { throw bad("the port must be a number from 1 to 65535") }
    var host = utf8[..<colon]
    let isIPv6 = host.first == UInt8(ascii: "[")
    if isIPv6 {
      guard host.count > 2, host.last == UInt8(ascii: "]") else { throw bad("an IPv6 address needs its closing ']'") }
      host = host.dropFirst().dropLast()
      guard host.allSatisfy({ $0 == UInt8(ascii: ":") || $0 == UInt8(ascii: ".") || ListenAddress.isHexDigit($0) }) else {
        throw bad("not an IPv6 address")
      }
    } else {
      let octets = host.split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false)
      guard octets.count == 4,
        octets.allSatisfy({ !$0.isEmpty && $0.count <= 3 && $0.allSatisfy { $0 >= 0x30 && $0 <= 0x39 } && Int(String(decoding: $0, as: UTF8.self))! <= 255 })
      else { throw bad("not an IPv4 address (names are not resolved)") }
    }
    self.init(host: String(decoding: host, as: UTF8.self), port: port, isIPv6: isIPv6)
  }

  private static func isHexDigit(_ byte: UInt8) -> Bool {
    (byte >= 0x30 && byte <= 0x39) || (byte >= 0x61 && byte <= 0x66) || (byte >= 0x41 && byte <= 0x46)
  }

  public var description: String { isIPv6 ? "[\(host)]:\(port)" : "\(host):\(port)" }
}
