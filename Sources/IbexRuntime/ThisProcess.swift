import CIbex
import IbexCore

/// Facts about ibex's own process.
public enum ThisProcess {
  /// ibex's arguments as passed to `main` (argv).
  public static var argumentPointer: UnsafePointer<UnsafeMutablePointer<CChar>?> { ibex_argv() }
  public static var argumentCount: Int { Int(ibex_argc()) }

  /// ibex's arguments as strings.
  public static var arguments: [String] {
    (0..<argumentCount).map { String(cString: argumentPointer[$0]!) }
  }

  /// The commit this binary was built from, or "unknown" (Sources/CIbex/build_info.c).
  public static var buildCommit: String { String(cString: ibex_build_commit()) }
  /// How it was linked, e.g. "static-PIE, musl" for the shipped binary.
  public static var buildKind: String { String(cString: ibex_build_kind()) }

  /// ibex's environment (environ).
  public static var environment: UnsafePointer<UnsafeMutablePointer<CChar>?> { ibex_environ() }

  /// ibex's environment as `NAME=value` strings.
  public static var environmentStrings: [String] {
    var result: [String] = []
    var index = 0
    while let entry = environment[index] {
      result.append(String(cString: entry))
      index += 1
    }
    return result
  }

  /// Opens /dev/null on any of fds 0-2 that ibex was started without, so that no descriptor
  /// ibex opens later can be mistaken for a standard stream by a child.
  public static func ensureStandardDescriptors() throws(Errno) {
    _ = try Errno.check(ibex_fill_standard_fds())
  }

  /// Sleeps (for client commands; PID 1 never sleeps, it waits in the event loop).
  /// Raises the soft limit on open files to the hard one (ibex holds two pipes per service)
  /// and returns the limits as they were, for children: (soft, hard).
  public static func raiseOpenFileLimit() -> (soft: UInt64, hard: UInt64)? {
    var soft: UInt64 = 0
    var hard: UInt64 = 0
    return ibex_raise_nofile(&soft, &hard) == 0 ? (soft, hard) : nil
  }

  /// The effective uid of this process.
  public static var effectiveUID: UInt32 { ibex_geteuid() }
  /// The effective gid of this process.
  public static var effectiveGID: UInt32 { ibex_getegid() }

  public static func sleep(milliseconds: Int) {
    ibex_sleep_ms(Int32(milliseconds))
  }

  /// Replaces ibex with `program` (looked up in ibex's PATH), keeping the environment.
  /// Returns only if that failed, with the reason.
  public static func exec(_ program: String, arguments: [String]) -> Errno {
    let argv = CStringArray(arguments)
    let path = Environment.value(of: "PATH", in: environmentStrings)
    let error = program.withCString { file in
      path.withOptionalCString { search in ibex_exec(file, argv.pointer, environment, search) }
    }
    return Errno(rawValue: error)
  }

  /// Ends ibex with `code`.
  public static func exit(_ code: Int32) -> Never {
    ibex_exit(code)
  }
}
