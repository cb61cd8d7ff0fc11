import CIbex
import IbexCore
import IbexRuntime

/// `ibex wait-for TARGET... [--timeout D]`: waits until every target is there, in order (the
/// seed's `wait_for_port`/`wait_for_file`, `wait-for-it`), for `ExecStartPre=` and scripts.
enum WaitForProgram {
  static let help = """
    Usage: ibex wait-for [--timeout DURATION] TARGET...

    Wait until every TARGET is there, one after the other, then exit 0. For ExecStartPre=
    lines and scripts; see docs/wait-for.md.

    Targets:
      tcp:HOST:PORT    a TCP connection to HOST (name or address; IPv6 in brackets:
                       tcp:[::1]:5432) on PORT can be made (it is closed at once)
      file:PATH        PATH exists
      socket:PATH      PATH is a Unix socket that accepts a connection
      service:NAME     the service NAME of the running ibex init is ready (as 'ibex wait')

    Options:
      --timeout DURATION   give up after DURATION for all targets together (default 30s;
                           0 checks once)
      -q, --quiet          print nothing on timeout
      -h, --help           show this help

    Exit codes: 0 every target is there, 2 usage error, 5 timed out (the targets not yet
    there are named on stderr).

    """

  static func main(arguments: [String]) -> Int32 {
    var timeout = TimeSpan.seconds(30)
    var quiet = false
    var targets: [WaitTarget] = []
    var index = 0
    func usage(_ message: String) -> Int32 {
      Console.emit("usage error: \(message) (see 'ibex wait-for --help')")
      return ExitCode.usage
    }
    while index < arguments.count {
      let word = arguments[index]
      index += 1
      switch word {
      case "-h", "--help":
        Console.output(help)
        return ExitCode.success
      case "-q", "--quiet": quiet = true
      case "--timeout":
        guard index < arguments.count else { return usage("--timeout needs a duration") }
        do {
          timeout = try TimeSpan(parsing: arguments[index])
        } catch {
          return usage("invalid duration '\(arguments[index])' for --timeout: \(error.description)")
        }
        index += 1
      case _ where word.hasPrefix("-"): return usage("unknown option '\(word)'")
      default:
        let parsed = WaitTarget.parse(word)
        guard let target = parsed.target else { return usage(parsed.error ?? word) }
        targets.append(target)
      }
    }
    if targets.isEmpty { return usage("no target given") }
    let root = Environment.value(of: "IBEX_ROOT", in: ThisProcess.environmentStrings) ?? ""
    let deadline = EventLoop.now() + timeout
    for (i, target) in targets.enumerated() {
      while true {
        let remaining = deadline.nanoseconds - EventLoop.now().nanoseconds
        let reason = check(target, root: root, timeoutMilliseconds: Int32(max(100, min(remaining / 1_000_000, 1000))))
        guard let reason else { break }
        if EventLoop.now() >= deadline {
          if !quiet {
            var list = ""
            for pending in targets[i...] { list += (list.isEmpty ? "" : ", ") + pending.description }
            Console.emit("wait-for: timed out after \(timeout.description): \(list) (\(target.description): \(reason))")
          }
          return 5
        }
        ThisProcess.sleep(milliseconds: 100)
      }
    }
    return ExitCode.success
  }

  /// nil when the target is there, else why not.
  private static func check(_ target: WaitTarget, root: String, timeoutMilliseconds: Int32) -> String? {
    switch target {
    case .tcp(let host, let port):
      let r = host.withCString { h in "\(port)".withCString { ibex_tcp_probe(h, $0, timeoutMilliseconds) } }
      return r == 0 ? nil : Errno(rawValue: -r).description
    case .file(let path):
      return FileSystem.linkInfo(path) == nil ? "not there" : nil
    case .socket(let path):
      do {
        try UnixSocket.connect(to: path, timeoutMilliseconds: timeoutMilliseconds).close()
        return nil
      } catch {
        return error.description
      }
    case .service(let name):
      return ControlClient.readiness(of: name, root: root)
    }
  }
}
