import IbexCore
import IbexRuntime

/// The output of every service, from the pipes ibex holds to the sinks: the container's
/// stdout and stderr (labelled lines, or JSON lines) and rotating log directories.
///
/// Each service gets one pipe for stdout and one for stderr on its first start; ibex keeps
/// both ends for the container's life, so a restart loses nothing and the next process
/// writes where the last one stopped. Reads are non-blocking and framed into lines in place.
///
/// Backpressure without loss: a sink holds at most `highWater` bytes it could not write
/// yet. Past that, ibex stops reading the pipes of the services that write to it; they block
/// on their own writes once their pipe is full, exactly as with s6-log. Supervision and the
/// other services go on. The console is written through a private non-blocking open file
/// description, so a stalled reader of the container's stdout never blocks ibex (the main
/// command still shares the original, blocking one). A log directory that fails (disk full,
/// read-only) is retried every second, with one message when it fails and one when it
/// recovers.
public struct ServiceOutput: ~Copyable {
  /// Loop tokens: the console sinks, then two per channel.
  public static let firstToken: UInt64 = 1 << 24
  public static let lastToken: UInt64 = 1 << 25
  static let standardOutputToken = firstToken
  static let standardErrorToken = firstToken + 1
  /// Bytes a sink may hold before its writers are paused, and the level that resumes them.
  static let highWater = 1 << 20
  static let lowWater = 1 << 18
  static let retryInterval = TimeSpan.seconds(1)

  /// Container-wide defaults (`IBEX_LOG_FORMAT`, `IBEX_LOG_PREFIX`, `IBEX_LOG_TIMESTAMPS`).
  public struct Defaults: Equatable, Sendable {
    public var format: LogSettings.Format = .text
    public var prefix = true
    public var timestamps: LogSettings.Timestamps = .none
    public var warnings: [String] = []

    public init() {}

    public init(environment: [String]) {
      if let text = Environment.value(of: "IBEX_LOG_FORMAT", in: environment) {
        if let format = LogSettings.Format(rawValue: text) { self.format = format } else {
          warnings.append("IBEX_LOG_FORMAT=\(text): use text or json; using text")
        }
      }
      if let text = Environment.value(of: "IBEX_LOG_PREFIX", in: environment) {
        if let value = Boolean.parse(text) { prefix = value } else {
          warnings.append("IBEX_LOG_PREFIX=\(text): \(Boolean.accepted); using yes")
        }
      }
      if let text = Environment.value(of: "IBEX_LOG_TIMESTAMPS", in: environment) {
        if let stamps = LogSettings.Timestamps(rawValue: text) { timestamps = stamps } else {
          warnings.append("IBEX_LOG_TIMESTAMPS=\(text): use none, rfc3339 or tai64n; using none")
        }
      }
    }
  }

  private let defaults: Defaults
  private let standardOutput: Sink
  private let standardError: Sink
  private var channels: [Channel] = []
  private var directories: [String: DirectorySink] = [:]
  private var buffer = [UInt8](repeating: 0, count: 1 << 16)
  /// When failed log directories are tried again.
  public private(set) var retryDeadline: Instant?
  /// Messages for ibex's own stderr (failures and recoveries of sinks).
  public private(set) var notices: [String] = []
  /// ibex's own lines (`ibex: warning: ...`) not yet handed to the stderr sink.
  /// docs/logging.md, "ibex's own lines".
  private var ownLines = DroppingLineQueue(limit: 64 << 10)

  public init(defaults: Defaults) {
    self.defaults = defaults
    standardOutput = Sink(console: .standardOutput, token: ServiceOutput.standardOutputToken)
    standardError = Sink(console: .standardError, token: ServiceOutput.standardErrorToken)
  }

  deinit {
    for channel in channels {
      channel.read.close()
      channel.write.close()
    }
    standardOutput.closeIfPrivate()
    standardError.closeIfPrivate()
  }

  /// The write ends to give a process of `service` as its stdout and stderr, creating the
  /// pipes on first use. Nil when the service's output is not captured.
  public mutating func descriptors(for service: ServiceDefinition, loop: inout EventLoop) throws(Errno)
    -> (standardOutput: FileDescriptor, standardError: FileDescriptor)
  {
    if let out = channels.firstIndex(where: { $0.service == service.name && $0.stream == .stdout }) {
      return (channels[out].write, channels[out + 1].write)
    }
    let settings = service.log
    let style: LineFormatter.Style
    switch settings.format ?? defaults.format {
    case .text: style = .text(prefixed: settings.prefix ?? defaults.prefix)
    case .json: style = .json
    }
    func stampStyle(_ stamps: LogSettings.Timestamps) -> LineFormatter.TimestampStyle {
      switch stamps {
      case .none: return .none
      case .rfc3339: return .rfc3339
      case .tai64n: return .tai64n
      }
    }
    let stamps = stampStyle(settings.timestamps ?? defaults.timestamps)
    let fileStamps = stampStyle(settings.fileTimestamps ?? settings.timestamps ?? defaults.timestamps)
    let formatter = LineFormatter(service: service.name, style: style, timestamp: stamps)
    var directory: DirectorySink?
    if let path = settings.directory {
      directory = directories[path]
      if directory == nil {
        let parent = String(path[..<(path.utf8.lastIndex(of: UInt8(ascii: "/")) ?? path.startIndex)])
        if !parent.isEmpty { try? FileSystem.makeDirectories(parent) }
        let policy = RotationPolicy(
          maximumFileSize: settings.maxFileSize, maximumArchiveCount: settings.maxFiles,
          maximumTotalArchiveSize: settings.maxTotalSize)
        do throws(LogDirectoryError) {
          var owner: (uid: UInt32, gid: UInt32)?
          if let uid = settings.ownerUID, let gid = settings.ownerGID { owner = (uid, gid) }
          directory = DirectorySink(try RotatingLogDirectory(path: path, policy: policy, owner: owner), timestamps: fileStamps)
        } catch {
          // The service still runs; its lines go to the console until ibex is restarted.
          notices.append("\(service.name): \(error.description): its output goes to the console only")
        }
        directories[path] = directory
      }
    }
    let stdoutSink = settings.consoleOnStandardError ? standardError : standardOutput
    // Both channels or none: a failure (out of descriptors, say) undoes what was set up, so
    // the next start begins from scratch and no channel is left half-registered (issue 12).
    var created: [Channel] = []
    var watched = 0
    do throws(Errno) {
      for (stream, sink) in [(LogStream.stdout, stdoutSink), (.stderr, standardError)] {
        let pipe = try FileSystem.pipe()
        created.append(Channel(
          service: service.name, stream: stream, read: pipe.read, write: pipe.write, formatter: formatter,
          console: settings.console || directory == nil ? sink : nil, directory: directory,
          token: ServiceOutput.firstToken + 2 + UInt64(channels.count + created.count)))
      }
      for channel in created {
        try loop.watch(channel.read, token: channel.token, events: EventLoop.readable)
        watched += 1
      }
    } catch {
      for (k, channel) in created.enumerated() {
        if k < watched { loop.unwatch(channel.read) }
        channel.read.close()
        channel.write.close()
      }
      throw error
    }
    channels += created
    return (created[0].write, created[1].write)
  }

  /// Writes one of ibex's own messages (`ibex: <message>`) to the container's stderr the way
  /// services' lines go: through the private non-blocking description, whole lines only, so
  /// it never lands inside a line the sink has half written, and ibex never blocks on a
  /// stderr nobody reads. While that sink is full, own lines wait in a queue of at most
  /// `ownLimit` bytes; past it the oldest are dropped, and a line with their count comes
  /// first once stderr takes lines again.
  public mutating func emit(_ message: String, labelled: Bool = true, loop: inout EventLoop) {
    queueOwn(message, labelled: labelled)
    write(standardError, loop: &loop)
  }

  /// With `IBEX_LOG_FORMAT=json`, ibex's own lines are JSON lines too, so that one pipeline
  /// parses everything on the stream.
  private mutating func queueOwn(_ message: String, labelled: Bool = true) {
    guard defaults.format == .json else {
      ownLines.append(Array(Console.line(message, labelled: labelled).utf8))
      return
    }
    var line: [UInt8] = []
    let stamps: LineFormatter.TimestampStyle = defaults.timestamps == .tai64n ? .tai64n : .rfc3339
    LineFormatter(service: "ibex", style: .json, timestamp: stamps).appendEvent(message, at: WallTime.now(), to: &line)
    ownLines.append(line)
  }

  /// Moves queued own lines into the stderr sink while it is below its high-water mark, after
  /// a line that counts those dropped.
  private mutating func moveOwnLines() {
    let room = ServiceOutput.highWater - standardError.pendingCount
    let (dropped, lines) = ownLines.take { $0 < room }
    if dropped > 0 {
      let notice = "warning: \(dropped) of ibex's own lines were dropped (oldest first): its stderr was not being read"
      standardError.pending += Array(Console.line(notice).utf8)
    }
    for line in lines { standardError.pending += line }
  }

  /// Whether `token` is one of ours.
  public static func owns(_ token: UInt64) -> Bool { token >= firstToken && token < lastToken }

  /// Handles a loop event for one of our tokens: a pipe with data, or a console that can
  /// take more.
  public mutating func handle(token: UInt64, loop: inout EventLoop) {
    switch token {
    case ServiceOutput.standardOutputToken: write(standardOutput, loop: &loop)
    case ServiceOutput.standardErrorToken: write(standardError, loop: &loop)
    default:
      let index = Int(token - ServiceOutput.firstToken - 2)
      guard index < channels.count else { return }
      read(channels[index], loop: &loop)
    }
  }

  /// Reads what `service` left in its pipes and writes out its unfinished last lines (the
  /// process ended: nothing more of that line will come).
  public mutating func processEnded(service: String, loop: inout EventLoop) {
    for channel in channels where channel.service == service {
      read(channel, loop: &loop, untilEmpty: true)
      channel.framer.finish { line in ServiceOutput.route(line, from: channel, at: WallTime.now()) }
      flush(channel, loop: &loop)
    }
  }

  /// Tries failed log directories again (call at `retryDeadline`).
  public mutating func retry(loop: inout EventLoop) {
    retryDeadline = nil
    for (_, directory) in directories where directory.failed { flush(directory, loop: &loop) }
  }

  /// Takes the messages collected since the last call.
  public mutating func takeNotices() -> [String] {
    defer { notices = [] }
    return notices
  }

  /// Reads everything left, finishes every partial line and writes it all out, blocking
  /// for at most `patience` on a stalled console. Called once, when ibex exits.
  public mutating func close(patience: TimeSpan) {
    let end = EventLoop.now() + patience
    for channel in channels {
      readAll(channel)
      channel.framer.finish { line in ServiceOutput.route(line, from: channel, at: WallTime.now()) }
    }
    for (_, directory) in directories {
      if let error = directory.log.flushAndClose() { notices.append(error.description) }
    }
    for notice in takeNotices() { queueOwn("warning: " + notice) }
    for sink in [standardOutput, standardError] {
      while (sink.pendingCount > 0 || (sink === standardError && !ownLines.isEmpty)) && EventLoop.now() < end {
        if sink === standardError { moveOwnLines() }
        if !sink.writeSome() { ThisProcess.sleep(milliseconds: 10) }
      }
    }
  }

  // MARK: - Reading

  private mutating func read(_ channel: Channel, loop: inout EventLoop, untilEmpty: Bool = false) {
    // A few reads per wake-up: fair to the other pipes, and few wake-ups for a chatty one.
    var reads = 0
    while untilEmpty || reads < 4 {
      reads += 1
      let n = buffer.withUnsafeMutableBytes { bytes -> Int in (try? channel.read.read(into: bytes)) ?? 0 }
      guard n > 0 else { break }
      let time = WallTime.now()
      buffer.withUnsafeBytes { bytes in
        channel.framer.push(UnsafeRawBufferPointer(rebasing: bytes[0..<n])) { line in ServiceOutput.route(line, from: channel, at: time) }
      }
      if channel.isBlocked { break }
    }
    flush(channel, loop: &loop)
  }

  /// Reads until the pipe is empty, ignoring backpressure (only when ibex exits).
  private mutating func readAll(_ channel: Channel) {
    while true {
      let n = buffer.withUnsafeMutableBytes { bytes -> Int in (try? channel.read.read(into: bytes)) ?? 0 }
      guard n > 0 else { return }
      let time = WallTime.now()
      buffer.withUnsafeBytes { bytes in
        channel.framer.push(UnsafeRawBufferPointer(rebasing: bytes[0..<n])) { line in ServiceOutput.route(line, from: channel, at: time) }
      }
    }
  }

  private static func route(_ line: FramedLine, from channel: Channel, at time: WallTime) {
    if let sink = channel.console { channel.formatter.append(line, stream: channel.stream, at: time, to: &sink.pending) }
    channel.directory?.append(line, at: time)
  }

  // MARK: - Writing and backpressure

  /// Writes what the channel's sinks hold, and pauses the channel while one of them is full.
  private mutating func flush(_ channel: Channel, loop: inout EventLoop) {
    if let sink = channel.console { write(sink, loop: &loop) }
    if let directory = channel.directory, !directory.failed { flush(directory, loop: &loop) }
    updatePause(channel, loop: &loop)
  }

  private mutating func write(_ sink: Sink, loop: inout EventLoop) {
    if sink === standardError && !ownLines.isEmpty { moveOwnLines() }
    _ = sink.writeSome()
    if sink === standardError && !ownLines.isEmpty {
      moveOwnLines()
      _ = sink.writeSome()
    }
    let waiting = sink.pendingCount > 0 || (sink === standardError && !ownLines.isEmpty)
    if waiting != sink.watching {
      // Wait for the console to take more only while something is waiting for it.
      if waiting { try? loop.watch(sink.fd, token: sink.token, events: EventLoop.writable) } else { loop.unwatch(sink.fd) }
      sink.watching = waiting
    }
    if sink.pendingCount <= ServiceOutput.lowWater { resumeWriters(loop: &loop) }
  }

  private mutating func flush(_ directory: DirectorySink, loop: inout EventLoop) {
    if let error = directory.flush() {
      if !directory.failed { notices.append("\(error.description): keeping the lines and retrying every second") }
      directory.failed = true
      retryDeadline = retryDeadline ?? EventLoop.now() + ServiceOutput.retryInterval
    } else if directory.failed {
      directory.failed = false
      notices.append("\(directory.log.path): writing again")
      resumeWriters(loop: &loop)
    }
  }

  private func updatePause(_ channel: Channel, loop: inout EventLoop) {
    let blocked = channel.isBlocked
    guard blocked != channel.paused else { return }
    if blocked { loop.unwatch(channel.read) } else { try? loop.watch(channel.read, token: channel.token, events: EventLoop.readable) }
    channel.paused = blocked
  }

  private mutating func resumeWriters(loop: inout EventLoop) {
    for channel in channels where channel.paused && !channel.isBlocked {
      updatePause(channel, loop: &loop)
      // Level-triggered: data already in its pipe wakes the loop again.
    }
  }
}

/// One stream (stdout or stderr) of one service.
final class Channel {
  let service: String
  let stream: LogStream
  let read: FileDescriptor
  let write: FileDescriptor
  let formatter: LineFormatter
  let console: Sink?
  let directory: DirectorySink?
  let token: UInt64
  var framer = LineFramer()
  var paused = false

  init(
    service: String, stream: LogStream, read: FileDescriptor, write: FileDescriptor, formatter: LineFormatter,
    console: Sink?, directory: DirectorySink?, token: UInt64
  ) {
    self.service = service
    self.stream = stream
    self.read = read
    self.write = write
    self.formatter = formatter
    self.console = console
    self.directory = directory
    self.token = token
  }

  /// A sink it writes to is full (or failing): stop reading its pipe.
  var isBlocked: Bool {
    (console.map { $0.pendingCount > ServiceOutput.highWater } ?? false)
      || (directory.map { $0.failed || $0.log.pendingByteCount > ServiceOutput.highWater } ?? false)
  }
}

/// The container's stdout or stderr, with the bytes it has not taken yet.
final class Sink {
  let fd: FileDescriptor
  let token: UInt64
  /// Whether `fd` is ibex's own open file description (closed at the end).
  private let isPrivate: Bool
  var pending: [UInt8] = []
  private var written = 0
  var watching = false

  init(console: FileDescriptor, token: UInt64) {
    self.token = token
    // A pipe or terminal is reopened: a private, non-blocking open file description, so ibex
    // never blocks on it while the fd the main command inherits stays as it was. Files and
    // /dev/null never block, so they are shared as they are (a second description would
    // write at its own offset); a socket cannot be reopened (ibex then writes to the shared
    // fd, which may block).
    let path = "/proc/self/fd/\(console.rawValue)"
    let type = (FileSystem.info(path)?.mode ?? 0) & 0o170000
    let reopen = type == 0o010000 || (type == 0o020000 && console.isTerminal)  // FIFO, terminal
    if reopen, let reopened = try? FileSystem.open(path, flags: 0o1 | 0o4000) {  // O_WRONLY|O_NONBLOCK
      fd = reopened
      isPrivate = true
    } else {
      fd = console
      isPrivate = false
    }
  }

  var pendingCount: Int { pending.count - written }

  /// Writes as much as the console takes now; returns whether anything was written.
  func writeSome() -> Bool {
    guard pendingCount > 0 else { return false }
    var progress = false
    while written < pending.count {
      let result = pending.withUnsafeBytes { bytes -> Int? in try? fd.writeSome(UnsafeRawBufferPointer(rebasing: bytes[written...])) }
      guard let count = result, count > 0 else { break }  // EAGAIN (or a dead reader): later
      written += count
      progress = true
    }
    if written == pending.count {
      pending.removeAll(keepingCapacity: pending.capacity <= 4 << 20)
      written = 0
    }
    return progress
  }

  func closeIfPrivate() { if isPrivate { fd.close() } }
}

/// A rotating log directory shared by a service's stdout and stderr.
final class DirectorySink {
  let log: RotatingLogDirectory
  let timestamps: LineFormatter.TimestampStyle
  var failed = false
  private var stamp: [UInt8] = []

  init(_ log: RotatingLogDirectory, timestamps: LineFormatter.TimestampStyle) {
    self.log = log
    self.timestamps = timestamps
  }

  /// Buffers the line as it was written (bytes untouched), after a timestamp if asked.
  func append(_ line: FramedLine, at time: WallTime) {
    stamp.removeAll(keepingCapacity: true)
    switch timestamps {
    case .none: break
    case .rfc3339: Timestamp.appendRFC3339(time, to: &stamp)
    case .tai64n: Timestamp.appendTAI64N(time, to: &stamp)
    }
    if !stamp.isEmpty { stamp.append(0x20) }
    let newline: [UInt8] = [0x0a]
    stamp.withUnsafeBytes { prefix in newline.withUnsafeBytes { log.append(prefix, line.bytes, $0) } }
  }

  func flush() -> LogDirectoryError? {
    do throws(LogDirectoryError) {
      try log.flush()
      return nil
    } catch {
      return error
    }
  }
}

extension RotatingLogDirectory {
  /// Flushes and closes; returns the error, if any.
  func flushAndClose() -> LogDirectoryError? {
    do throws(LogDirectoryError) {
      try close()
      return nil
    } catch {
      return error
    }
  }
}
