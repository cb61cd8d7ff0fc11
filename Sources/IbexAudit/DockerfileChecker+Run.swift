/// The rules that read the shell body of `RUN` (spec column "Shell").
extension DockerfileChecker {
  /// Scripts a RUN executes: its command line, plus heredoc bodies run by a shell.
  func scripts(of instruction: Instruction) -> [ShellScript] {
    if let exec = instruction.execForm {
      // `RUN ["sh", "-c", "..."]`: the string after -c is a script; otherwise one command.
      if let first = exec.first, ShellTokenizer.shells.contains(ShellCommand.basename(first)),
        let c = exec.firstIndex(where: { $0.hasPrefix("-") && $0.contains("c") }), c + 1 < exec.count
      {
        return [ShellScript(MappedText(exec[c + 1], at: instruction.arguments.position(at: 0)))]
      }
      let quoted = exec.map { "'" + $0.replacingOccurrences(of: "'", with: "'\\''") + "'" }.joined(separator: " ")
      return [ShellScript(MappedText(quoted, at: instruction.arguments.position(at: 0)))]
    }
    let main = ShellScript(instruction.arguments)
    var result = [main]
    for heredoc in instruction.heredocs {
      let owner = main.commands.first { command in
        command.redirects.contains { ($0.op == "<<" || $0.op == "<<-") && $0.target?.value == heredoc.delimiter }
      }
      var isScript = true
      if let owner, let name = owner.name {
        isScript = ShellTokenizer.shells.contains(name) && !owner.arguments.contains { $0.value.hasPrefix("-") && $0.value.contains("c") }
      }
      if heredoc.body.string.hasPrefix("#!") {
        let shebang = heredoc.body.string.prefix(while: { $0 != "\n" })
        isScript = ShellTokenizer.shells.contains { shebang.hasSuffix("/" + $0) || shebang.hasSuffix(" " + $0) }
      }
      if isScript { result.append(ShellScript(heredoc.body)) }
    }
    return result
  }

  func checkRun(_ instruction: Instruction, stage: DockerfileModel.Stage, report: (String, SourcePosition?, String, String) -> Void) {
    if let security = instruction.flag("security")?.value, security == "insecure" {
      report("IBX-DF-035", instruction.flag("security")?.position, "RUN --security=insecure gives this build step host-level privileges", "--security=insecure")
    }
    if let network = instruction.flag("network")?.value, network == "host" {
      report("IBX-DF-035", instruction.flag("network")?.position, "RUN --network=host shares the build host's network with this step", "--network=host")
    }
    // POSIX shell rules do not apply to Windows images or cmd/PowerShell.
    if stage.isWindows { return }

    let scripts = scripts(of: instruction)
    let all = scripts.flatMap { $0.allCommands() }
    let packages = all.compactMap { item in PackageCommand.parse(item.command).map { (package: $0, command: item.command, script: item.script) } }
    let cacheMounts = instruction.flags.filter { $0.name == "mount" }.compactMap(\.value).filter { $0.contains("type=cache") }
    func cacheMounted(_ path: String) -> Bool { cacheMounts.contains { $0.contains("target=" + path) || $0.contains("dst=" + path) || $0.contains("destination=" + path) } }
    func removes(_ path: String) -> Bool {
      all.contains { item in
        item.command.name == "rm" && item.command.arguments.contains { $0.value.hasPrefix(path) }
      }
    }
    let inFinalChain = model.finalChain.contains { $0.index == stage.index }
    let deleted: Set<String> = Set(packages.filter { $0.package.isRemoval }.flatMap { $0.package.packages.map(\.value) })

    // IBX-DF-013: index refreshed but nothing installed in the same RUN.
    if let update = packages.first(where: { $0.package.isIndexUpdate }),
      !packages.contains(where: { $0.package.isInstall || $0.package.subcommand.contains("upgrade") })
    {
      report("IBX-DF-013", update.script.position(of: update.command),
             "\(update.package.program) \(update.package.subcommand) runs in a RUN that installs nothing, so later RUNs use a stale cached index; update and install in the same RUN",
             "\(update.package.program) \(update.package.subcommand)")
    }

    for (package, command, script) in packages {
      let position = script.position(of: command)
      let snippet = command.words.map(\.value).joined(separator: " ")
      switch package.manager {
      case .apk where package.isInstall:
        if !package.has("--no-cache") && !removes("/var/cache/apk") && !cacheMounted("/var/cache/apk") && !cacheMounted("/etc/apk/cache") {
          report("IBX-DF-014", position, "apk add without --no-cache keeps the package index in the image; use apk add --no-cache", snippet)
        }
        let virtual = package.value(of: ["--virtual", "-t"])
        let exempt = virtual.map { deleted.contains($0) } ?? false
        let unpinned = package.unpinnedPackages.map(\.value)
        if !exempt, !unpinned.isEmpty {
          report("IBX-DF-015", position,
                 "apk add without a version for \(unpinned.joined(separator: ", ")); pin with pkg=1.2.3-r0 or pkg~1.2 (or install them in a --virtual group deleted in the same RUN)",
                 snippet)
        }
        if package.has("--allow-untrusted") {
          report("IBX-DF-011", position, "apk add --allow-untrusted installs packages without checking their signatures", snippet)
        }
        checkInstalled(package, exempt: exempt, deleted: deleted, inFinalChain: inFinalChain, position: position, snippet: snippet, report: report)
      case .apt:
        if package.program == "apt" {
          report("IBX-DF-026", position, "apt is meant for interactive use and its interface is not stable; use apt-get or apt-cache", snippet)
        }
        if ["upgrade", "dist-upgrade", "full-upgrade"].contains(package.subcommand) {
          report("IBX-DF-026", position, "\(package.program) \(package.subcommand) upgrades the whole distribution unpinned; rebuild from a newer base image instead", snippet)
        }
        let insecure = package.options.first { ["--allow-unauthenticated", "--force-yes", "--allow-insecure-repositories"].contains($0)
          || $0.contains("AllowInsecureRepositories=true") || $0.contains("AllowUnauthenticated=true") }
        if let insecure {
          report("IBX-DF-011", position, "\(package.program) \(insecure) skips the repository signature check", snippet)
        }
        if package.isInstall {
          let recommends = package.has("--no-install-recommends") || package.options.contains { $0.contains("Install-Recommends=false") || $0.contains("Install-Recommends=0") }
          if !recommends {
            report("IBX-DF-017", position, "\(package.program) install without --no-install-recommends pulls in extra packages", snippet)
          }
          let unpinned = package.unpinnedPackages.map(\.value)
          if !unpinned.isEmpty {
            report("IBX-DF-016", position, "\(package.program) install without a version for \(unpinned.joined(separator: ", ")); pin with pkg=version", snippet)
          }
          checkInstalled(package, exempt: false, deleted: deleted, inFinalChain: inFinalChain, position: position, snippet: snippet, report: report)
        }
      case .pip where package.isInstall:
        let unpinned = package.unpinnedPackages.map(\.value)
        if !unpinned.isEmpty {
          report("IBX-DF-016", position, "pip install without a version for \(unpinned.joined(separator: ", ")); pin with pkg==1.2.3 or use -r requirements.txt with hashes", snippet)
        }
        if package.has("--trusted-host") {
          report("IBX-DF-011", position, "pip --trusted-host disables TLS verification for that host", snippet)
        }
      case .npm:
        if package.isInstall {
          let unpinned = package.unpinnedPackages.map(\.value)
          if !unpinned.isEmpty {
            report("IBX-DF-016", position, "\(package.program) \(package.subcommand) without a version for \(unpinned.joined(separator: ", ")); pin with pkg@1.2.3", snippet)
          }
        }
        let words = command.arguments.map(\.value)
        if let set = words.firstIndex(of: "set"), words.firstIndex(of: "config").map({ $0 < set }) == true,
          set + 1 < words.count, words[set + 1].lowercased().hasPrefix("strict-ssl")
        {
          let value = words[set + 1].contains("=") ? String(words[set + 1].split(separator: "=").last ?? "") : (set + 2 < words.count ? words[set + 2] : "")
          if value == "false" {
            report("IBX-DF-011", position, "\(package.program) config set strict-ssl false disables TLS verification of the registry", snippet)
          }
        }
        if package.options.contains(where: { $0.lowercased() == "--strict-ssl=false" }) {
          report("IBX-DF-011", position, "\(package.program) --strict-ssl=false disables TLS verification of the registry", snippet)
        }
      case .gem where package.isInstall:
        let unpinned = package.unpinnedPackages.map(\.value)
        if !unpinned.isEmpty {
          report("IBX-DF-016", position, "gem install without a version for \(unpinned.joined(separator: ", ")); use -v 1.2.3 or gem:1.2.3", snippet)
        }
      case .go where package.isInstall:
        let unpinned = package.unpinnedPackages.map(\.value)
        if !unpinned.isEmpty {
          report("IBX-DF-016", position, "go install without a fixed version for \(unpinned.joined(separator: ", ")); use module@v1.2.3", snippet)
        }
      case .yum, .zypper:
        if package.isInstall {
          let unpinned = package.unpinnedPackages.map(\.value)
          if !unpinned.isEmpty {
            report("IBX-DF-016", position, "\(package.program) install without a version for \(unpinned.joined(separator: ", ")); pin with pkg-1.2.3", snippet)
          }
          checkInstalled(package, exempt: false, deleted: deleted, inFinalChain: inFinalChain, position: position, snippet: snippet, report: report)
        }
        if package.manager == .yum {
          if let option = package.options.first(where: { $0 == "--nogpgcheck" || Self.sslVerifyOff($0) }) {
            report("IBX-DF-011", position, "\(package.program) \(option) disables package signature or TLS verification", snippet)
          }
          if ["upgrade", "update", "distro-sync"].contains(package.subcommand), package.packages.isEmpty {
            report("IBX-DF-026", position, "\(package.program) \(package.subcommand) upgrades the whole distribution unpinned; rebuild from a newer base image instead", snippet)
          }
        } else if ["dist-upgrade", "dup"].contains(package.subcommand) {
          report("IBX-DF-026", position, "zypper \(package.subcommand) upgrades the whole distribution unpinned; rebuild from a newer base image instead", snippet)
        }
      case .apk where package.subcommand == "upgrade":
        report("IBX-DF-026", position, "apk upgrade upgrades the whole distribution unpinned; rebuild from a newer base image instead", snippet)
      default:
        break
      }
    }

    var aptUsed = false
    for (command, script) in all {
      let position = script.position(of: command)
      let effective = command.effective()
      let name = effective.words.first.map { ShellCommand.basename($0.value) } ?? ""
      let args = Array(effective.words.dropFirst())
      let values = args.map(\.value)
      let snippet = command.words.map(\.value).joined(separator: " ")
      if name == "sudo" || effective.wrappersSeen.contains("sudo") {
        report("IBX-DF-018", position, "sudo in RUN: RUN already runs as the current USER; switch users with USER instead", snippet)
      }
      if name == "apt-get" || name == "apt" { aptUsed = true }
      checkCredentials(command, script: script, report: report)
      checkVerification(name: name, values: values, command: command, position: position, snippet: snippet, report: report)
      checkPasswords(name: name, values: values, command: command, position: position, snippet: snippet, report: report)
      if ["chmod", "mkdir", "install"].contains(name) {
        let modes: [String] =
          if name == "chmod" {
            values.filter { !$0.hasPrefix("-") || $0.dropFirst().allSatisfy({ "rwxXst,".contains($0) }) && $0.count > 1 }.prefix(1).map { $0 }
          } else {
            values.indices.compactMap { i in (values[i] == "-m" || values[i] == "--mode") && i + 1 < values.count ? values[i + 1] : (values[i].hasPrefix("--mode=") ? String(values[i].dropFirst(7)) : nil) }
          }
        for mode in modes {
          if Self.addsSetuid(mode) {
            report("IBX-DF-020", position, "\(name) \(mode) sets the setuid/setgid bit, a privilege-escalation path", snippet)
          }
          if Self.worldWritable(mode) {
            report("IBX-DF-022", position, "\(name) \(mode) makes files world-writable; give write access to the owner only", snippet)
          }
        }
      }
      if ["sshd", "dropbear"].contains(name) {
        report("IBX-DF-023", position, "RUN starts an SSH server; use docker exec / kubectl exec instead", snippet)
      }
    }

    for script in scripts { checkRemoteExecution(script, report: report) }

    if aptUsed, !removes("/var/lib/apt/lists"), !cacheMounted("/var/lib/apt/lists"),
      packages.contains(where: { $0.package.manager == .apt && ($0.package.isInstall || $0.package.isIndexUpdate) })
    {
      report("IBX-DF-017", nil, "apt lists are not removed in the same RUN; end it with rm -rf /var/lib/apt/lists/*", "apt lists kept")
    }

    // IBX-DF-029: a pipe without pipefail.
    if instruction.execForm == nil, !stage.pipefailShell(before: instruction) {
      for script in scripts {
        let pipefail = script.commands.contains { command in
          command.name == "set" && command.arguments.map(\.value).contains("pipefail")
        }
        if !pipefail, let piped = script.commands.first(where: { $0.pipelineIndex > 0 }) {
          report("IBX-DF-029", script.position(of: piped),
                 "RUN pipes into \(piped.name ?? "a command") without pipefail, so a failure before the pipe is ignored; add SHELL [\"/bin/ash\", \"-eo\", \"pipefail\", \"-c\"] (or /bin/bash) or start with set -o pipefail",
                 "pipe into \(piped.name ?? "")")
          break
        }
      }
    }
  }

  static func sslVerifyOff(_ option: String) -> Bool {
    let lower = option.lowercased().replacingOccurrences(of: " ", with: "")
    return ["sslverify=0", "sslverify=false", "sslverify=no", "gpgcheck=0", "gpgcheck=false"].contains { lower.contains($0) }
  }

  static let toolchainPackages: Set<String> = [
    "build-base", "build-essential", "gcc", "g++", "clang", "make", "cmake", "git", "musl-dev", "libc-dev", "libc6-dev",
    "linux-headers", "autoconf", "automake", "libtool", "cargo", "rust", "go", "golang", "pkgconf", "pkg-config", "gcc-c++",
  ]

  /// IBX-DF-018 (sudo installed), IBX-DF-023 (SSH server installed), IBX-DF-025 (toolchain kept).
  func checkInstalled(
    _ package: PackageCommand, exempt: Bool, deleted: Set<String>, inFinalChain: Bool, position: SourcePosition, snippet: String,
    report: (String, SourcePosition?, String, String) -> Void
  ) {
    let names = package.packages.filter(\.isLiteral).map { word in
      String(word.value.prefix(while: { !"=~<>".contains($0) }))
    }
    if names.contains(where: { ["openssh", "openssh-server", "dropbear", "openssh-server-pam"].contains($0) }) {
      report("IBX-DF-023", position, "an SSH server is installed; use docker exec / kubectl exec instead", snippet)
    }
    guard inFinalChain else { return }
    if names.contains("sudo"), !deleted.contains("sudo") {
      report("IBX-DF-018", position, "sudo is installed in the final image; switch users with USER instead", snippet)
    }
    let tools = names.filter { name in
      (Self.toolchainPackages.contains(name) || name.hasSuffix("-dev") || name.hasSuffix("-devel")) && !deleted.contains(name)
    }
    if !exempt, !tools.isEmpty {
      report("IBX-DF-025", position,
             "build tools \(tools.joined(separator: ", ")) stay in the final image; build in a separate stage, or install them in a --virtual group and delete it in the same RUN",
             snippet)
    }
  }

  func checkCredentials(_ command: ShellCommand, script: ShellScript, report: (String, SourcePosition?, String, String) -> Void) {
    let effective = command.effective().words
    let name = effective.first.map { ShellCommand.basename($0.value) } ?? ""
    for (index, word) in effective.enumerated() {
      let position = script.position(of: word)
      // https://user:password@host
      if let scheme = word.value.range(of: "://"), let at = word.value[scheme.upperBound...].firstIndex(of: "@") {
        let userinfo = word.value[scheme.upperBound..<at]
        if let colon = userinfo.firstIndex(of: ":"), !userinfo[userinfo.index(after: colon)...].isEmpty,
          !userinfo[userinfo.index(after: colon)...].hasPrefix("$"), !userinfo.contains("/")
        {
          report("IBX-DF-010", position, "URL with an inline password; command lines stay in the image history, use RUN --mount=type=secret", "credential URL")
        }
      }
      let next = index + 1 < effective.count ? effective[index + 1] : nil
      if ["curl", "wget"].contains(name), ["-u", "--user"].contains(word.value), let next, next.isLiteral,
        next.value.contains(":"), !next.value.hasSuffix(":")
      {
        report("IBX-DF-010", position, "\(name) \(word.value) with a literal user:password; use RUN --mount=type=secret and --netrc-file", "\(name) \(word.value)")
      }
      for flag in ["--password", "--token", "--api-key", "--access-token", "--http-password", "--ftp-password", "--secret"] {
        var value: ShellWord?
        if word.value == flag, let next { value = next }
        if word.value.hasPrefix(flag + "=") {
          var copy = word
          copy.value = String(word.value.dropFirst(flag.count + 1))
          value = copy
        }
        if let value, value.isLiteral, !value.value.isEmpty, !value.value.hasPrefix("$") {
          report("IBX-DF-010", position, "\(flag) with a literal value on the command line; read it from a secret mount instead", flag)
        }
      }
    }
    // echo "$TOKEN" > file
    if ["echo", "printf"].contains(name), command.redirects.contains(where: { [">", ">>"].contains($0.op) }) {
      let referencesSecret = effective.dropFirst().contains { word in
        Self.variableNames(in: word.raw).contains { settings.isSecretName($0) }
      }
      if referencesSecret {
        report("IBX-DF-010", script.position(of: command), "\(name) writes a secret variable into a file that stays in the layer; use RUN --mount=type=secret", "\(name) secret > file")
      }
    }
  }

  static func variableNames(in raw: String) -> [String] {
    var names: [String] = []
    let chars = Array(raw)
    var i = 0
    while i < chars.count {
      if chars[i] == "$" {
        var j = i + 1
        if j < chars.count, chars[j] == "{" { j += 1 }
        var name = ""
        while j < chars.count, chars[j].isLetter || chars[j].isNumber || chars[j] == "_" { name.append(chars[j]); j += 1 }
        if !name.isEmpty { names.append(name) }
        i = j
      } else {
        i += 1
      }
    }
    return names
  }

  func checkVerification(
    name: String, values: [String], command: ShellCommand, position: SourcePosition, snippet: String,
    report: (String, SourcePosition?, String, String) -> Void
  ) {
    // Inline variables: `GIT_SSL_NO_VERIFY=1 git clone`, `export NODE_TLS_REJECT_UNAUTHORIZED=0`.
    for word in command.words.map(\.value) + (name == "export" ? values : []) where ShellCommand.isAssignment(word) {
      let parts = word.split(separator: "=", maxSplits: 1).map(String.init)
      if parts.count == 2, Self.disablesVerification(name: parts[0], value: parts[1]) {
        report("IBX-DF-011", position, "\(word) disables TLS verification", snippet)
      }
    }
    switch name {
    case "curl":
      if values.contains(where: { $0 == "--insecure" || ($0.hasPrefix("-") && !$0.hasPrefix("--") && $0.dropFirst().allSatisfy(\.isLetter) && $0.contains("k")) }) {
        report("IBX-DF-011", position, "curl -k/--insecure accepts any TLS certificate; install the CA certificate instead", snippet)
      }
    case "wget":
      if values.contains("--no-check-certificate") {
        report("IBX-DF-011", position, "wget --no-check-certificate accepts any TLS certificate; install the CA certificate instead", snippet)
      }
    case "rpm":
      if let option = values.first(where: { ["--nosignature", "--nodigest", "--noverify", "--nogpgcheck"].contains($0) }) {
        report("IBX-DF-011", position, "rpm \(option) installs packages without verifying them", snippet)
      }
    case "git":
      let lower = values.map { $0.lowercased() }
      let inline = lower.contains { $0.hasPrefix("http.sslverify=") && ($0.hasSuffix("=false") || $0.hasSuffix("=0")) }
      let config = lower.firstIndex(of: "config").map { c in
        lower[c...].contains("http.sslverify") && (lower.last == "false" || lower.last == "0")
      } ?? false
      if inline || config {
        report("IBX-DF-011", position, "git with http.sslVerify=false accepts any TLS certificate", snippet)
      }
    default:
      break
    }
  }

  func checkPasswords(
    name: String, values: [String], command: ShellCommand, position: SourcePosition, snippet: String,
    report: (String, SourcePosition?, String, String) -> Void
  ) {
    switch name {
    case "chpasswd":
      report("IBX-DF-019", position, "chpasswd sets an account password that is then known to anyone with the image", snippet)
    case "passwd":
      if values.contains("-d") || values.contains("--delete") {
        report("IBX-DF-019", position, "passwd -d leaves the account with an empty password", snippet)
      } else if command.pipelineIndex > 0 || values.contains("--stdin") {
        report("IBX-DF-019", position, "a password piped into passwd is stored in the image history", snippet)
      }
    case "usermod", "useradd":
      if values.contains(where: { $0 == "-p" || $0 == "--password" || $0.hasPrefix("--password=") }) {
        report("IBX-DF-019", position, "\(name) -p sets a password hash in the image; create the user with a locked password", snippet)
      }
    case "adduser":
      let disabled = values.contains { $0 == "--disabled-password" || $0 == "--system" || $0 == "-S" || $0 == "--disabled-login" }
        || values.contains { $0.hasPrefix("-") && !$0.hasPrefix("--") && ($0.contains("D") || $0.contains("S")) }
      if !disabled {
        report("IBX-DF-019", position, "adduser without -D (Alpine) or --disabled-password (Debian) prompts for a password or leaves it empty; add -D", snippet)
      }
    default:
      break
    }
  }

  static let fetchers: Set<String> = ["curl", "wget", "fetch", "aria2c"]
  static let interpreters: Set<String> = ["sh", "bash", "ash", "dash", "zsh", "ksh", "python", "python2", "python3", "perl", "ruby", "node", "php", "pwsh"]

  /// IBX-DF-012: `curl ... | sh`, `sh -c "$(curl ...)"`, `bash <(curl ...)`.
  func checkRemoteExecution(_ script: ShellScript, report: (String, SourcePosition?, String, String) -> Void) {
    let byPipeline = Dictionary(grouping: script.commands, by: \.pipeline)
    for (_, pipeline) in byPipeline.sorted(by: { $0.key < $1.key }) where pipeline.count > 1 {
      guard let fetch = pipeline.firstIndex(where: { Self.fetchers.contains($0.name ?? "") }) else { continue }
      if let run = pipeline[(fetch + 1)...].first(where: { Self.interpreters.contains(String(($0.name ?? "").prefix(while: { !$0.isNumber || true }))) || ($0.name ?? "").hasPrefix("python") }) {
        report("IBX-DF-012", script.position(of: run),
               "\(pipeline[fetch].name ?? "download") output is piped into \(run.name ?? "an interpreter") and executed unverified; download to a file, check its sha256, then run it",
               "\(pipeline[fetch].name ?? "") | \(run.name ?? "")")
      }
    }
    for command in script.commands {
      guard let name = command.name else { continue }
      let fetched = command.arguments.contains { word in
        word.substitutions.contains { sub in
          ShellScript(MappedText(sub, at: .start)).commands.contains { Self.fetchers.contains($0.name ?? "") }
        }
      }
      guard fetched else { continue }
      if Self.interpreters.contains(name) || ["eval", "source", "."].contains(name) {
        report("IBX-DF-012", script.position(of: command),
               "\(name) executes content downloaded in a command substitution; download to a file, check its sha256, then run it",
               "\(name) $(download)")
      }
    }
  }
}

extension DockerfileModel.Stage {
  /// Whether a `SHELL` with pipefail is in effect before `instruction`.
  func pipefailShell(before instruction: Instruction) -> Bool {
    // The last SHELL before the instruction (binary search: one walk per RUN was quadratic).
    let after = shells.partitionPoint { $0.position < instruction.position }
    return after > 0 && shells[after - 1].pipefail
  }
}
