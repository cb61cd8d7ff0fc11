import Foundation

/// What a compose file in the same run may learn from a Dockerfile (spec section 4).
public struct DockerfileFacts: Sendable {
  /// True: final USER is non-root; false: root or none; nil: unknown.
  public var runsAsNonRoot: Bool?
  public var hasHealthcheck: Bool
}

/// Runs the IBX-DF rules over one parsed Dockerfile.
struct DockerfileChecker {
  let model: DockerfileModel
  let settings: AuditSettings
  /// Directory holding the Dockerfile (for `.dockerignore`); nil when unknown.
  let directory: URL?
  let fileName: String
  let sink: FindingSink

  init(file: Dockerfile, path: String, url: URL?, settings: AuditSettings, enabled: Set<String>, target: String? = nil) {
    self.model = DockerfileModel(file, target: target)
    self.settings = settings
    self.directory = url?.deletingLastPathComponent()
    self.fileName = url?.lastPathComponent ?? "Dockerfile"
    self.sink = FindingSink(file: path, kind: .dockerfile, enabled: enabled)
  }

  var facts: DockerfileFacts {
    var user: Bool? = false
    var healthcheck = false
    outer: for stage in model.finalChain {
      for (instruction, _) in stage.instructions.reversed() where instruction.keyword == "HEALTHCHECK" {
        healthcheck = true
        break outer
      }
    }
    if let (_, value) = effectiveUser() {
      user = value.map { !Self.isRootUser($0) }
    } else if let base = model.finalChain.last?.image, settings.isNonrootBaseImage(base) {
      user = true
    }
    return DockerfileFacts(runsAsNonRoot: user, hasHealthcheck: healthcheck)
  }

  func check() -> [Finding] {
    checkStages()
    for stage in model.stages {
      for (instruction, expander) in stage.instructions {
        check(instruction, expander: expander, stage: stage, onbuild: false)
        if let inner = instruction.onbuild?.value {
          check(inner, expander: expander, stage: stage, onbuild: true)
        }
      }
    }
    checkFinalImage()
    return sink.findings
  }

  // MARK: - Stage-level rules

  func checkStages() {
    var seenNames: [String: Int] = [:]
    for stage in model.stages {
      let from = stage.from
      let scope = [Int](from.lines)
      if let name = stage.name {
        if let first = seenNames[name] {
          sink.add("IBX-DF-032", at: from.position, object: stage.object,
                   "stage name \"\(name)\" is already used by the FROM at line \(first); stage names must be unique",
                   snippet: "FROM AS \(name)", scope: scope)
        } else {
          seenNames[name] = from.position.line
        }
      }
      guard stage.parent == nil, let image = stage.image else { continue }
      if image.lowercased() == "scratch" { continue }
      if image.contains("$") { continue }
      let reference = ImageReference(image)
      if reference.isUntagged {
        sink.add("IBX-DF-003", at: from.position, object: stage.object,
                 "FROM \(image) has no tag or digest, so it means \(image):latest; pin a version such as \(image):1.2.3",
                 snippet: "FROM \(image)", scope: scope)
      } else if reference.isLatest {
        sink.add("IBX-DF-004", at: from.position, object: stage.object,
                 "FROM \(image) uses the moving latest tag; pin a version", snippet: "FROM \(image)", scope: scope)
      }
      if !reference.isDigestPinned {
        sink.add("IBX-DF-005", at: from.position, object: stage.object,
                 "FROM \(image) is not pinned by digest; append @sha256:<digest>", snippet: "FROM \(image)", scope: scope)
      }
      if !settings.trustedRegistries.isEmpty {
        let normalized = Self.normalizedRepository(reference.name)
        let trusted = settings.trustedRegistries.contains { prefix in
          let p = Self.normalizedRepository(prefix)
          return normalized == p || normalized.hasPrefix(p + "/") || Glob.matches(pattern: p, path: normalized)
        }
        if !trusted {
          sink.add("IBX-DF-006", at: from.position, object: stage.object,
                   "FROM \(image) is not from a trusted registry (settings.trusted_registries)", snippet: "FROM \(image)", scope: scope)
        }
      }
    }
  }

  /// `alpine` is `docker.io/library/alpine`, `team/app` is `docker.io/team/app`.
  static func normalizedRepository(_ name: String) -> String {
    let parts = name.split(separator: "/", maxSplits: 1).map(String.init)
    if parts.count == 1 { return "docker.io/library/" + name }
    if parts[0].contains(".") || parts[0].contains(":") || parts[0] == "localhost" { return name }
    return "docker.io/" + name
  }

  static func isRootUser(_ value: String) -> Bool {
    let user = value.split(separator: ":", maxSplits: 1).first.map(String.init) ?? value
    return user == "root" || user == "0" || user.isEmpty
  }

  /// The last USER of the final chain: the instruction and its resolved value (nil = unknown).
  func effectiveUser() -> (Instruction, String?)? {
    for stage in model.finalChain {
      for (instruction, expander) in stage.instructions.reversed() where instruction.keyword == "USER" {
        let result = expander.expand(instruction.argumentString.trimmingCharacters(in: .whitespaces))
        return (instruction, result.isUnknown ? nil : result.text)
      }
    }
    return nil
  }

  func checkFinalImage() {
    let chain = model.finalChain
    guard let final = chain.first else { return }
    let finalFrom = final.from
    if let (instruction, value) = effectiveUser() {
      if let value, Self.isRootUser(value) {
        sink.add("IBX-DF-001", at: instruction.position, object: final.object,
                 "final stage \(final.displayName) runs as root (USER \(value)); switch to a numeric non-root user such as USER 10001:10001",
                 snippet: "USER \(value)", scope: [Int](instruction.lines))
      }
    } else if let base = chain.last?.image, settings.isNonrootBaseImage(base) {
      // The base image is known to set a non-root USER.
    } else {
      sink.add("IBX-DF-001", at: finalFrom.position, object: final.object,
               "final stage \(final.displayName) runs as root (no USER after FROM at line \(finalFrom.position.line)); add USER 10001:10001, or list the base image in settings.nonroot_base_images if it sets one",
               snippet: "no USER", scope: [Int](finalFrom.lines))
    }
    let hasHealthcheck = chain.contains { $0.instructions.contains { $0.instruction.keyword == "HEALTHCHECK" } }
    if !hasHealthcheck {
      sink.add("IBX-DF-024", at: finalFrom.position, object: final.object,
               "final stage \(final.displayName) has no HEALTHCHECK; add HEALTHCHECK CMD [...] or HEALTHCHECK NONE if the orchestrator checks health",
               snippet: "no HEALTHCHECK", scope: [Int](finalFrom.lines))
    }
    // IBX-DF-021 (strict): setuid bits stripped somewhere in the final chain.
    if sink.isEnabled("IBX-DF-021"), !final.isWindows {
      let strips = chain.contains { stage in
        stage.instructions.contains { entry in
          guard entry.instruction.keyword == "RUN" else { return false }
          return scripts(of: entry.instruction).contains { script in
            script.allCommands().contains { item in item.command.words.contains { Self.removesSetuid($0.value) } }
          }
        }
      }
      if !strips {
        sink.add("IBX-DF-021", at: finalFrom.position, object: final.object,
                 "final stage \(final.displayName) does not strip setuid/setgid bits; add RUN find / -xdev -perm /6000 -type f -exec chmod a-s {} +",
                 snippet: "no setuid strip", scope: [Int](finalFrom.lines))
      }
    }
  }

  static func removesSetuid(_ mode: String) -> Bool {
    mode.split(separator: ",").contains { clause in
      guard let minus = clause.firstIndex(of: "-") else { return false }
      let who = clause[..<minus]
      return who.allSatisfy { "ugoa".contains($0) } && clause[minus...].contains("s")
    }
  }

  // MARK: - Instruction rules

  func check(_ instruction: Instruction, expander: VariableExpander, stage: DockerfileModel.Stage, onbuild: Bool) {
    let severity: Severity? = onbuild ? .info : nil
    let prefix = onbuild ? "ONBUILD (runs in downstream builds): " : ""
    let scope = [Int](instruction.lines)
    let object = stage.object
    let escape = model.file.escape
    func report(_ id: String, at position: SourcePosition? = nil, _ message: String, snippet: String = "") {
      sink.add(id, at: position ?? instruction.position, object: object, prefix + message,
               snippet: snippet.isEmpty ? instruction.keyword + " " + instruction.argumentString : snippet,
               scope: scope, severity: severity)
    }

    switch instruction.keyword {
    case "USER":
      let result = expander.expand(instruction.argumentString.trimmingCharacters(in: .whitespaces))
      if !result.isUnknown {
        let parts = result.text.split(separator: ":", omittingEmptySubsequences: false)
        let numeric = parts.allSatisfy { !$0.isEmpty && $0.allSatisfy(\.isNumber) }
        if !numeric {
          report("IBX-DF-002", "USER \(result.text) is a name; use a numeric uid[:gid] (for example USER 10001:10001) so runAsNonRoot can verify it")
        }
      }
    case "MAINTAINER":
      report("IBX-DF-031", "MAINTAINER is deprecated; use LABEL org.opencontainers.image.authors=\"...\"")
    case "ARG", "ENV":
      for pair in DockerfileWords.pairs(instruction, escape: escape) {
        let position = instruction.arguments.position(at: pair.offset)
        let value = pair.value.map { expander.expand($0) }
        let literal = pair.value.map { !$0.isEmpty && !$0.contains("$") && !(value?.text.isEmpty ?? true) } ?? false
        if settings.isSecretName(pair.name) {
          if instruction.keyword == "ARG" {
            report("IBX-DF-008", at: position,
                   "ARG \(pair.name) looks like a secret; build args are kept in the image history, use RUN --mount=type=secret,id=\(pair.name.lowercased()) instead",
                   snippet: "ARG \(pair.name)")
          } else if literal {
            report("IBX-DF-008", at: position,
                   "ENV \(pair.name) sets a secret-looking variable to a literal value stored in the image; pass it at run time or mount it as a secret",
                   snippet: "ENV \(pair.name)")
          }
        }
        if let text = value?.text, Self.disablesVerification(name: pair.name, value: text) {
          report("IBX-DF-011", at: position, "\(instruction.keyword) \(pair.name)=\(text) disables TLS verification for every later step", snippet: "\(pair.name)=\(text)")
        }
      }
    case "EXPOSE":
      for word in DockerfileWords.split(instruction.arguments.characters, escape: escape) {
        let port = expander.expand(word.raw).text.split(separator: "/").first.map(String.init) ?? ""
        if port == "22" {
          report("IBX-DF-023", at: instruction.arguments.position(at: word.offset),
                 "EXPOSE 22 publishes SSH; use docker exec / kubectl exec instead of an SSH server", snippet: "EXPOSE 22")
        }
      }
    case "WORKDIR":
      let result = expander.expand(instruction.argumentString.trimmingCharacters(in: .whitespaces))
      if !result.isUnknown, !Self.isAbsolute(result.text) {
        report("IBX-DF-030", "WORKDIR \(result.text) is relative; use an absolute path such as /\(result.text)")
      }
    case "CMD", "ENTRYPOINT":
      if instruction.malformedExecForm {
        report("IBX-DF-027", "\(instruction.keyword) looks like JSON but is not valid JSON (use double quotes, no trailing comma), so it runs in shell form with sh as PID 1")
      } else if instruction.execForm == nil {
        report("IBX-DF-027", "\(instruction.keyword) in shell form runs under sh, which does not forward SIGTERM; use \(instruction.keyword) [\"executable\", \"arg\"]")
      }
      if Self.startsSSH(instruction) {
        report("IBX-DF-023", "\(instruction.keyword) starts an SSH server; use docker exec / kubectl exec instead")
      }
    case "COPY", "ADD":
      checkCopy(instruction, expander: expander, stage: stage, report: report)
    case "RUN":
      checkRun(instruction, stage: stage, report: report)
    default:
      break
    }
    if !onbuild, ["CMD", "ENTRYPOINT", "HEALTHCHECK"].contains(instruction.keyword),
      let first = stage.firstOf[instruction.keyword], first < instruction.position
    {
      report("IBX-DF-028", "stage \(stage.displayName) has more than one \(instruction.keyword) (first at line \(first.line)); only the last one applies")
    }
  }

  static func isAbsolute(_ path: String) -> Bool {
    if path.hasPrefix("/") || path.hasPrefix("$") || path.hasPrefix("\\") { return true }
    let chars = Array(path)
    return chars.count >= 2 && chars[0].isLetter && chars[1] == ":"
  }

  static func startsSSH(_ instruction: Instruction) -> Bool {
    let words = instruction.execForm ?? instruction.argumentString.split(separator: " ").map(String.init)
    return words.contains { ["sshd", "/usr/sbin/sshd", "dropbear", "/usr/sbin/dropbear"].contains($0) }
  }

  static let tlsVariables: [String: @Sendable (String) -> Bool] = [
    "PYTHONHTTPSVERIFY": { $0 == "0" },
    "NODE_TLS_REJECT_UNAUTHORIZED": { $0 == "0" },
    "GIT_SSL_NO_VERIFY": { !$0.isEmpty && !["0", "false"].contains($0.lowercased()) },
    "NPM_CONFIG_STRICT_SSL": { ["false", "0"].contains($0.lowercased()) },
    "PIP_TRUSTED_HOST": { !$0.isEmpty },
    "CURL_INSECURE": { !$0.isEmpty },
  ]

  static func disablesVerification(name: String, value: String) -> Bool {
    tlsVariables[name.uppercased()]?(value) ?? false
  }

  // MARK: COPY / ADD

  func checkCopy(
    _ instruction: Instruction, expander: VariableExpander, stage: DockerfileModel.Stage,
    report: (String, SourcePosition?, String, String) -> Void
  ) {
    let escape = model.file.escape
    var words: [(text: String, position: SourcePosition)]
    if let exec = instruction.execForm {
      words = exec.map { ($0, instruction.arguments.position(at: 0)) }
    } else {
      words = DockerfileWords.split(instruction.arguments.characters, escape: escape).map {
        (expander.expand($0.raw).text, instruction.arguments.position(at: $0.offset))
      }
    }
    // Heredoc sources (`COPY <<EOF /dest`) are not files from the context.
    if !instruction.heredocs.isEmpty { words.removeAll { $0.text.hasPrefix("<<") } }
    guard let destination = words.last else { return }
    let sources = words.dropLast()
    let from = instruction.flag("from")?.value
    let keyword = instruction.keyword

    if keyword == "ADD" {
      let remote = !sources.isEmpty && sources.allSatisfy { Self.isRemote($0.text) }
      if remote {
        if instruction.flag("checksum") == nil {
          report("IBX-DF-007", nil, "ADD \(sources.first!.text) downloads without --checksum; add --checksum=sha256:<digest> or download and verify in RUN", "")
        }
      } else {
        report("IBX-DF-007", nil, "ADD of local files also extracts archives implicitly; use COPY (and extract explicitly in RUN if needed)", "")
      }
    }
    if from == nil {
      for source in sources where Self.isSecretFile(source.text) {
        report("IBX-DF-009", source.position,
               "\(keyword) \(source.text) copies a file that usually holds a secret into a layer; use RUN --mount=type=secret or mount it at run time",
               "\(keyword) \(source.text)")
      }
      if sources.contains(where: { $0.text == "." || $0.text == "./" }), let directory {
        let fm = FileManager.default
        let ignored = fm.fileExists(atPath: directory.appendingPathComponent(".dockerignore").path)
          || fm.fileExists(atPath: directory.appendingPathComponent(fileName + ".dockerignore").path)
        if !ignored {
          report("IBX-DF-033", nil, "\(keyword) . copies the whole build context but there is no .dockerignore next to \(fileName); .git, .env and keys would be copied", "")
        }
      }
    }
    if let from {
      checkCopyFrom(from, instruction: instruction, stage: stage, report: report)
      if sources.contains(where: { $0.text == "/" }) {
        report("IBX-DF-034", nil, "COPY --from=\(from) / copies the whole filesystem of \(from); copy only the artefacts you need", "")
      }
    }
    if let chmod = instruction.flag("chmod")?.value {
      if Self.worldWritable(chmod) {
        report("IBX-DF-022", instruction.flag("chmod")?.position, "\(keyword) --chmod=\(chmod) makes files world-writable; use 755/644", "--chmod=\(chmod)")
      }
      if Self.addsSetuid(chmod) {
        report("IBX-DF-020", instruction.flag("chmod")?.position, "\(keyword) --chmod=\(chmod) sets the setuid/setgid bit", "--chmod=\(chmod)")
      }
    }
    if !Self.isAbsolute(destination.text), !destination.text.hasPrefix("<<") {
      let hasWorkdir = model.chain(from: stage.index).contains { s in
        guard let workdir = s.firstOf["WORKDIR"] else { return false }
        return workdir < instruction.position || s.index != stage.index
      }
      if !hasWorkdir {
        report("IBX-DF-030", destination.position,
               "\(keyword) to the relative path \(destination.text) with no WORKDIR set; set WORKDIR /app first or use an absolute destination",
               "\(keyword) -> \(destination.text)")
      }
    }
  }

  func checkCopyFrom(
    _ from: String, instruction: Instruction, stage: DockerfileModel.Stage,
    report: (String, SourcePosition?, String, String) -> Void
  ) {
    let position = instruction.flag("from")?.position
    if let index = Int(from) {
      if index >= stage.index {
        report("IBX-DF-032", position, "COPY --from=\(from) refers to stage \(index), which is not an earlier stage", "--from=\(from)")
      }
      return
    }
    let name = from.lowercased()
    if name.contains("$") { return }
    if name == stage.name {
      report("IBX-DF-032", position, "COPY --from=\(from) copies from the stage it is in", "--from=\(from)")
    } else if model.stages.contains(where: { $0.name == name && $0.index < stage.index }) {
      return
    } else if model.stages.contains(where: { $0.name == name }) {
      report("IBX-DF-032", position, "COPY --from=\(from) refers to a stage defined later in the file", "--from=\(from)")
    } else if !(name.contains("/") || name.contains(":") || name.contains("@") || name.contains(".")) {
      report("IBX-DF-032", position,
             "COPY --from=\(from) names no stage of this file, so the image docker.io/library/\(name) would be pulled; check the stage name",
             "--from=\(from)")
    }
  }

  static func isRemote(_ source: String) -> Bool {
    let lower = source.lowercased()
    return lower.hasPrefix("http://") || lower.hasPrefix("https://") || lower.hasPrefix("git@") || lower.hasPrefix("git://")
      || lower.hasPrefix("ssh://") || lower.hasSuffix(".git")
  }

  static func isSecretFile(_ path: String) -> Bool {
    let lower = path.lowercased()
    if lower.hasSuffix(".aws/credentials") { return true }
    let base = lower.split(separator: "/").last.map(String.init) ?? lower
    if [".example", ".sample", ".template", ".dist", ".pub"].contains(where: base.hasSuffix) { return false }
    if base == ".env" || base.hasPrefix(".env.") { return true }
    if base.hasPrefix("id_rsa") || base.hasPrefix("id_ed25519") || base.hasPrefix("id_ecdsa") || base.hasPrefix("id_dsa") { return true }
    if base.hasSuffix(".pem") || base.hasSuffix(".key") { return true }
    return [".npmrc", ".pypirc", ".netrc", ".git-credentials", "kubeconfig", ".dockercfg"].contains(base)
  }

  // MARK: Modes

  /// Numeric (`777`, `0666`) or symbolic (`o+w`, `a+rwx`) modes that let anyone write.
  static func worldWritable(_ mode: String) -> Bool {
    if mode.allSatisfy(\.isNumber), mode.count >= 3, let value = Int(mode, radix: 8) {
      return value & 0o002 != 0 && value & 0o1000 == 0
    }
    return mode.split(separator: ",").contains { clause in
      guard let op = clause.firstIndex(where: { $0 == "+" || $0 == "=" }) else { return false }
      let who = clause[..<op]
      return (who.contains("o") || who.contains("a")) && clause[clause.index(after: op)...].contains("w")
    }
  }

  static func addsSetuid(_ mode: String) -> Bool {
    if mode.allSatisfy(\.isNumber), mode.count == 4, let value = Int(mode, radix: 8) {
      return value & 0o6000 != 0
    }
    if mode.allSatisfy(\.isNumber) { return false }
    return mode.split(separator: ",").contains { clause in
      guard let op = clause.firstIndex(where: { $0 == "+" || $0 == "=" }) else { return false }
      let who = clause[..<op]
      guard who.allSatisfy({ "ugoa".contains($0) }) else { return false }
      return clause[clause.index(after: op)...].contains("s") && (who.isEmpty || who.contains("u") || who.contains("g") || who.contains("a"))
    }
  }
}
