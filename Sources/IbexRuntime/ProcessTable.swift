import CIbex
import IbexCore

/// The processes of this pid namespace, as /proc shows them.
public enum ProcessTable {
  /// The size of a memory page, in bytes.
  public static var pageSize: Int64 { Int64(ibex_page_size()) }

  /// `/proc/PID/stat` of every process (those that end meanwhile are skipped). One read per
  /// process into a reused buffer: cheap enough for every scrape.
  public static func stats(root: String = "/proc") -> [ProcessStat] {
    // The directory is read here rather than with FileSystem.list: no sorting, and only the
    // numeric names become strings (a scrape should allocate little: musl's allocator maps and
    // unmaps memory for churn).
    var error: Int32 = 0
    guard let directory = root.withCString({ ibex_opendir($0, &error) }) else { return [] }
    var names: [String] = []
    while true {
      var name: UnsafePointer<CChar>?
      guard ibex_readdir(directory, &name) > 0, let name else { break }
      if name.pointee >= 0x30 && name.pointee <= 0x39 { names.append(String(cString: name)) }
    }
    ibex_closedir(directory)
    var stats: [ProcessStat] = []
    stats.reserveCapacity(names.count)
    var buffer = [UInt8](repeating: 0, count: 1024)
    for name in names {
      guard let fd = try? FileSystem.open(root + "/" + name + "/stat", flags: 0) else { continue }
      let n = buffer.withUnsafeMutableBytes { bytes -> Int in (try? fd.read(into: bytes)) ?? 0 }
      fd.close()
      if n > 0, let stat = buffer.withUnsafeBufferPointer({ ProcessStat(parsing: UnsafeBufferPointer(rebasing: $0[0..<n])) }) {
        stats.append(stat)
      }
    }
    return stats
  }
}
