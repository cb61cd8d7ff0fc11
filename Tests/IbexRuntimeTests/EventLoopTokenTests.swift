import IbexRuntime
import Testing

/// The loop gives out its tokens (issue 12.6): they used to be ranges chosen by hand in four
/// files, and control connections counted up into the service-output range after about 14.7
/// million connections, where a level-triggered fd was misrouted and the loop spun.
@Suite("EventLoop: tokens are the loop's, with a generation")
struct EventLoopTokenTests {
  @Test("a holder that churns through more tokens than the old ranges held never gets one a live holder has")
  func churnNeverCollides() throws {
    var loop = try EventLoop(handling: SignalSet())
    // Long-lived holders: the notify socket, the listener, two consoles, many output pipes.
    let live = (0..<64).map { _ in loop.makeToken() }
    let liveSet = Set(live)
    #expect(liveSet.count == live.count)
    // Control connections: accepted and closed, more often than the old ranges allowed
    // (1 << 21 up to 1 << 24 was about 14.7 million).
    var previous: UInt64?
    for _ in 0..<15_000_000 {
      let token = loop.makeToken()
      if liveSet.contains(token) || token == previous {
        Issue.record("token \(token) given twice")
        return
      }
      previous = token
      loop.releaseToken(token)
    }
  }

  @Test("an event for a released token does not reach the slot's next holder")
  func staleEventDropped() throws {
    var loop = try EventLoop(handling: SignalSet())
    let first = try FileSystem.pipe()
    let second = try FileSystem.pipe()
    defer {
      for fd in [first.read, first.write, second.read, second.write] { fd.close() }
    }
    let old = loop.makeToken()
    try loop.watch(first.read, token: old, events: EventLoop.readable)
    try first.write.writeAll("stale")
    // Released while its fd is still registered (as a closed connection whose event is queued).
    loop.releaseToken(old)
    let new = loop.makeToken()
    #expect(new != old)
    try loop.watch(second.read, token: new, events: EventLoop.readable)
    try second.write.writeAll("fresh")
    var events: [LoopEvent] = []
    loop.wait(into: &events)
    var tokens: [UInt64] = []
    for event in events {
      if case .ready(let token, _) = event { tokens.append(token) }
    }
    #expect(tokens == [new])
  }
}
