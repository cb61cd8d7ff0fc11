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
    guard let stat = bytes.withUnsafeBufferPointer({ ProcessStat(parsing: $0) }) else { return nil }
    self = stat
  }

  /// The same without copying (one scrape reads a line per process): a single pass, no
  /// allocation.
  public init?(parsing bytes: UnsafeBufferPointer<UInt8>) {
    guard let close = bytes.lastIndex(of: UInt8(ascii: ")")) else { return nil }
    guard let open = bytes[..<close].firstIndex(of: UInt8(ascii: "(")), open > 0,
      let pid = ProcessStat.number(bytes[..<(open - 1)]), bytes[open - 1] == 0x20
    else { return nil }
    // After the name: state(3) ppid(4) pgrp(5) session(6) ... utime(14) stime(15) cutime(16) cstime(17) ... rss(24).
    var values: (session: Int64, utime: Int64, stime: Int64, cutime: Int64, cstime: Int64, rss: Int64) = (0, 0, 0, 0, 0, 0)
    var field = 2
    var index = close + 1
    while field < 24 {
      guard index < bytes.count, bytes[index] == 0x20 else { return nil }
      index += 1
      field += 1
      var end = index
      while end < bytes.count && bytes[end] != 0x20 && bytes[end] != 0x0a { end += 1 }
      if field == 6 || (field >= 14 && field <= 17) || field == 24 {
        guard let value = ProcessStat.number(bytes[index..<end]) else { return nil }
        switch field {
        case 6: values.session = value
        case 14: values.utime = value
        case 15: values.stime = value
        case 16: values.cutime = value
        case 17: values.cstime = value
        default: values.rss = value
        }
      } else if end == index {
        return nil
      }
      index = end
    }
    guard let session = Int32(exactly: values.session), let pid32 = Int32(exactly: pid) else { return nil }
    let (partial, overflow1) = values.utime.addingReportingOverflow(values.stime)
    let (children, overflow2) = values.cutime.addingReportingOverflow(values.cstime)
    let (total, overflow3) = partial.addingReportingOverflow(children)
    guard !overflow1 && !overflow2 && !overflow3 else { return nil }
    self.init(pid: pid32, session: session, cpuTicks: total, residentPages: values.rss)
  }

  /// A decimal integer, optionally negative, of at most 18 digits.
  private static func number(_ digits: Slice<UnsafeBufferPointer<UInt8>>) -> Int64? {
    var rest = digits[...]
    let negative = rest.first == UInt8(ascii: "-")
    if negative { rest = rest.dropFirst() }
    guard !rest.isEmpty, rest.count <= 18 else { return nil }
    var value: Int64 = 0
    for byte in rest {
      guard byte >= 0x30 && byte <= 0x39 else { return nil }
      value = value * 10 + Int64(byte - 0x30)
    }
    return negative ? -value : value
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
