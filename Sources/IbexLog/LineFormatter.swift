import IbexRuntime

/// Formats a service's lines for the container's stdout/stderr: text lines with an optional
/// `name | ` prefix and timestamp, or JSON lines.
///
/// Text lines keep the program's bytes (invalid UTF-8 included) but drop one trailing `\r`,
/// so that CRLF output does not put carriage returns on the terminal. A piece continuing a
/// line that was cut at the length limit is prefixed `name + ` instead of `name | `.
///
/// JSON lines are `{"ts":"...","service":"web","stream":"stdout","msg":"..."}` with
/// `"partial":true` added when the line was cut; `ts` is left out without a timestamp style,
/// and invalid UTF-8 in `msg` becomes U+FFFD (JSON text must be valid UTF-8).
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
      out.append(0x7b)  // {
      if timestamp != .none {
        out.append(contentsOf: "\"ts\":\"".utf8)
        _ = appendTimestamp(time, to: &out)
        out.append(contentsOf: "\",".utf8)
      }
      out.append(contentsOf: "\"service\":".utf8)
      JSONValue.appendString(service.utf8, to: &out)
      out.append(contentsOf: ",\"stream\":\"\(stream.rawValue)\",\"msg\":".utf8)
      LineFormatter.appendJSONString(message, to: &out)
      if line.isCut { out.append(contentsOf: ",\"partial\":true".utf8) }
      out.append(0x7d)  // }
    }
    out.append(0x0a)
  }

  private func appendTimestamp(_ time: WallTime, to out: inout [UInt8]) -> Bool {
    switch timestamp {
    case .none: return false
    case .rfc3339: Timestamp.appendRFC3339(time, to: &out)
    case .tai64n: Timestamp.appendTAI64N(time, to: &out)
    }
    return true
  }

  /// A JSON string of `bytes`, invalid UTF-8 replaced by U+FFFD (escaping: `JSONValue`).
  public static func appendJSONString(_ bytes: UnsafeRawBufferPointer, to out: inout [UInt8]) {
    JSONValue.appendString(String(decoding: bytes, as: UTF8.self).utf8, to: &out)
  }
}
