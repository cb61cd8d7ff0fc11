import IbexCore
import IbexRuntime

/// The s6-overlay helper commands, as multi-call names of the one `ibex` binary: dispatched by
/// argv[0]'s basename (`/command/with-contenv`, a link to ibex) or as `ibex NAME ARGS`.
/// docs/s6-commands.md describes each command and how it differs from s6's.
public enum S6Commands {
  /// One command: its name, its usage line and exit codes (for `--help`), and its program.
  struct Command {
    var name: String
    var usage: String
    var exitCodes: String
    var run: (S6Tool, [String]) -> Int32
  }

  static var commands: [Command] {
    [
    Command(name: "with-contenv", usage: "with-contenv PROG [ARGS...]",
      exitCodes: "111 no container environment, 126/127 cannot exec PROG", run: ContainerEnvironmentCommands.withContenv),
    Command(name: "printcontenv", usage: "printcontenv NAME",
      exitCodes: "0 printed, 1 not set, 100 usage, 111 system error", run: ContainerEnvironmentCommands.printcontenv),
    Command(name: "s6-setuidgid", usage: "s6-setuidgid ACCOUNT PROG [ARGS...]   (ACCOUNT: user, uid:gid, or \"\")",
      exitCodes: "1 unknown account, 100 usage, 111 system error (not root), 126/127 exec", run: AccountCommands.setuidgid),
    Command(name: "s6-envuidgid", usage: "s6-envuidgid [-u|-g|-B] [-n] [-i|-D uid:gid[:gidlist]] ACCOUNT PROG [ARGS...]",
      exitCodes: "1 unknown account, 100 usage, 111 system error, 126/127 exec", run: AccountCommands.envuidgid),
    Command(name: "s6-applyuidgid", usage: "s6-applyuidgid [-u uid] [-g gid] [-G gidlist] [-U] [-z] PROG [ARGS...]",
      exitCodes: "100 usage, 111 system error (not root), 126/127 exec", run: AccountCommands.applyuidgid),
    Command(name: "with-retries", usage: "with-retries [-n attempts (3)] [-t ms per attempt (500, 0: no limit)] PROG [ARGS...]",
      exitCodes: "the last attempt's code (128+N if killed by signal N, 137 after a timeout), 100 usage, 111 system error",
      run: WithRetries.main),
    Command(name: "s6-notifyoncheck",
      usage: "s6-notifyoncheck [-d] [-3 fd] [-s 10] [-T 0] [-t 0] [-w 1000] [-n 7] [-c 'check command'] PROG [ARGS...]",
      exitCodes: "100 usage, 111 system error (before PROG runs)", run: NotifyOnCheck.main),
    Command(name: "s6-svc", usage: "s6-svc [-udroOktihq12apcy] [-s SIG] [-wu|-wU|-wd|-wD|-wr|-wR] [-T ms] SERVICEDIR...",
      exitCodes: "0 done, 99 wait timed out, 100 usage, 102 no such service, 111 system error (ibex not reachable)",
      run: SupervisionCommands.svc),
    Command(name: "s6-svstat", usage: "s6-svstat [-uwNrpgest | -o FIELD,...] [-n] SERVICEDIR",
      exitCodes: "0 done, 1 no such service, 100 usage, 111 system error", run: SupervisionCommands.svstat),
    Command(name: "s6-svwait", usage: "s6-svwait [-u|-U|-d|-D|-r|-R] [-a|-o] [-t ms] SERVICEDIR...",
      exitCodes: "0 done, 99 timed out, 100 usage, 102 no such service, 111 system error", run: SupervisionCommands.svwait),
    Command(name: "s6-rc", usage: "s6-rc [-v N] [-t ms] [-a] [-u|-d] change|list|help [NAME...]   or   s6-rc start|stop NAME...",
      exitCodes: "0 done, 1 a service failed, 2 timed out, 3 unknown name, 100 usage, 111 system error",
      run: SupervisionCommands.rc),
    Command(name: "s6-svscanctl", usage: "s6-svscanctl [-tqh06 7iazbnN] SCANDIR",
      exitCodes: "0 done, 100 usage or not permitted, 111 system error", run: SupervisionCommands.svscanctl),
    Command(name: "halt", usage: "halt [-f] [-n]   (ibex exits with the code in /run/s6-linux-init-container-results/exitcode)",
      exitCodes: "0 requested, 100 not permitted or usage, 111 system error", run: ShutdownCommands.halt),
    Command(name: "poweroff", usage: "poweroff [-f] [-n]   (ibex exits 130, as s6-overlay's PID 1 dies by SIGINT)",
      exitCodes: "0 requested, 100 not permitted or usage, 111 system error", run: ShutdownCommands.poweroff),
    Command(name: "reboot", usage: "reboot [-f] [-n]   (ibex exits 129, as s6-overlay's PID 1 dies by SIGHUP)",
      exitCodes: "0 requested, 100 not permitted or usage, 111 system error", run: ShutdownCommands.reboot),
    Command(name: "shutdown", usage: "shutdown [-h|-p|-r] [-f] [TIME [MESSAGE]]   (TIME is ignored: now)",
      exitCodes: "0 requested, 100 not permitted or usage, 111 system error", run: ShutdownCommands.shutdown),
    Command(name: "logutil-service", usage: "logutil-service [-f FIFO] LOGDIR",
      exitCodes: "1 no LOGDIR, 100 usage, 111 system error, 126/127 cannot exec s6-log", run: LogUtilities.service),
    Command(name: "logutil-newfifo", usage: "logutil-newfifo [-m 0600] [-o OWNER[:GROUP]] PATH   (deprecated)",
      exitCodes: "0 done, 100 usage, 111 system error", run: LogUtilities.newfifo),
    ]
  }

  /// Every name `ibex install-links` creates: the commands above plus `s6-log`.
  public static var linkNames: [String] { commands.map { $0.name } + ["s6-log"] }

  /// The link names separated by spaces.
  static var linkList: String {
    var text = ""
    for (i, name) in linkNames.enumerated() { text += (i == 0 ? "" : " ") + name }
    return text
  }

  /// Whether argv[0] named `name` (a basename) is one of these commands.
  public static func handles(_ name: String) -> Bool { commands.contains { $0.name == name } }

  /// The last component of a path (`/command/with-contenv` → `with-contenv`).
  public static func basename(_ path: String) -> String {
    var trimmed = Substring(path)
    while trimmed.count > 1 && trimmed.hasSuffix("/") { trimmed = trimmed.dropLast() }
    if let slash = trimmed.lastIndex(of: "/") { return String(trimmed[trimmed.index(after: slash)...]) }
    return String(trimmed)
  }

  /// Runs command `name` with `arguments` (argv after the name); returns its exit code. The
  /// commands that exec another program return only when that failed.
  public static func main(name: String, arguments: [String]) -> Int32 {
    guard let command = commands.first(where: { $0.name == name }) else { return 100 }
    let tool = S6Tool(name: name, usage: command.usage)
    if arguments.first == "--help" {
      Console.output("usage: \(command.usage)\nexit codes: \(command.exitCodes)\nSee docs/s6-commands.md.\n")
      return 0
    }
    return command.run(tool, arguments)
  }
}

/// What every s6 command shares: its name in messages, in skarnet's shape
/// (`s6-svc: fatal: unable to ...`), and the environment it was started with.
struct S6Tool {
  var name: String
  var usage: String
  let environment = ThisProcess.environmentStrings

  func value(_ variable: String) -> String? { Environment.value(of: variable, in: environment) }

  /// `$IBEX_ROOT`, the prefix of every runtime path (empty in a container).
  var root: String { value("IBEX_ROOT") ?? "" }

  func fatal(_ message: String, _ code: Int32) -> Int32 {
    try? FileDescriptor.standardError.writeAll("\(name): fatal: \(message)\n")
    return code
  }

  func warning(_ message: String) {
    try? FileDescriptor.standardError.writeAll("\(name): warning: \(message)\n")
  }

  func info(_ message: String) {
    try? FileDescriptor.standardError.writeAll("\(name): info: \(message)\n")
  }

  /// Wrong usage: the reason and the usage line; exit 100 as skarnet's tools do.
  func usageFailure(_ message: String) -> Int32 {
    try? FileDescriptor.standardError.writeAll("\(name): fatal: \(message)\n\(name): usage: \(usage)\n")
    return 100
  }

  /// Replaces this process with `arguments[0]` (searched in `environment`'s PATH), with
  /// `environment`. Returns only on failure, with 127 (not found) or 126 and a message.
  func exec(_ arguments: [String], environment: [String]) -> Int32 {
    let error = S6System.exec(arguments, environment: environment)
    return fatal("unable to exec \(arguments[0]): \(error.description)", error == .noSuchFileOrDirectory || error.rawValue == 20 ? 127 : 126)
  }
}

/// Wrong usage of an s6 command: the message says what is wrong.
public struct S6UsageError: Error, Equatable, Sendable {
  public var message: String
  public init(_ message: String) { self.message = message }
}

/// skarnet-style short options (`subgetopt`): letters may be grouped (`-uwU`), a value follows
/// its letter in the same word or is the next word, options end at the first word that does
/// not start with `-` (or at `--`, which is skipped).
struct ShortOptions {
  let words: [String]
  let takingValues: [Character]
  let flags: [Character]
  /// Where the operands start, once `next()` has returned nil.
  private(set) var index = 0
  private var position = 1

  init(_ words: [String], flags: String, values: String = "") {
    self.words = words
    self.flags = Array(flags)
    self.takingValues = Array(values)
  }

  /// The next option letter and its value (for letters that take one), or nil at the end.
  mutating func next() throws(S6UsageError) -> (letter: Character, value: String?)? {
    guard index < words.count else { return nil }
    let word = Array(words[index])
    if position == 1 {
      if words[index] == "--" {
        index += 1
        return nil
      }
      guard word.count > 1, word[0] == "-" else { return nil }
    }
    let letter = word[position]
    position += 1
    if takingValues.contains(letter) {
      let value: String
      if position < word.count {
        value = String(word[position...])
      } else {
        guard index + 1 < words.count else { throw S6UsageError("option -\(letter) needs a value") }
        index += 1
        value = words[index]
      }
      index += 1
      position = 1
      return (letter, value)
    }
    guard flags.contains(letter) else { throw S6UsageError("unknown option -\(letter)") }
    if position >= word.count {
      index += 1
      position = 1
    }
    return (letter, nil)
  }

  /// The words after the options.
  var operands: [String] { Array(words[index...]) }
}

/// A non-negative decimal number (milliseconds, counts), as s6 options take them.
func parseNumber(_ text: String, option: Character) throws(S6UsageError) -> Int {
  guard let value = Int(text), value >= 0 else { throw S6UsageError("option -\(option) needs a number, not '\(text)'") }
  return value
}
