import IbexRuntime

/// The entry point of the `ibex` binary: argv[0] and subcommand dispatch.
public enum Entry {
  public static let version = "0.1.0"

  public static let help = """
    Usage: ibex COMMAND [ARGS...]

    ibex is the init and supervisor of a container, in one static binary.

    Commands:
      init [CMD [ARGS...]]    supervise the services in /etc/ibex/services, then run CMD
                              (the role of s6-overlay); also run as /init (argv[0] init)
      run PROGRAM [ARGS...]   run PROGRAM as the only child: reap zombies, forward
                              signals, exit with its code (the role of tini)
      status [NAME...]        the services of the running ibex init (--json for machines)
      start|stop|restart NAME start, stop or restart services
      signal NAME SIGNAL      send a signal to a service's main process
      check [--ready|--live]  exit 0 if the services are ready / alive (for probes)
      wait NAME...            wait until services are ready (or --up, --down)
      reload                  read the service files again and apply the changes
      shutdown                stop everything and exit
      doctor [--format F]     report the container's security posture (capabilities,
                              seccomp, mounts, limits, ...; --policy to judge it)
      metrics                 the supervisor's metrics, Prometheus text (--openmetrics)
      serve-metrics           serve /metrics, /healthz and /readyz over HTTP (as an
                              unprivileged service; default 127.0.0.1:9469)
      audit ARGS...           run ibex-audit (policy checks of Dockerfiles, compose files
                              and Kubernetes manifests) when it is on PATH
      version                 print the version
      install-links DIR       link the s6-overlay command names below to ibex in DIR
      help [COMMAND]          show this help, or the help of COMMAND

    s6-overlay commands (links to ibex, or 'ibex NAME ARGS'; NAME --help for each):
      with-contenv printcontenv s6-setuidgid s6-envuidgid s6-applyuidgid with-retries
      s6-notifyoncheck s6-svc s6-svstat s6-svwait s6-rc s6-svscanctl logutil-service
      logutil-newfifo halt poweroff reboot shutdown (see docs/s6-commands.md)

    Run 'ibex COMMAND --help' for the options of a command.

    """

  /// Runs the command in `ThisProcess`'s argv and returns the exit code.
  public static func main() -> Int32 {
    let arguments = ThisProcess.arguments
    // Called as `init` (a link /init -> ibex): the supervisor, with argv[1...] as its arguments.
    if let name = arguments.first, name == "init" || name.hasSuffix("/init") {
      return initCommand(Array(arguments.dropFirst()), offset: 1)
    }
    if let name = arguments.first, name == "s6-log" || name.hasSuffix("/s6-log") {
      return S6LogProgram.main(arguments: Array(arguments.dropFirst()))
    }
    // Called by an s6-overlay command name (a link such as /command/with-contenv -> ibex).
    if let name = arguments.first.map(S6Commands.basename), S6Commands.handles(name) {
      return S6Commands.main(name: name, arguments: Array(arguments.dropFirst()))
    }
    guard arguments.count >= 2 else {
      Console.output(help)
      return ExitCode.usage
    }
    let command = arguments[1]
    let rest = Array(arguments.dropFirst(2))
    switch command {
    case "run":
      do {
        switch try RunOptions.parse(rest) {
        case .help:
          Console.output(RunOptions.help)
          return ExitCode.success
        case .run(var options):
          options.programIndex += 2
          return RunProgram.main(options: options, argv: ThisProcess.argumentPointer)
        }
      } catch {
        return usageFailure(error, command: "run")
      }
    case "init":
      return initCommand(rest, offset: 2)
    case "s6-log":
      return S6LogProgram.main(arguments: rest)
    case "doctor":
      return DoctorProgram.main(arguments: rest)
    case "audit":
      // Like git's subcommands: the policy checker is a separate program (it is not shipped
      // in containers).
      let error = ThisProcess.exec("ibex-audit", arguments: ["ibex-audit"] + rest)
      Console.fatal("unable to run ibex-audit: \(error.description) (ibex audit needs the ibex-audit program on PATH)")
      return error == .noSuchFileOrDirectory ? ExitCode.notFound : ExitCode.cannotExecute
    case "metrics":
      return MetricsProgram.main(arguments: rest)
    case "serve-metrics":
      return MetricsServer.main(arguments: rest)
    case _ where ControlClient.commands.contains(command):
      return ControlClient.main(command: command, arguments: rest)
    case "install-links":
      return InstallLinks.main(rest)
    case _ where S6Commands.handles(command):
      return S6Commands.main(name: command, arguments: rest)
    case "version", "--version", "-V":
      Console.output("ibex \(version)\n")
      return ExitCode.success
    case "help", "--help", "-h":
      if rest.first == "run" {
        Console.output(RunOptions.help)
      } else if rest.first == "init" {
        Console.output(InitOptions.help)
      } else if rest.first == "doctor" {
        Console.output(DoctorProgram.help)
      } else if rest.first == "metrics" {
        Console.output(MetricsProgram.help)
      } else if rest.first == "serve-metrics" {
        Console.output(MetricsServer.help)
      } else if let topic = rest.first, ControlClient.commands.contains(topic) {
        Console.output(ControlClient.help)
      } else if let topic = rest.first {
        return usageFailure(UsageError("unknown command '\(topic)'"), command: nil)
      } else {
        Console.output(help)
      }
      return ExitCode.success
    default:
      return usageFailure(UsageError("unknown command '\(command)'"), command: nil)
    }
  }

  /// `ibex init ARGS` or `/init ARGS`; `offset` is where ARGS start in argv.
  private static func initCommand(_ arguments: [String], offset: Int) -> Int32 {
    do {
      switch try InitOptions.parse(arguments) {
      case .help:
        Console.output(InitOptions.help)
        return ExitCode.success
      case .run(var options):
        options.commandIndex = options.commandIndex.map { $0 + offset }
        return InitProgram.main(options: options, argv: ThisProcess.argumentPointer)
      }
    } catch {
      return usageFailure(error, command: "init")
    }
  }

  private static func usageFailure(_ error: UsageError, command: String?) -> Int32 {
    let helpCommand = command.map { "ibex \($0) --help" } ?? "ibex help"
    Console.emit("usage error: \(error.message) (see '\(helpCommand)')")
    return ExitCode.usage
  }
}
