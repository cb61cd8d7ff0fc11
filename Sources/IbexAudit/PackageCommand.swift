import Foundation

/// A package-manager invocation read from a shell command: `apk add --no-cache curl=8.5.0-r0`.
struct PackageCommand {
  enum Manager: String { case apk, apt, pip, npm, gem, go, yum, zypper }

  var manager: Manager
  /// The program as written (`apt-get`, `apt`, `dnf`, `pip3`...).
  var program: String
  /// `add`, `install`, `update`, `del`, `upgrade`...
  var subcommand: String
  /// Every option word (with its value when the option takes one).
  var options: [String]
  /// Package arguments (options and option values removed).
  var packages: [ShellWord]

  func has(_ option: String) -> Bool { options.contains { $0 == option || $0.hasPrefix(option + "=") } }

  /// Value of an option (`--virtual .build-deps`, `-t .x`, `--virtual=.x`).
  func value(of names: [String]) -> String? {
    for (index, option) in options.enumerated() {
      for name in names {
        if option == name, index + 1 < options.count { return options[index + 1] }
        if option.hasPrefix(name + "=") { return String(option.dropFirst(name.count + 1)) }
      }
    }
    return nil
  }

  static let valueOptions: [Manager: Set<String>] = [
    .apk: ["-X", "--repository", "-p", "--root", "--arch", "--keys-dir", "--repositories-file", "--cache-dir", "-t", "--virtual", "--cache-max-age", "--timeout"],
    .apt: ["-o", "-c", "-t", "--target-release", "--option", "--config-file", "--default-release"],
    .pip: ["-r", "--requirement", "-c", "--constraint", "-i", "--index-url", "--extra-index-url", "--trusted-host", "-t", "--target",
           "--prefix", "--root", "-e", "--editable", "--src", "--platform", "--python-version", "--implementation", "--abi", "-f",
           "--find-links", "--cache-dir", "--progress-bar", "--log", "--timeout", "--retries", "--proxy", "--cert", "--client-cert",
           "--exists-action", "--global-option", "--config-settings", "-C", "--upgrade-strategy", "--only-binary", "--no-binary", "--report"],
    .npm: ["--prefix", "--registry", "--cache", "--tag", "--userconfig", "--loglevel", "-w", "--workspace"],
    .gem: ["-v", "--version", "-i", "--install-dir", "-n", "--bindir", "--source", "-s", "--platform", "-P", "--trust-policy"],
    .go: ["-o", "-C", "-p", "-tags", "-ldflags", "-gcflags", "-mod", "-modfile", "-pkgdir", "-buildmode", "-compiler", "-overlay"],
    .yum: ["-c", "--config", "--releasever", "--installroot", "-x", "--exclude", "--enablerepo", "--disablerepo", "--repo", "--repoid", "--setopt", "-d", "-e", "--nodocs"],
    .zypper: ["-r", "--repo", "--from", "-t", "--type", "--root", "-R"],
  ]

  static func parse(_ command: ShellCommand) -> PackageCommand? {
    var words = command.effective().words
    guard let first = words.first else { return nil }
    var program = ShellCommand.basename(first.value)
    // `python3 -m pip install ...`
    if program.hasPrefix("python"), words.count > 2, words[1].value == "-m", words[2].value.hasPrefix("pip") {
      program = words[2].value
      words.removeFirst(2)
    }
    let manager: Manager
    switch program {
    case "apk": manager = .apk
    case "apt-get", "apt", "aptitude": manager = .apt
    case "pip", "pip3", "pip2", "pipx", "uv": manager = .pip
    case "npm", "pnpm", "yarn": manager = .npm
    case "gem": manager = .gem
    case "go": manager = .go
    case "yum", "dnf", "microdnf", "tdnf": manager = .yum
    case "zypper": manager = .zypper
    default: return nil
    }
    let takesValue = valueOptions[manager] ?? []
    var options: [String] = []
    var positionals: [ShellWord] = []
    var index = 1
    var afterDoubleDash = false
    while index < words.count {
      let word = words[index]
      if !afterDoubleDash, word.value == "--" {
        afterDoubleDash = true
      } else if !afterDoubleDash, word.value.hasPrefix("-"), word.value.count > 1 {
        options.append(word.value)
        if takesValue.contains(word.value), index + 1 < words.count {
          options.append(words[index + 1].value)
          index += 1
        }
      } else {
        positionals.append(word)
      }
      index += 1
    }
    // `uv pip install`, `yarn global add`, `pnpm add -g`.
    if program == "uv" || program == "yarn", let firstWord = positionals.first, ["pip", "global"].contains(firstWord.value) {
      positionals.removeFirst()
    }
    guard let sub = positionals.first else { return nil }
    return PackageCommand(manager: manager, program: program, subcommand: sub.value, options: options, packages: Array(positionals.dropFirst()))
  }

  var isInstall: Bool {
    switch manager {
    case .apk: subcommand == "add"
    case .npm: ["install", "i", "add", "in", "isntall"].contains(subcommand)
    case .zypper: ["install", "in"].contains(subcommand)
    default: subcommand == "install"
    }
  }

  var isIndexUpdate: Bool {
    switch manager {
    case .apk, .apt: subcommand == "update"
    case .yum: subcommand == "makecache"
    case .zypper: ["refresh", "ref"].contains(subcommand)
    default: false
    }
  }

  var isRemoval: Bool {
    switch manager {
    case .apk: subcommand == "del"
    case .apt: ["remove", "purge", "autoremove"].contains(subcommand)
    case .yum: ["remove", "erase", "autoremove"].contains(subcommand)
    case .zypper: ["remove", "rm"].contains(subcommand)
    default: false
    }
  }

  /// Package names that are not pinned to a version (unknown `$VARS`, files and URLs skipped).
  var unpinnedPackages: [ShellWord] {
    packages.filter { word in
      guard word.isLiteral, !word.value.isEmpty else { return false }
      let v = word.value
      if v.hasPrefix("/") || v.hasPrefix("./") || v.hasPrefix("../") || v.hasPrefix(".") && manager != .apk { return false }
      switch manager {
      case .apk:
        if v.hasSuffix(".apk") { return false }
        return !v.contains("=") && !v.contains("~") && !v.contains("<") && !v.contains(">")
      case .apt:
        if v.hasSuffix(".deb") { return false }
        return !v.contains("=")
      case .pip:
        if v.contains("://") || v.contains("@") || v.hasSuffix(".whl") || v.hasSuffix(".tar.gz") || v.hasSuffix(".zip") || v == "." { return false }
        return !["==", ">=", "<=", "~=", "!=", "<", ">"].contains(where: v.contains)
      case .npm:
        if v.contains("://") || v.hasPrefix("git") || v.hasSuffix(".tgz") || v.contains("/") && !v.hasPrefix("@") { return false }
        let body = v.hasPrefix("@") ? String(v.dropFirst()) : v
        return !body.contains("@")
      case .gem:
        if has("-v") || has("--version") { return false }
        return !v.contains(":")
      case .go:
        if !v.contains("@") { return !v.hasPrefix(".") }
        return v.hasSuffix("@latest")
      case .yum:
        if v.hasSuffix(".rpm") || v.hasPrefix("@") { return false }
        return !(v.contains("=") || v.range(of: "-[0-9]", options: .regularExpression) != nil)
      case .zypper:
        if v.hasSuffix(".rpm") { return false }
        return !v.contains("=") && !v.contains("<") && !v.contains(">")
      }
    }
  }
}
