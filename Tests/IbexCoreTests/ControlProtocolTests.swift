import IbexCore
import Testing

@Suite("Control protocol")
struct ControlProtocolTests {
  @Test(
    "requests round-trip through their line form",
    arguments: [
      ControlRequest.status(names: []), .status(names: ["web", "db"]), .start(names: ["a"]), .stop(names: ["a", "b"]),
      .restart(names: ["x"]), .signal(name: "web", .hangup), .check(.ready, names: []), .check(.live, names: ["db"]),
      .shutdown(exitCode: 3),
    ])
  func roundTrip(request: ControlRequest) throws {
    #expect(try ControlRequest(parsing: request.line) == request)
  }

  @Test(
    "bad requests get a code and a message",
    arguments: [
      ("status", ControlFailure(.protocolError, "unsupported protocol: requests start with 'v1'")),
      ("v2 status", ControlFailure(.protocolError, "unsupported protocol: requests start with 'v1'")),
      ("v1", ControlFailure(.protocolError, "missing command")),
      ("v1 explode", ControlFailure(.protocolError, "unknown command 'explode'")),
      ("v1 stop", ControlFailure(.usage, "stop needs a service name")),
      ("v1 signal web", ControlFailure(.usage, "signal needs a service and a signal")),
      ("v1 signal web SIGNOPE", ControlFailure(.usage, "unknown signal 'SIGNOPE'")),
      ("v1 check maybe", ControlFailure(.usage, "check needs 'ready' or 'live'")),
      ("v1 shutdown 300", ControlFailure(.usage, "the exit code must be 0-255")),
      ("v1 status  web", ControlFailure(.protocolError, "malformed argument")),
      ("v1 status w\u{7}b", ControlFailure(.protocolError, "malformed argument")),
    ] as [(String, ControlFailure)])
  func badRequests(line: String, failure: ControlFailure) {
    #expect(throws: failure) { try ControlRequest(parsing: line) }
  }

  @Test("only status and check are read-only")
  func readOnly() {
    #expect(ControlRequest.status(names: []).isReadOnly)
    #expect(ControlRequest.check(.ready, names: []).isReadOnly)
    #expect(!ControlRequest.stop(names: ["a"]).isReadOnly)
    #expect(!ControlRequest.shutdown(exitCode: 0).isReadOnly)
  }

  @Test("JSON: encoding escapes, parsing reads it back")
  func json() {
    let value = JSONValue.object([
      ("s", .string("a \"quoted\" \\ line\nwith\ttabs and \u{1} control é")), ("n", .number(-42)), ("b", .bool(true)),
      ("z", .null), ("a", .array([.number(1), .string("x"), .object([])])),
    ])
    #expect(value.encoded.contains(#""a \"quoted\" \\ line\nwith\ttabs and \u0001 control é""#))
    #expect(!value.encoded.contains("\n"))
    #expect(JSONValue(parsing: value.encoded) == value)
    #expect(JSONValue(parsing: #" { "k" : [ 1 , 2 ] , "u": "\u00e9" } "#) == .object([("k", .array([.number(1), .number(2)])), ("u", .string("é"))]))
    for bad in ["", "{", "[1,]", "{\"a\" 1}", "\"unterminated", "tru", "1.5", "99999999999999999999", "[" + String(repeating: "[", count: 40) + "]"] {
      #expect(JSONValue(parsing: bad) == nil, "\(bad)")
    }
  }

  @Test("random bytes never crash the request or JSON parsers")
  func fuzz() {
    var state: UInt64 = 0x2545_F491_4F6C_DD1D
    let alphabet = Array("v1 statusopcheckreadylive{}[]\",:0123456789-\\ntrue\u{0}\u{ff}".unicodeScalars)
    for _ in 0..<5000 {
      var text = ""
      state ^= state << 13
      state ^= state >> 7
      state ^= state << 17
      for _ in 0..<Int(state % 64) {
        state ^= state << 13
        state ^= state >> 7
        state ^= state << 17
        text.unicodeScalars.append(alphabet[Int(state % UInt64(alphabet.count))])
      }
      _ = try? ControlRequest(parsing: text)
      _ = JSONValue(parsing: text)
    }
  }
}
