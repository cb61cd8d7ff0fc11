import IbexLog
import Testing

/// Frames `input` pushed in chunks of `chunk` bytes; returns the pieces as (text, cut, continuation).
private func frame(_ input: [UInt8], chunk: Int = Int.max, limit: Int = 8192) -> [([UInt8], Bool, Bool)] {
  var framer = LineFramer(maximumLineLength: limit)
  var lines: [([UInt8], Bool, Bool)] = []
  let collect = { (line: FramedLine) in lines.append((Array(line.bytes), line.isCut, line.isContinuation)) }
  var start = 0
  while start < input.count {
    let end = min(input.count, start + min(chunk, input.count))
    input[start..<end].withUnsafeBytes { framer.push($0, collect) }
    start = end
  }
  framer.finish(collect)
  return lines
}

private func texts(_ lines: [([UInt8], Bool, Bool)]) -> [String] { lines.map { String(decoding: $0.0, as: UTF8.self) } }

@Test("lines split on newline; an empty line is a line")
func splitsOnNewline() {
  #expect(texts(frame(Array("a\n\nbc\n".utf8))) == ["a", "", "bc"])
}

@Test("a partial last line is handed out by finish")
func partialLastLine() {
  #expect(texts(frame(Array("a\nlast".utf8))) == ["a", "last"])
  #expect(frame([]).isEmpty)
}

@Test("one-byte chunks give the same lines as one chunk")
func oneByteChunks() {
  let input = Array("first line\nsecond\n\nthird without end".utf8)
  #expect(texts(frame(input, chunk: 1)) == texts(frame(input)))
  #expect(texts(frame(input, chunk: 1, limit: 4)) == texts(frame(input, limit: 4)))
}

@Test("a line longer than the limit is cut into marked pieces; exactly the limit is not cut")
func longLines() {
  let pieces = frame(Array("abcdefghij\nabcd\n".utf8), limit: 4)
  #expect(texts(pieces) == ["abcd", "efgh", "ij", "abcd"])
  #expect(pieces.map { $0.1 } == [true, true, false, false])
  #expect(pieces.map { $0.2 } == [false, true, true, false])
  #expect(texts(frame(Array("abcdefgh\n".utf8), chunk: 3, limit: 4)) == ["abcd", "efgh"])
  #expect(frame(Array("abcdefgh\n".utf8), limit: 4).map { $0.1 } == [true, false])
}

@Test("CRLF keeps the carriage return; binary and invalid UTF-8 bytes pass untouched")
func bytesUntouched() {
  let input: [UInt8] = [0x61, 0x0d, 0x0a, 0xff, 0x00, 0xc3, 0x0a, 0xfe]
  #expect(frame(input, chunk: 1).map { $0.0 } == [[0x61, 0x0d], [0xff, 0x00, 0xc3], [0xfe]])
}

@Test("pending bytes count the unfinished line")
func pendingBytes() {
  var framer = LineFramer()
  Array("ab\ncd".utf8).withUnsafeBytes { framer.push($0) { _ in } }
  #expect(framer.pendingByteCount == 2)
}
