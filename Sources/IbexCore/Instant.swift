/// A point on the monotonic clock (CLOCK_MONOTONIC), in nanoseconds. The supervisor core
/// never reads a clock: the runtime passes `now` in, so tests can drive time by hand.
public struct Instant: Equatable, Comparable, Sendable {
  public var nanoseconds: Int64

  public init(nanoseconds: Int64) { self.nanoseconds = nanoseconds }

  public static func < (a: Instant, b: Instant) -> Bool { a.nanoseconds < b.nanoseconds }
  public static func + (a: Instant, b: TimeSpan) -> Instant { Instant(nanoseconds: a.nanoseconds &+ b.nanoseconds) }
  public static func - (a: Instant, b: Instant) -> TimeSpan { TimeSpan(nanoseconds: a.nanoseconds &- b.nanoseconds) }
}
