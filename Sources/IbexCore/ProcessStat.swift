/// The fields of `/proc/PID/stat` the metrics use (proc(5)).
public struct ProcessStat: Equatable, Sendable {
  public var pid: Int32
  public var session: Int32
  /// utime + stime + cutime + cstime, in clock ticks.
  public var cpuTicks: Int64
  /// Resident set size, in pages.
  public var residentPages: Int64

  public init(pid: Int32, session: Int32, cpuTicks: Int64, residentPages: Int64) {
    self.pid = pid
    self.session = session
    self.cpuTicks = cpuTicks
    self.residentPages = residentPages
  }

  /// Parses one `stat` line; nil if it is not one. The command name (field 2) may hold spaces
  /// and parentheses: the fields resume after its last `)`.
  public init?(parsing bytes: [UInt8]) {
    guard let open = bytes.firstIndex(of: UInt8(ascii: "(")), let close = bytes.lastIndex(of: UInt8(ascii: ")")), open < close,
      let pid = Int32(String(decoding: bytes[..<open].filter { $0 != 0x20 }, as: UTF8.self))
    else { return nil }
    // After the name: state(3) ppid(4) pgrp(5) session(6) ... utime(14) stime(15) cutime(16) cstime(17) ... rss(24).
    let fields = bytes[(close + 1)...].split(whereSeparator: { $0 == 0x20 || $0 == 0x0a })
    guard fields.count >= 22 else { return nil }
    func number(_ field: Int) -> Int64? { Int64(String(decoding: fields[field - 3], as: UTF8.self)) }
    guard let session = number(6).flatMap({ Int32(exactly: $0) }), let utime = number(14), let stime = number(15),
      let cutime = number(16), let cstime = number(17), let rss = number(24)
    else { return nil }
    let (partial, overflow1) = utime.addingReportingOverflow(stime)
    let (children, overflow2) = cutime.addingReportingOverflow(cstime)
    let (total, overflow3) = partial.addingReportingOverflow(children)
    guard !overflow1 && !overflow2 && !overflow3 else { return nil }
    self.init(pid: pid, session: session, cpuTicks: total, residentPages: rss)
  }

  /// Sums the processes by session, for the sessions asked for (each service's main process
  /// leads its own session: ibex starts it with setsid).
  public static func usage(_ stats: [ProcessStat], sessions: Set<Int32>, pageSize: Int64) -> [Int32: ProcessUsage] {
    var usage: [Int32: ProcessUsage] = [:]
    for session in sessions { usage[session] = ProcessUsage() }
    for stat in stats where sessions.contains(stat.session) {
      usage[stat.session]!.count += 1
      usage[stat.session]!.cpuTicks &+= stat.cpuTicks
      usage[stat.session]!.residentBytes &+= stat.residentPages &* pageSize
    }
    return usage
  }
}
