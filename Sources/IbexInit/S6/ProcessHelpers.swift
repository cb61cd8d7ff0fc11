import IbexCore
import IbexRuntime

/// `with-retries [-n 3] [-t 500] PROG...`: runs PROG up to n times, each attempt limited to t
/// milliseconds (killed with SIGKILL when it runs longer; 0: no limit), until one exits 0.
/// Exits with the last attempt's code.
enum WithRetries {
  struct Options: Equatable {
    var attempts = 3
    var milliseconds = 500
    var programIndex = 0
  }

  static func parse(_ words: [String]) throws(S6UsageError) -> Options {
    var result = Options()
    var options = ShortOptions(words, flags: "", values: "nt")
    while let (letter, value) = try options.next() {
      let number = try parseNumber(value!, option: letter)
      if letter == "n" { result.attempts = max(number, 1) } else { result.milliseconds = number }
    }
    guard options.index < words.count else { throw S6UsageError("no program given") }
    result.programIndex = options.index
    return result
  }

  static func main(_ tool: S6Tool, _ arguments: [String]) -> Int32 {
    let options: Options
    do {
      options = try parse(arguments)
    } catch {
      return tool.usageFailure(error.message)
    }
    let program = Array(arguments[options.programIndex...])
    var code: Int32 = 0
    for _ in 0..<options.attempts {
      let pid: Int32
      do {
        pid = try S6System.spawnPlain(program, environment: tool.environment)
      } catch {
        return tool.fatal(error.description, error.exitCode)
      }
      if let exit = S6System.wait(for: pid, milliseconds: options.milliseconds == 0 ? nil : options.milliseconds) {
        code = exit.shellExitCode
      } else {
        try? Reaper.send(.kill, to: pid)
        code = ((try? Reaper.wait(for: pid)) ?? nil)?.shellExitCode ?? 137
      }
      if code == 0 { return 0 }
    }
    return code
  }
}

/// `s6-notifyoncheck`: forks a checker, then execs PROG in the parent (PROG keeps the pid the
/// supervisor knows). The checker polls `./data/check` (or `sh -c CMD` with `-c`) and writes a
/// newline to the notification fd on the first success.
enum NotifyOnCheck {
  struct Options: Equatable {
    var doubleFork = false
    var fd: Int32?
    var initialSleep = 10
    var globalTimeout = 0
    var localTimeout = 0
    var waitingTime = 1000
    var attempts = 7
    var command: String?
    var programIndex = 0
  }

  static func parse(_ words: [String]) throws(S6UsageError) -> Options {
    var result = Options()
    var options = ShortOptions(words, flags: "d", values: "3sTtwnc")
    while let (letter, value) = try options.next() {
      switch letter {
      case "d": result.doubleFork = true
      case "c": result.command = value!
      case "3":
        let fd = try parseNumber(value!, option: letter)
        guard fd > 2 && fd < 65536 else { throw S6UsageError("the notification fd must be 3 or more") }
        result.fd = Int32(fd)
      case "s": result.initialSleep = try parseNumber(value!, option: letter)
      case "T": result.globalTimeout = try parseNumber(value!, option: letter)
      case "t": result.localTimeout = try parseNumber(value!, option: letter)
      case "w": result.waitingTime = try parseNumber(value!, option: letter)
      default: result.attempts = try parseNumber(value!, option: letter)
      }
    }
    guard options.index < words.count else { throw S6UsageError("no program given") }
    result.programIndex = options.index
    return result
  }

  /// The number in a `notification-fd` file (surrounding whitespace allowed).
  static func parseNotificationFD(_ text: String) -> Int32? {
    var trimmed = Substring(text)
    while let c = trimmed.last, c == "\n" || c == " " || c == "\t" || c == "\r" { trimmed = trimmed.dropLast() }
    while let c = trimmed.first, c == " " || c == "\t" { trimmed = trimmed.dropFirst() }
    guard let fd = Int32(trimmed), fd > 2 else { return nil }
    return fd
  }

  static func main(_ tool: S6Tool, _ arguments: [String]) -> Int32 {
    let options: Options
    do {
      options = try parse(arguments)
    } catch {
      return tool.usageFailure(error.message)
    }
    var fd = options.fd
    if fd == nil {
      let text: String
      do {
        text = try FileSystem.readText("notification-fd")
      } catch {
        return tool.fatal("unable to read ./notification-fd: \(error.description) (give the fd with -3)", 111)
      }
      guard let number = parseNotificationFD(text) else {
        return tool.fatal("./notification-fd does not hold a descriptor number of 3 or more", 100)
      }
      fd = number
    }
    let notification = FileDescriptor(rawValue: fd!)
    guard S6System.isOpen(notification.rawValue) else {
      return tool.fatal("the notification fd \(notification.rawValue) is not open", 111)
    }
    let program = Array(arguments[options.programIndex...])
    let parent = Reaper.ownPID
    let child: Int32
    do {
      child = try S6System.fork()
    } catch {
      return tool.fatal("unable to fork: \(error.description)", 111)
    }
    if child == 0 {
      if options.doubleFork {
        // The middle process ends at once; the checker is adopted by the reaper of the tree.
        guard let grandchild = try? S6System.fork() else { ThisProcess.exit(111) }
        if grandchild != 0 { ThisProcess.exit(0) }
      }
      ThisProcess.exit(check(options, notification: notification, program: parent, tool: tool))
    }
    if options.doubleFork { _ = try? Reaper.wait(for: child) }
    // Only the checker holds the notification fd: if it ends without success, the
    // supervisor sees the pipe close instead of waiting forever.
    notification.close()
    return tool.exec(program, environment: tool.environment)
  }

  /// The checker: 0 ready (notified), 1 out of attempts, 2 PROG died, 3 timed out, 111 error.
  static func check(_ options: Options, notification: FileDescriptor, program: Int32, tool: S6Tool) -> Int32 {
    let start = EventLoop.now()
    let deadline = options.globalTimeout == 0 ? nil : start + .milliseconds(Int64(options.globalTimeout))
    func remaining() -> Int? {
      guard let deadline else { return nil }
      return max(Int((deadline - EventLoop.now()).nanoseconds / 1_000_000), 0)
    }
    func sleep(_ milliseconds: Int) {
      let span = min(milliseconds, remaining() ?? milliseconds)
      if span > 0 { ThisProcess.sleep(milliseconds: span) }
    }
    func programIsAlive() -> Bool {
      (try? Reaper.send(Signal(rawValue: 0), to: program)) != nil
    }
    let command = options.command.map { ["/bin/sh", "-c", $0] } ?? ["./data/check"]
    var attempt = 0
    sleep(options.initialSleep)
    while true {
      if !programIsAlive() { return 2 }
      if remaining() == 0 { return 3 }
      attempt += 1
      var limit = options.localTimeout == 0 ? nil : options.localTimeout
      if let left = remaining() { limit = min(limit ?? left, left) }
      do {
        let pid = try S6System.spawnPlain(command, environment: tool.environment)
        if let exit = S6System.wait(for: pid, milliseconds: limit) {
          if exit == .exited(code: 0) {
            return (try? notification.writeAll("\n")) == nil ? 111 : 0
          }
        } else {
          try? Reaper.send(.kill, to: pid)
          _ = try? Reaper.wait(for: pid)
        }
      } catch {
        tool.warning(error.description)
      }
      if options.attempts != 0 && attempt >= options.attempts { return 1 }
      sleep(options.waitingTime)
    }
  }
}
