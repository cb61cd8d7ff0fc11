import CIbex
import Glibc
import IbexCore
import IbexRuntime
import Testing

@Suite("The pure model agrees with the C headers")
struct ShimTests {
  @Test("signal numbers match signal.h")
  func signalNumbers() {
    let pairs: [(Signal, Int32)] = [
      (.hangup, SIGHUP), (.interrupt, SIGINT), (.quit, SIGQUIT), (.abort, SIGABRT), (.kill, SIGKILL),
      (.user1, SIGUSR1), (.user2, SIGUSR2), (.pipe, SIGPIPE), (.alarm, SIGALRM), (.terminate, SIGTERM),
      (.child, SIGCHLD), (.continue, SIGCONT), (.stop, SIGSTOP), (.terminalStop, SIGTSTP),
      (.terminalInput, SIGTTIN), (.terminalOutput, SIGTTOU), (.windowChange, SIGWINCH),
    ]
    for (signal, number) in pairs { #expect(signal.rawValue == number, "\(signal.name)") }
    #expect(Signal.realtimeMinimum == __libc_current_sigrtmin())
    #expect(Signal.realtimeMaximum == ibex_SIGNAL_MAX - 1)
    #expect(Signal(parsing: "SEGV")?.rawValue == SIGSEGV)
    #expect(Signal(parsing: "WINCH")?.rawValue == SIGWINCH)
    #expect(Signal(parsing: "SYS")?.rawValue == SIGSYS)
  }

  @Test("the wait-status decoder agrees with the W* macros on every exit and signal status")
  func waitStatusMatchesMacros() {
    var statuses: [Int32] = []
    for code: Int32 in 0...255 { statuses.append(code << 8) }
    for signal: Int32 in 1...64 where signal != 0x7f {
      statuses.append(signal)
      statuses.append(signal | 0x80)
    }
    for status in statuses {
      let exit = ProcessExit(waitStatus: status)
      if ibex_wifexited(status) != 0 {
        #expect(exit == .exited(code: ibex_wexitstatus(status)))
      } else if ibex_wifsignaled(status) != 0 {
        #expect(exit == .signaled(Signal(rawValue: ibex_wtermsig(status)), coreDumped: ibex_wcoredump(status) != 0))
      } else {
        #expect(exit == nil)
      }
    }
  }

  @Test("Errno names match errno.h and describe themselves with strerror")
  func errnoValues() {
    #expect(Errno.noSuchFileOrDirectory.rawValue == ENOENT)
    #expect(Errno.permissionDenied.rawValue == EACCES)
    #expect(Errno.noSuchProcess.rawValue == ESRCH)
    #expect(Errno.wouldBlock.rawValue == EAGAIN)
    #expect(Errno.noChildProcess.rawValue == ECHILD)
    #expect(Errno.execFormatError.rawValue == ENOEXEC)
    #expect(Errno.invalidArgument.description == "Invalid argument")
  }
}

@Suite("Event loop")
struct EventLoopTests {
  @Test("a deadline fires once, at or after its time")
  func deadline() throws {
    var loop = try EventLoop(handling: SignalSet())
    let start = EventLoop.now()
    loop.arm(at: start + .milliseconds(20))
    var events: [LoopEvent] = []
    loop.wait(into: &events)
    #expect(EventLoop.now() >= start + .milliseconds(20))
    guard case .deadline = events.first else {
      Issue.record("expected a deadline, got \(events.count) other events")
      return
    }
  }

  @Test(
    "a blocked signal arrives with its sender, through sigtimedwait or (with fds watched) the signalfd",
    arguments: [false, true])
  func signal(watchingDescriptor: Bool) throws {
    var set = SignalSet()
    set.insert(.user1)
    var block = sigset_t()
    sigemptyset(&block)
    sigaddset(&block, SIGUSR1)
    var old = sigset_t()
    pthread_sigmask(SIG_BLOCK, &block, &old)
    defer { pthread_sigmask(SIG_SETMASK, &old, nil) }
    var loop = try EventLoop(handling: set)
    let pipe = try FileSystem.pipe()
    defer {
      pipe.read.close()
      pipe.write.close()
    }
    if watchingDescriptor { try loop.watch(pipe.read, token: loop.makeToken(), events: EventLoop.readable) }
    raise(SIGUSR1)  // directed at this thread, where it is blocked
    var events: [LoopEvent] = []
    loop.wait(into: &events)
    guard case .signal(let signal, let sender) = events.first else {
      Issue.record("expected a signal")
      return
    }
    #expect(signal == .user1)
    #expect(sender == getpid())
  }

  @Test("a deadline also fires while descriptors are watched")
  func deadlineWithDescriptors() throws {
    var loop = try EventLoop(handling: SignalSet())
    let pipe = try FileSystem.pipe()
    defer {
      pipe.read.close()
      pipe.write.close()
    }
    try loop.watch(pipe.read, token: loop.makeToken(), events: EventLoop.readable)
    let start = EventLoop.now()
    loop.arm(at: start + .milliseconds(20))
    var events: [LoopEvent] = []
    loop.wait(into: &events)
    #expect(EventLoop.now() >= start + .milliseconds(20))
    guard case .deadline = events.first else {
      Issue.record("expected a deadline")
      return
    }
  }

  @Test("a watched pipe reports readiness with its token")
  func watchedDescriptor() throws {
    var loop = try EventLoop(handling: SignalSet())
    let pipe = try FileSystem.pipe()
    defer {
      pipe.read.close()
      pipe.write.close()
    }
    let watched = loop.makeToken()
    try loop.watch(pipe.read, token: watched, events: EventLoop.readable)
    try pipe.write.writeAll("x")
    var events: [LoopEvent] = []
    loop.wait(into: &events)
    guard case .ready(let token, _) = events.first else {
      Issue.record("expected readiness")
      return
    }
    #expect(token == watched)
  }
}
