import IbexConfig
import IbexCore
import IbexRuntime

/// `logutil-service` and `logutil-newfifo`: s6-overlay's helpers for a service's logger.
enum LogUtilities {
  static let defaultScript = "n20 s1000000 T"

  /// The argv `logutil-service` runs: `s6-log -b <script words> LOGDIR`.
  static func loggerArguments(script: String?, logDirectory: String) -> [String] {
    let words = (script ?? defaultScript).split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\n" }).map(String.init)
    return ["s6-log", "-b"] + words + [logDirectory]
  }

  static func service(_ tool: S6Tool, _ arguments: [String]) -> Int32 {
    var fifo: String?
    var options = ShortOptions(arguments, flags: "", values: "f")
    do throws(S6UsageError) {
      while let (_, value) = try options.next() { fifo = value }
    } catch {
      return tool.usageFailure(error.message)
    }
    guard let logDirectory = options.operands.first else {
      return tool.fatal("no log directory given (usage: \(tool.usage))", 1)
    }
    let binary: String
    do {
      binary = try FileSystem.linkTarget("/proc/self/exe")
    } catch {
      return tool.fatal("unable to find the ibex binary (/proc/self/exe): \(error.description)", 111)
    }
    if let fifo {
      do {
        try S6System.openAsStandardInput(fifo)
      } catch {
        return tool.fatal("unable to open \(fifo) for reading: \(error.description)", 111)
      }
    }
    // Services get only PATH: the script comes from the container's environment snapshot.
    let script = tool.value("S6_LOGGING_SCRIPT") ?? ContainerEnvironment.snapshotValue("S6_LOGGING_SCRIPT", root: tool.root)
    let argv = loggerArguments(script: script, logDirectory: logDirectory)
    if ThisProcess.effectiveUID == 0 {
      let nobody = AccountCredentials.resolve("nobody", in: AccountCommands.database())
        ?? AccountCredentials(uid: 65534, gid: 65534, groups: [])
      if let failure = AccountCommands.apply(tool, groups: nobody.groups, gid: nobody.gid, uid: nobody.uid) { return failure }
    }
    let error = S6System.exec([binary] + argv.dropFirst(), environment: [], argv0: argv[0])
    return tool.fatal("unable to exec \(binary) as s6-log: \(error.description)", error == .noSuchFileOrDirectory ? 127 : 126)
  }

  static func newfifo(_ tool: S6Tool, _ arguments: [String]) -> Int32 {
    tool.warning("logutil-newfifo is deprecated: let the logger read its service's output directly")
    var mode: UInt32 = 0o600
    var owner: String?
    var options = ShortOptions(arguments, flags: "", values: "mo")
    do throws(S6UsageError) {
      while let (letter, value) = try options.next() {
        if letter == "m" {
          guard let parsed = UInt32(value!, radix: 8), parsed <= 0o7777 else { throw S6UsageError("-m needs an octal mode") }
          mode = parsed
        } else {
          owner = value!
        }
      }
    } catch {
      return tool.usageFailure(error.message)
    }
    guard options.operands.count == 1 else { return tool.usageFailure("one path needed") }
    let path = options.operands[0]
    var ids: (uid: UInt32, gid: UInt32)?
    if let owner {
      let database = AccountCommands.database()
      let parts = owner.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
      guard let account = database.account(parts[0]) else { return tool.fatal("unknown user: \(parts[0])", 1) }
      var gid = account.gid
      if parts.count == 2 {
        guard let group = database.gid(of: parts[1]) else { return tool.fatal("unknown group: \(parts[1])", 1) }
        gid = group
      }
      ids = (account.uid, gid)
    }
    do {
      switch S6System.kind(path) {
      case .fifo?: break
      case nil: try S6System.makeFIFO(path, mode: mode)
      default: return tool.fatal("\(path) exists and is not a FIFO", 111)
      }
      try FileSystem.setMode(path, mode)
      if let ids { try FileSystem.setOwner(path, uid: ids.uid, gid: ids.gid) }
    } catch {
      return tool.fatal("unable to create the FIFO \(path): \(error.description)", 111)
    }
    return 0
  }
}

/// `ibex install-links DIR [--force] [--target PATH]`: one symbolic link per multi-call name.
public enum InstallLinks {
  public static let help = """
    Usage: ibex install-links DIR [--force] [--target PATH]

    Creates in DIR (made if missing) a symbolic link to ibex for each s6-overlay command name:
    \(S6Commands.linkList)
    The links point to PATH, or to the running binary (/proc/self/exe). Links that already
    point there are left alone, other links are replaced, and other files are refused unless
    --force is given. Exit codes: 0 done, 1 some name refused or failed, 2 usage.

    """

  public static func main(_ arguments: [String]) -> Int32 {
    var directory: String?
    var force = false
    var target: String?
    var index = 0
    func usage(_ message: String) -> Int32 {
      Console.emit("usage error: \(message) (see 'ibex install-links --help')")
      return ExitCode.usage
    }
    while index < arguments.count {
      let word = arguments[index]
      index += 1
      switch word {
      case "--help", "-h":
        Console.output(help)
        return 0
      case "--force", "-f": force = true
      case "--target":
        guard index < arguments.count else { return usage("--target needs a path") }
        target = arguments[index]
        index += 1
      default:
        if word.hasPrefix("-") { return usage("unknown option '\(word)'") }
        if directory != nil { return usage("one directory only") }
        directory = word
      }
    }
    guard let directory else { return usage("no directory given") }
    let destination: String
    if let target {
      destination = target
    } else {
      do {
        destination = try FileSystem.linkTarget("/proc/self/exe")
      } catch {
        Console.fatal("unable to read /proc/self/exe: \(error.description) (give the binary with --target)")
        return 1
      }
    }
    do {
      try FileSystem.makeDirectories(directory)
    } catch {
      Console.fatal("unable to create \(directory): \(error.description)")
      return 1
    }
    var failed = false
    var report = ""
    for name in S6Commands.linkNames {
      let path = directory + "/" + name
      do {
        switch S6System.kind(path) {
        case nil:
          try FileSystem.makeSymbolicLink(path, to: destination)
          report += "created \(path) -> \(destination)\n"
        case .symlink?:
          if try FileSystem.linkTarget(path) == destination {
            report += "unchanged \(path)\n"
          } else {
            FileSystem.remove(path)
            try FileSystem.makeSymbolicLink(path, to: destination)
            report += "updated \(path) -> \(destination)\n"
          }
        case .directory?:
          Console.fatal("\(path) is a directory: not replaced")
          failed = true
        default:
          if !force {
            Console.fatal("\(path) exists and is not a link: not replaced (use --force)")
            failed = true
            continue
          }
          FileSystem.remove(path)
          try FileSystem.makeSymbolicLink(path, to: destination)
          report += "replaced \(path) -> \(destination)\n"
        }
      } catch {
        Console.fatal("unable to link \(path): \(error.description)")
        failed = true
      }
    }
    Console.output(report)
    return failed ? 1 : 0
  }
}
