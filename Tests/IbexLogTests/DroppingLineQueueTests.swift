import IbexLog
import Testing

@Suite("ibex's own lines: a bounded queue that drops the oldest")
struct DroppingLineQueueTests {
  func line(_ text: String) -> [UInt8] { Array((text + "\n").utf8) }

  @Test("under the limit nothing is dropped; take hands out lines oldest first while they fit")
  func fits() {
    var queue = DroppingLineQueue(limit: 100)
    for k in 0..<5 { queue.append(line("line \(k)")) }
    #expect(queue.byteCount == 35)
    let first = queue.take { $0 < 14 }
    #expect(first.dropped == 0)
    #expect(first.lines == [line("line 0"), line("line 1")])
    let rest = queue.take { _ in true }
    #expect(rest.lines.count == 3)
    #expect(queue.isEmpty && queue.byteCount == 0)
  }

  @Test("over the limit the oldest go, counted once, reported with the next take")
  func dropsOldest() {
    var queue = DroppingLineQueue(limit: 21)
    for k in 0..<10 { queue.append(line("line \(k)")) }
    #expect(queue.lines == [line("line 7"), line("line 8"), line("line 9")])
    #expect(queue.dropped == 7)
    let taken = queue.take { _ in true }
    #expect(taken.dropped == 7)
    #expect(taken.lines.count == 3)
    #expect(queue.dropped == 0)
    queue.append(line("again"))
    #expect(queue.take { _ in true }.dropped == 0)
  }

  @Test("a line longer than the limit is kept alone; nothing is taken while the writer is full")
  func longLine() {
    var queue = DroppingLineQueue(limit: 8)
    queue.append(line("short"))
    queue.append(line("a line longer than the limit"))
    #expect(queue.lines.count == 1)
    #expect(queue.dropped == 1)
    let none = queue.take { _ in false }
    #expect(none.lines.isEmpty && none.dropped == 0)
    #expect(queue.dropped == 1)
  }
}
