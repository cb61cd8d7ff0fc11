import IbexCore
import IbexLog
import IbexRuntime

/// `s6-log [-b] [-p] [-d notif] [-l linelimit] [-t lastlinetimeout] script...`: s6-log's
/// interface (`docs/logging.md`), run as argv[0] `s6-log` or as `ibex s6-log`.
///
/// One loop, no threads: poll stdin and a signalfd (SIGTERM, SIGHUP, SIGALRM blocked), read a
/// large chunk, frame it in place, run the script on every line, then flush each directory
/// in a few large writes. A write error keeps the data and is retried every `rN`
/// milliseconds (1 s by default) until it succeeds; it is reported once per error, not per
/// retry. Exit codes as s6-log: 0 at end of input, 100 wrong usage, 111 system failure.
public struct S6LogProgram {
  public static let help = """
    Usage: s6-log [-b] [-p] [-d notif] [-l linelimit] [-t lastlinetimeout] script...

    Reads lines on stdin and runs the logging script on each (s6-log's directives):
      nN sN SN lN rN EN ^N pPREFIX   settings for the following actions
      t T                            stamp the next action's lines (TAI64N / UTC date)
      +re -re f                      select lines (POSIX extended regular expressions)
      /dir ./dir  1  2  =file        actions: log directory, stdout, stderr alert, status file
    The script may also be one argument: s6-log "n20 s1000000 T /var/log/app".

    Options:
      -b          stop reading while a directory cannot be written
      -p          ignore SIGTERM (exit only at end of input or on SIGHUP)
      -d FD       write a newline to FD when ready, then close it
      -l N        cut lines longer than N bytes (default 8192, at least 48; 0: no limit)
      -t MS       after SIGTERM, wait at most MS for the end of the current line (2000)

    SIGALRM rotates every log directory. Exit codes: 0 end of input, 100 wrong usage,
    111 system failure.

    """

  struct Options {
    var blocking = false
    var protectFromTerminate = false
    var notificationFD: Int32?
    var lineLimit = 8192
    var lastLineMilliseconds = 2000
    var script: [String] = []
  }

  enum Parsed {
    case help
    case run(Options)
  }

  static func parse(_ arguments: [String]) throws(UsageError) -> Parsed {
    var options = Options()
    var scanner = OptionScanner(arguments)
    while let name = scanner.next() {
      switch name {
      case "--help", "-h": return .help
      case "-b": options.blocking = true
      case "-p": options.protectFromTerminate = true
      case "-q", "-v": break  // verbosity: ibex's s6-log reports errors once, either way
      case "-d":
        let text = try scanner.value()
        guard let fd = Int32(text), fd >= 3 else { throw UsageError("notification fd must be 3 or more") }
        options.notificationFD = fd
      case "-l":
        let text = try scanner.value()
        guard let limit = Int(text), limit >= 0 else { throw UsageError("invalid line limit '\(text)'") }
        options.lineLimit = limit == 0 ? Int.max / 2 : max(limit, 48)
      case "-t":
        let text = try scanner.value()
        guard let ms = Int(text), ms >= 0 else { throw UsageError("invalid timeout '\(text)'") }
        options.lastLineMilliseconds = ms
      default: throw UsageError("unknown option \(name)")
      }
    }
    options.script = Array(arguments[scanner.index...])
    guard !options.script.isEmpty else { throw UsageError("no logging script") }
    return .run(options)
  }

  /// Runs `s6-log ARGS` and returns the exit code.
  public static func main(arguments: [String]) -> Int32 {
    let options: Options
    do {
      switch try parse(arguments) {
      case .help:
        Console.output(help)
        return 0
      case .run(let parsed): options = parsed
      }
    } catch {
      fail("usage error: \(error.message) (see 's6-log --help')")
      return 100
    }
    let script: S6LogScript
    do {
      // One argument holding the whole script (S6_LOGGING_SCRIPT) is split on whitespace.
      script = options.script.count == 1 ? try S6LogScript(parsing: options.script[0]) : try S6LogScript(parsing: options.script)
    } catch {
      fail("fatal: \(error.message)")
      return 100
    }
    var signals = SignalSet()
    signals.insert(.terminate)
    signals.insert(.hangup)
    signals.insert(.alarm)
    let signalFD: FileDescriptor
    do throws(Errno) {
      try SignalPolling.block(signals)
      try SignalPolling.ignore(.pipe)
      signalFD = try SignalPolling.signalDescriptor(for: signals)
    } catch {
      fail("fatal: unable to set up signals: \(error.description)")
      return 111
    }
    let runner: S6LogRunner
    do {
      runner = try S6LogRunner(script: script)
    } catch {
      fail("fatal: \(error.message)")
      return error.message.hasPrefix("invalid regular expression") ? 100 : 111
    }
    if let fd = options.notificationFD {
      let notification = FileDescriptor(rawValue: fd)
      try? notification.writeAll("\n")
      notification.close()
    }
    var loop = Loop(options: options, runner: runner, signals: signalFD, stampsNeeded: script.usesTimestamps,
      retryMilliseconds: script.elements.flatMap { $0.actions }.map { $0.retryMilliseconds }.min() ?? 1000)
    return loop.run()
  }

  static func fail(_ message: String) {
    try? FileDescriptor.standardError.writeAll("s6-log: " + message + "\n")
  }

  /// The read-frame-flush loop and its state.
  struct Loop {
    let options: Options
    let runner: S6LogRunner
    let signals: FileDescriptor
    let stampsNeeded: Bool
    let retryMilliseconds: Int
    var framer: LineFramer
    /// Stdin is finished (end of file, or SIGTERM/SIGHUP and the last line is in).
    var inputDone = false
    /// After SIGTERM: read byte by byte to the end of the current line, until this deadline,
    /// leaving later lines in the pipe for the next logger.
    var lastLineDeadline: Instant?
    /// When the directories may be retried after a write error.
    var retryAt: Instant?
    /// Errors already reported, so a full disk is one line on stderr, not one per retry.
    var reported: [LogDirectoryError] = []
    /// Beyond this much buffered data, reading stops until a write succeeds.
    static let bufferLimit = 64 << 20

    init(options: Options, runner: S6LogRunner, signals: FileDescriptor, stampsNeeded: Bool, retryMilliseconds: Int) {
      self.options = options
      self.runner = runner
      self.signals = signals
      self.stampsNeeded = stampsNeeded
      self.retryMilliseconds = max(retryMilliseconds, 1)
      framer = LineFramer(maximumLineLength: options.lineLimit)
    }

    mutating func run() -> Int32 {
      var buffer = [UInt8](repeating: 0, count: 256 << 10)
      while true {
        let stalled = retryAt != nil && (options.blocking || runner.pendingByteCount > Loop.bufferLimit)
        let reading = !inputDone && !stalled
        if inputDone && runner.pendingByteCount == 0 && retryAt == nil { break }
        let now = EventLoop.now()
        var timeout: Int?
        for deadline in [retryAt, lastLineDeadline].compactMap({ $0 }) {
          let ms = Int(max((deadline - now).nanoseconds, 0) / 1_000_000) + 1
          timeout = min(timeout ?? ms, ms)
        }
        let ready: SignalPolling.Readiness
        do {
          ready = try SignalPolling.poll(reading ? .standardInput : nil, signals, timeoutMilliseconds: timeout)
        } catch {
          S6LogProgram.fail("fatal: unable to poll: \(error.description)")
          return 111
        }
        if ready.second { handleSignals() }
        if reading && ready.first { readInput(into: &buffer) }
        if let deadline = lastLineDeadline, EventLoop.now() >= deadline, !inputDone { endInput() }
        if let retry = retryAt, EventLoop.now() < retry { continue }  // not yet: no busy retrying
        flush()
      }
      for failure in runner.close() { S6LogProgram.fail("warning: \(failure.description)") }
      return 0
    }

    mutating func handleSignals() {
      for signal in SignalPolling.read(signals) {
        switch signal {
        case .alarm: runner.rotateAll()
        case .terminate where options.protectFromTerminate: break
        case .terminate, .hangup:
          if inputDone || lastLineDeadline != nil { break }
          if framer.pendingByteCount == 0 {
            inputDone = true
          } else {
            lastLineDeadline = EventLoop.now() + .milliseconds(Int64(options.lastLineMilliseconds))
          }
        default: break
        }
      }
    }

    mutating func readInput(into buffer: inout [UInt8]) {
      // After SIGTERM, one byte at a time: stop right after the current line.
      let size = lastLineDeadline == nil ? buffer.count : 1
      let count = buffer.withUnsafeMutableBytes { (bytes) -> Int in
        do throws(Errno) {
          return try FileDescriptor.standardInput.read(into: UnsafeMutableRawBufferPointer(rebasing: bytes[..<size])) ?? -1
        } catch {
          if error != Errno(rawValue: 32) {  // EPIPE
            S6LogProgram.fail("warning: unable to read from stdin: \(error.description)")
          }
          return 0
        }
      }
      if count < 0 { return }  // spurious wake-up on a non-blocking stdin
      if count == 0 {
        endInput()
        return
      }
      let time = stampsNeeded ? WallTime.now() : WallTime(seconds: 0, nanoseconds: 0)
      let runner = self.runner
      var lineEnded = false
      buffer.withUnsafeBytes { bytes in
        framer.push(UnsafeRawBufferPointer(rebasing: bytes[..<count])) { line in
          runner.process(line, at: time)
          lineEnded = true
        }
      }
      if lastLineDeadline != nil && lineEnded { inputDone = true }
    }

    /// End of input: the partial last line goes out as a line.
    mutating func endInput() {
      let runner = self.runner
      let time = WallTime.now()
      framer.finish { runner.process($0, at: time) }
      inputDone = true
    }

    mutating func flush() {
      let failures = runner.flush()
      if failures.isEmpty {
        if retryAt != nil && !reported.isEmpty { S6LogProgram.fail("info: writing again after an error") }
        retryAt = nil
        reported = []
        return
      }
      for failure in failures where !reported.contains(failure) {
        S6LogProgram.fail("warning: \(failure.description) (keeping the data, retrying)")
      }
      reported = failures
      retryAt = EventLoop.now() + .milliseconds(Int64(retryMilliseconds))
    }
  }
}
