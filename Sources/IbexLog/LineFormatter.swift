import IbexRuntime

/// Formats a service's lines for the container's stdout/stderr: text lines with an optional
/// `name | ` prefix and timestamp, or JSON lines.
///
/// Text lines keep the program's bytes (invalid UTF-8 included) but drop one trailing `\r`,
/// so that CRLF output does not put carriage returns on the terminal. A piece continuing a
/// line that was cut at the length limit is prefixed `name + ` instead of `name | `.
///
/// JSON lines are `{"ts":"...","service":"web","stream":"stdout","msg":"..."}` with
/// `"partial":true` added when the line was cut; `ts` is always there (RFC 3339 unless TAI64N
/// was asked for), and invalid UTF-8 in `msg` becomes U+FFFD (JSON text must be valid UTF-8).
public struct LineFormatter: Sendable {
  public enum Style: Equatable, Sendable {
    /// `name | message`, or the message alone when `prefixed` is false.
    case text(prefixed: Bool)
    case json
  }

  public enum TimestampStyle: Equatable, Sendable {
    case none
    /// `2026-11-29T21:04:05.123456Z`
    case rfc3339
    /// `@4000000069...` (s6-log's `t`)
    case tai64n
  }

  public var service: String
  public var style: Style
  public var timestamp: TimestampStyle

  public init(service: String, style: Style = .text(prefixed: true), timestamp: TimestampStyle = .none) {
    self.service = service
    self.style = style
    self.timestamp = timestamp
  }

  /// Appends the formatted line, with its `\n`, to `out`.
  public func append(_ line: FramedLine, stream: LogStream, at time: WallTime, to out: inout [UInt8]) {
    var message = line.bytes
    if message.last == 0x0d { message = UnsafeRawBufferPointer(rebasing: message.dropLast()) }
    switch style {
    case .text(let prefixed):
      if prefixed {
        out.append(contentsOf: service.utf8)
        out.append(contentsOf: line.isContinuation ? " + ".utf8 : " | ".utf8)
      }
      if appendTimestamp(time, to: &out) { out.append(0x20) }
      out.append(contentsOf: message)
    case .json:
      LineFormatter.appendJSONStart(service: service, at: time, tai64n: timestamp == .tai64n, to: &out)
      out.append(contentsOf: ",\"stream\":\"\(stream.rawValue)\",\"msg\":".utf8)
      LineFormatter.appendJSONString(message, to: &out)
      if line.isCut { out.append(contentsOf: ",\"partial\":true".utf8) }
      out.append(0x7d)  // }
    }
    out.append(0x0a)
  }

  /// `{"ts":"...","service":"NAME"`: how every JSON line begins, a service's or ibex's own.
  static func appendJSONStart(service: String, at time: WallTime, tai64n: Bool, to out: inout [UInt8]) {
    out.append(contentsOf: "{\"ts\":\"".utf8)
    if tai64n { Timestamp.appendTAI64N(time, to: &out) } else { Timestamp.appendRFC3339(time, to: &out) }
    out.append(contentsOf: "\",\"service\":".utf8)
    Array(service.utf8).withUnsafeBytes { LineFormatter.appendJSONString($0, to: &out) }
  }

  /// One of ibex's own event lines as JSON, with the fields of a service's lines:
  /// `{"ts":"...","service":"ibex","level":"warning","msg":"web: restarting in 1s"}`. The
  /// level comes from the message's `warning: `, `error: ` or `fatal: ` label (else `info`).
  public func appendEvent(_ message: String, at time: WallTime, to out: inout [UInt8]) {
    var level = "info"
    var text = Substring(message)
    for label in ["warning", "error", "fatal"] where text.hasPrefix(label + ": ") {
      level = label == "fatal" ? "error" : label
      text = text.dropFirst(label.utf8.count + 2)
    }
    LineFormatter.appendJSONStart(service: "ibex", at: time, tai64n: timestamp == .tai64n, to: &out)
    out.append(contentsOf: ",\"level\":\"\(level)\",\"msg\":".utf8)
    Array(text.utf8).withUnsafeBytes { LineFormatter.appendJSONString($0, to: &out) }
    out.append(contentsOf: "}\n".utf8)
  }

  private func appendTimestamp(_ time: WallTime, to out: inout [UInt8]) -> Bool {
    switch timestamp {
    case .none: return false
    case .rfc3339: Timestamp.appendRFC3339(time, to: &out)
    case .tai64n: Timestamp.appendTAI64N(time, to: &out)
    }
    return true
  }

  /// A JSON string of `bytes`: quotes, backslashes and control characters escaped, invalid
  /// UTF-8 replaced by U+FFFD.
  public static func appendJSONString(_ bytes: UnsafeRawBufferPointer, to out: inout [UInt8]) {
    out.append(0x22)
    let repaired = String(decoding: bytes, as: UTF8.self)
    for byte in repaired.utf8 {
      switch byte {
      case 0x22: out.append(contentsOf: "\\\"".utf8)
      case 0x5c: out.append(contentsOf: "\\\\".utf8)
      case 0x0a: out.append(contentsOf: "\\n".utf8)
      case 0x0d: out.append(contentsOf: "\\r".utf8)
      case 0x09: out.append(contentsOf: "\\t".utf8)
      case 0..<0x20, 0x7f:
        out.append(contentsOf: "\\u00".utf8)
        out.append(hexDigit(byte >> 4))
        out.append(hexDigit(byte & 0xf))
      default: out.append(byte)
      }
    }
    out.append(0x22)
  }

  private static func hexDigit(_ nibble: UInt8) -> UInt8 { nibble < 10 ? 0x30 + nibble : 0x57 + nibble }
}
