import IbexConfig
import IbexCore
import IbexRuntime

/// The boot stage "environment" (docs/environment.md), the imperative half of
/// `EnvironmentStage`: reads what the planner needs, prints its messages (never a secret's
/// value), and carries out its edits atomically, before anything else starts.
enum EnvironmentStep {
  /// The environment for services, CMD and `with-contenv`, or nil when the boot must stop
  /// (exit 100: the errors are printed, nothing was changed).
  static func run(root: String, environment: [String]) -> EnvironmentStage.Plan? {
    let defaultsDirectory = root + "/etc/ibex/defaults"
    var defaults: [(path: String, text: String)] = []
    for name in (try? FileSystem.list(defaultsDirectory)) ?? [] where name.hasSuffix(".env") && !name.hasPrefix(".") {
      let path = defaultsDirectory + "/" + name
      do {
        defaults.append((path, try FileSystem.readText(path)))
      } catch {
        Console.fatal("unable to read \(path): \(error.description)")
        return nil
      }
    }
    let etc = root + "/etc"
    let writable = ThisProcess.effectiveUID == 0 && FileSystem.isMountedReadOnly(etc) == false
    let input = EnvironmentStage.Input(
      root: root, environment: environment, defaults: defaults,
      passwd: try? FileSystem.readText(root + "/etc/passwd"), group: try? FileSystem.readText(root + "/etc/group"),
      writableEtc: writable, read: lookUp)
    let plan = EnvironmentStage.plan(input)
    for message in plan.messages {
      switch message.level {
      case .info: if plan.errors.isEmpty { Console.info("environment: " + message.text) }
      case .notice: Console.emit("notice: environment: " + message.text)
      case .warning: Console.warning("environment: " + message.text)
      }
    }
    if !plan.errors.isEmpty {
      for error in plan.errors { Console.fatal(error) }
      Console.emit("nothing was started and no file was changed: fix the environment and start again")
      return nil
    }
    for edit in plan.edits {
      do {
        try FileSystem.replaceAtomically(edit.path, with: edit.contents, mode: edit.mode)
      } catch {
        Console.fatal("unable to replace \(edit.path): \(error.description)")
        return nil
      }
      Console.info("environment: replaced \(edit.path)")
    }
    return plan
  }

  private static func lookUp(_ path: String) -> FileLookup {
    do {
      return .contents(try FileSystem.read(path))
    } catch {
      return error == .noSuchFileOrDirectory ? .missing : .unusable(error.description)
    }
  }
}
