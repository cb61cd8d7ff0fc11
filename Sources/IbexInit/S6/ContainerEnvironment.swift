import IbexCore
import IbexRuntime

/// The container environment snapshot, `/run/s6/container_environment/NAME` (one file per
/// variable, holding its value), as `with-contenv` and `printcontenv` read it.
public enum ContainerEnvironment {
  /// The directory of the snapshot under `root` (`$IBEX_ROOT`, empty in a container).
  public static func directory(root: String) -> String { root + "/run/s6/container_environment" }

  /// A file's value: the whole file minus one trailing newline (no size cap), a NUL byte
  /// read as a newline; nil for an empty file, which means "unset".
  public static func value(ofFile contents: [UInt8]) -> String? {
    if contents.isEmpty { return nil }
    var bytes = contents
    if bytes.last == 0x0a { bytes.removeLast() }
    for i in bytes.indices where bytes[i] == 0 { bytes[i] = 0x0a }
    return String(decoding: bytes, as: UTF8.self)
  }

  /// Whether a file name in the snapshot is a variable: not a dotfile, no `=`, not empty.
  public static func isVariableName(_ name: String) -> Bool {
    !name.isEmpty && !name.hasPrefix(".") && !name.contains("=")
  }

  /// The environment `with-contenv` gives its program: PATH from `current`, then every
  /// variable of the snapshot in `files` (name and contents; nil contents for what is not a
  /// regular file, which is skipped). An empty file unsets its variable; the snapshot's PATH
  /// replaces the current one.
  public static func environment(current: [String], files: [(name: String, contents: [UInt8]?)]) -> [String] {
    var result: [String] = []
    if let path = Environment.value(of: "PATH", in: current) { result.append("PATH=" + path) }
    for file in files where isVariableName(file.name) {
      guard let contents = file.contents else { continue }
      result.removeAll { $0.hasPrefix(file.name + "=") }
      if let value = value(ofFile: contents) { result.append(file.name + "=" + value) }
    }
    return result
  }

  /// A variable of the snapshot under `root`; nil when it is not there or cannot be read.
  public static func snapshotValue(_ name: String, root: String) -> String? {
    guard isVariableName(name), !name.contains("/") else { return nil }
    return (try? FileSystem.read(directory(root: root) + "/" + name, limit: Int.max)).flatMap { value(ofFile: $0) }
  }

  /// Whether `S6_KEEP_ENV` asks for the live environment: set, and neither empty nor `0`.
  public static func keepsEnvironment(_ environment: [String]) -> Bool {
    guard let value = Environment.value(of: "S6_KEEP_ENV", in: environment) else { return false }
    return !value.isEmpty && value != "0"
  }
}

/// `with-contenv` and `printcontenv`.
enum ContainerEnvironmentCommands {
  static func withContenv(_ tool: S6Tool, _ arguments: [String]) -> Int32 {
    guard !arguments.isEmpty else { return tool.usageFailure("no program given") }
    if ContainerEnvironment.keepsEnvironment(tool.environment) {
      return tool.exec(arguments, environment: tool.environment)
    }
    let directory = ContainerEnvironment.directory(root: tool.root)
    let names: [String]
    do {
      names = try FileSystem.list(directory)
    } catch {
      return tool.fatal("unable to read the container environment \(directory): \(error.description)", 111)
    }
    var files: [(name: String, contents: [UInt8]?)] = []
    for name in names where ContainerEnvironment.isVariableName(name) {
      let path = directory + "/" + name
      guard FileSystem.info(path)?.isRegularFile == true else { continue }
      do {
        files.append((name, try FileSystem.read(path, limit: Int.max)))
      } catch let error where error == .permissionDenied {
        continue  // a secret (from X_FILE), for root only
      } catch {
        return tool.fatal("unable to read \(path): \(error.description)", 111)
      }
    }
    return tool.exec(arguments, environment: ContainerEnvironment.environment(current: tool.environment, files: files))
  }

  static func printcontenv(_ tool: S6Tool, _ arguments: [String]) -> Int32 {
    guard arguments.count == 1 else { return tool.usageFailure(arguments.isEmpty ? "no variable name given" : "one variable name only") }
    let name = arguments[0]
    let value: String?
    if ContainerEnvironment.keepsEnvironment(tool.environment) {
      value = tool.value(name).flatMap { $0.isEmpty ? nil : $0 }
    } else {
      guard ContainerEnvironment.isVariableName(name), !name.contains("/") else { return 1 }
      let path = ContainerEnvironment.directory(root: tool.root) + "/" + name
      do {
        value = ContainerEnvironment.value(ofFile: try FileSystem.read(path, limit: Int.max))
      } catch {
        if error == .noSuchFileOrDirectory || error.rawValue == 20 { return 1 }
        return tool.fatal("unable to read \(path): \(error.description)", 111)
      }
    }
    guard let value else { return 1 }
    do {
      try FileDescriptor.standardOutput.writeAll(value + "\n")
    } catch {
      return tool.fatal("unable to write to stdout: \(error.description)", 111)
    }
    return 0
  }
}
