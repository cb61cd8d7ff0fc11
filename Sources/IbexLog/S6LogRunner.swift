import IbexRuntime

/// Runs an `S6LogScript` over lines: selects them, stamps and prefixes them, and hands them to
/// log directories, stdout, stderr alerts and status files.
///
/// Lines are only buffered by `process`; `flush` writes the directories and stdout, so a
/// whole read's worth of lines leaves in a few large writes.
public final class S6LogRunner {
  private struct CompiledSelection {
    var selection: S6LogScript.Selection
    var expression: RegularExpression?
  }

  private struct CompiledElement {
    var selections: [CompiledSelection]
    var actions: [S6LogScript.Action]
    /// For each action, its index in `directories` (or -1).
    var directoryIndices: [Int]
  }

  private let elements: [CompiledElement]
  public let directories: [RotatingLogDirectory]
  private var standardOutput: [UInt8] = []
  private var standardOutputClosed = false
  private var stampTime: WallTime?
  private var tai64nStamp: [UInt8] = []
  private var humanStamp: [UInt8] = []
  private var scratch: [UInt8] = []

  /// Compiles the script's expressions and opens its directories.
  public init(script: S6LogScript) throws(S6LogScriptError) {
    var directories: [RotatingLogDirectory] = []
    var elements: [CompiledElement] = []
    for element in script.elements {
      var selections: [CompiledSelection] = []
      for selection in element.selections {
        switch selection {
        case .select(let pattern), .deselect(let pattern):
          do {
            selections.append(CompiledSelection(selection: selection, expression: try RegularExpression(pattern)))
          } catch {
            let sign = if case .select = selection { "+" } else { "-" }
            throw S6LogScriptError("invalid regular expression in directive \(sign)\(pattern): \(error.message)")
          }
        case .unhandled:
          selections.append(CompiledSelection(selection: selection, expression: nil))
        }
      }
      var indices: [Int] = []
      for action in element.actions {
        guard case .directory(let path) = action.destination else {
          indices.append(-1)
          continue
        }
        do {
          directories.append(try RotatingLogDirectory(path: path, policy: action.rotation))
        } catch {
          throw S6LogScriptError(error.description)
        }
        indices.append(directories.count - 1)
      }
      elements.append(CompiledElement(selections: selections, actions: element.actions, directoryIndices: indices))
    }
    self.elements = elements
    self.directories = directories
  }

  /// Bytes buffered for directories and stdout.
  public var pendingByteCount: Int {
    directories.reduce(standardOutput.count) { $0 + $1.pendingByteCount }
  }

  /// Runs the script on one line; `time` is the arrival time, for stamps.
  public func process(_ line: FramedLine, at time: WallTime) {
    var selected = true
    var acted = false
    for element in elements {
      for compiled in element.selections {
        switch compiled.selection {
        case .unhandled: selected = !acted
        case .select: if !selected && compiled.expression!.matches(line.bytes) { selected = true }
        case .deselect: if selected && compiled.expression!.matches(line.bytes) { selected = false }
        }
      }
      guard selected else { continue }
      acted = true
      for (action, directory) in zip(element.actions, element.directoryIndices) {
        perform(action, directory: directory, line: line.bytes, at: time)
      }
    }
  }

  private func perform(_ action: S6LogScript.Action, directory: Int, line: UnsafeRawBufferPointer, at time: WallTime) {
    if action.tai64n || action.humanReadable { updateStamps(time) }
    // The line's head: stamps and prefix, in s6-log's order.
    scratch.removeAll(keepingCapacity: true)
    if action.tai64n {
      scratch.append(contentsOf: tai64nStamp)
      scratch.append(0x20)
    }
    if action.humanReadable {
      scratch.append(contentsOf: humanStamp)
      scratch.append(contentsOf: [0x20, 0x20])
    }
    if let prefix = action.prefix {
      scratch.append(contentsOf: prefix.utf8)
      scratch.append(0x20)
    }
    let newline: [UInt8] = [0x0a]
    switch action.destination {
    case .directory:
      scratch.withUnsafeBytes { head in
        newline.withUnsafeBytes { directories[directory].append(head, line, $0) }
      }
    case .standardOutput:
      if standardOutputClosed { return }
      standardOutput.append(contentsOf: scratch)
      standardOutput.append(contentsOf: line)
      standardOutput.append(0x0a)
    case .standardError:
      var alert = Array("s6-log: alert: ".utf8) + scratch
      if action.alertSize > 0 && action.alertSize + 3 < line.count {
        alert.append(contentsOf: UnsafeRawBufferPointer(rebasing: line[..<action.alertSize]))
        alert.append(contentsOf: "...".utf8)
      } else {
        alert.append(contentsOf: line)
      }
      alert.append(0x0a)
      alert.withUnsafeBytes { try? FileDescriptor.standardError.writeAll($0) }
    case .statusFile(let path):
      var content = scratch
      content.append(contentsOf: line)
      if action.statusSize > 0 {
        if content.count > action.statusSize { content.removeLast(content.count - action.statusSize) }
        content.append(contentsOf: [UInt8](repeating: 0x0a, count: action.statusSize - content.count))
      } else {
        content.append(0x0a)
      }
      writeStatus(content, to: path)
    }
  }

  private func updateStamps(_ time: WallTime) {
    if stampTime == time { return }
    stampTime = time
    tai64nStamp.removeAll(keepingCapacity: true)
    humanStamp.removeAll(keepingCapacity: true)
    Timestamp.appendTAI64N(time, to: &tai64nStamp)
    Timestamp.appendHumanReadable(time, to: &humanStamp)
  }

  /// Replaces the status file atomically (write `path.new`, then rename), as s6-log does.
  private func writeStatus(_ content: [UInt8], to path: String) {
    let temporary = path + ".new"
    FileSystem.remove(temporary)
    do throws(Errno) {
      let fd = try LogFiles.openAppend(temporary, mode: 0o644)
      defer { fd.close() }
      var failure: Errno?
      content.withUnsafeBytes { bytes in
        do throws(Errno) { try fd.writeAll(bytes) } catch { failure = error }
      }
      if let failure { throw failure }
      try LogFiles.rename(temporary, to: path)
    } catch {
      S6LogRunner.warn("unable to write status file \(path): \(error.description)")
    }
  }

  /// `s6-log: warning: <message>` on stderr, in one write.
  public static func warn(_ message: String) {
    try? FileDescriptor.standardError.writeAll("s6-log: warning: " + message + "\n")
  }

  /// Rotates every directory after what it has buffered (SIGALRM).
  public func rotateAll() {
    for directory in directories { directory.requestRotation() }
  }

  /// Writes what is buffered. Returns the directories' failures (their data is kept for the
  /// next call). A failure on stdout closes that stream for good, with a warning, as s6-log does.
  public func flush() -> [LogDirectoryError] {
    if !standardOutput.isEmpty {
      var failure: Errno?
      standardOutput.withUnsafeBytes { bytes in
        do throws(Errno) { try FileDescriptor.standardOutput.writeAll(bytes) } catch { failure = error }
      }
      standardOutput.removeAll(keepingCapacity: true)
      if let failure {
        S6LogRunner.warn("unable to write to stdout, closing the stream: \(failure.description)")
        standardOutputClosed = true
      }
    }
    var failures: [LogDirectoryError] = []
    for directory in directories {
      do { try directory.flush() } catch { failures.append(error) }
    }
    return failures
  }

  /// Flushes, syncs and marks every `current` closed cleanly; returns the failures.
  public func close() -> [LogDirectoryError] {
    var failures = flush()
    if !failures.isEmpty { return failures }
    for directory in directories {
      do { try directory.close() } catch { failures.append(error) }
    }
    return failures
  }
}
