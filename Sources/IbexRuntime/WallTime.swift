import CIbex

/// A reading of the wall clock (`CLOCK_REALTIME`): seconds and nanoseconds since the Unix
/// epoch, UTC. Log timestamps use it; deadlines use the monotonic clock (`EventLoop.now()`).
public struct WallTime: Equatable, Sendable {
  public var seconds: Int64
  /// 0 ..< 1_000_000_000.
  public var nanoseconds: Int32

  public init(seconds: Int64, nanoseconds: Int32) {
    self.seconds = seconds
    self.nanoseconds = nanoseconds
  }

  /// Milliseconds since the Unix epoch.
  public var unixMilliseconds: Int64 { seconds * 1000 + Int64(nanoseconds / 1_000_000) }

  /// The current time. Corresponds to `clock_gettime(CLOCK_REALTIME)`.
  public static func now() -> WallTime {
    var seconds: Int64 = 0
    var nanoseconds: Int32 = 0
    ibex_realtime(&seconds, &nanoseconds)
    return WallTime(seconds: seconds, nanoseconds: nanoseconds)
  }
}
