import IbexCore
import IbexRuntime

extension LiveDirectory {
  /// Creates the live directories in order (a services.d logger after its service).
  public static func create(_ directories: [LiveDirectory]) throws(ConfigError) {
    for directory in directories { try directory.create() }
  }

  /// Makes `path` a fresh real directory (whatever an earlier boot left there: a persisted
  /// /run must still boot, S6-BOOT-04) in which `run` and `finish` are copies (mode 0755, or
  /// their own mode for services.d) and every other entry is a symlink to the definition;
  /// then points `link` at it. Missing parents are created.
  public func create() throws(ConfigError) {
    do {
      try FileSystem.removeTree(path)
    } catch {
      throw ConfigError("unable to remove the old \(path): \(error.description)")
    }
    do {
      try FileSystem.makeDirectories(path)
      try FileSystem.setMode(path, 0o755)
    } catch {
      throw ConfigError("unable to create \(path): \(error.description)")
    }
    let entries: [String]
    do {
      entries = try FileSystem.list(source)
    } catch {
      throw ConfigError("unable to read \(source): \(error.description)")
    }
    for entry in entries {
      let from = source + "/" + entry
      let to = path + "/" + entry
      guard let info = FileSystem.info(from) else { continue }
      // A services.d logger has its own live directory, made next.
      if keepsModes && entry == "log" && info.isDirectory { continue }
      if (entry == "run" || entry == "finish") && info.isRegularFile {
        do {
          try FileSystem.copyFile(from, to: to, mode: keepsModes ? info.permissions : 0o755)
        } catch {
          throw ConfigError("unable to copy \(from) to \(to): \(error.description)")
        }
      } else {
        do {
          try FileSystem.makeSymbolicLink(to, to: from)
        } catch {
          throw ConfigError("unable to link \(to) to \(from): \(error.description)")
        }
      }
    }
    guard let link else { return }
    do {
      try FileSystem.removeTree(link)
      if let slash = link.utf8.lastIndex(of: 0x2F), slash != link.utf8.startIndex {
        try FileSystem.makeDirectories(String(link[..<slash]))
      }
      try FileSystem.makeSymbolicLink(link, to: path)
    } catch {
      throw ConfigError("unable to link \(link) to \(path): \(error.description)")
    }
  }
}
