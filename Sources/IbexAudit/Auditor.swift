import Foundation

/// Finds the inputs, parses them, runs the rules and applies suppressions.
public enum Auditor {
  /// `unknown`: a file named on the command line whose name says neither; its content decides.
  enum InputType { case dockerfile, yaml, unknown }

  struct Input {
    var url: URL
    var display: String
    var type: InputType
    /// Named on the command line (an unrecognised YAML file is then reported, not skipped).
    var explicit: Bool
  }

  public static func run(_ options: AuditOptions) -> AuditReport {
    let enabledRules = options.enabledRules
    let enabled = Set(enabledRules.map(\.id))
    var findings: [Finding] = []
    var errors: [Finding] = []
    var scanned = 0
    let inputs = discover(options, errors: &errors)

    // Dockerfiles first: compose services may use their facts.
    var facts: [String: DockerfileFacts] = [:]
    var parsedDockerfiles: [(Input, Dockerfile, String)] = []
    var yamlInputs: [(Input, String, [YAMLNode])] = []
    for input in inputs {
      // Found by walking a directory: parse only what can be a compose file or a manifest, so
      // unrelated YAML/JSON (CI workflows, data files) costs little and cannot fail the run.
      if input.type == .yaml, !input.explicit, !mayBeAudited(prefixOf: input.url) { continue }
      guard let text = read(input, limit: options.maxFileSize, errors: &errors) else { continue }
      var input = input
      if input.type == .unknown {
        if looksLikeDockerfile(text) {
          input.type = .dockerfile
        } else if mayBeAudited(text) {
          input.type = .yaml
        } else {
          findings.append(skip(input.display, "not a Dockerfile (no instruction on its first line), compose file or Kubernetes manifest", enabled))
          continue
        }
      }
      switch input.type {
      case .dockerfile:
        do {
          let file = try DockerfileParser.parse(text)
          parsedDockerfiles.append((input, file, text))
          scanned += 1
        } catch {
          errors.append(parseFailure(input.display, error, kind: .dockerfile))
        }
      case .unknown:
        continue
      case .yaml:
        if text.contains("{{") && text.contains("}}") {
          findings.append(skip(input.display, "templated file (Helm {{ }}); audit the rendered output, e.g. helm template ... > rendered.yaml", enabled))
          continue
        }
        do {
          yamlInputs.append((input, text, try YAMLReader.documents(text)))
          scanned += 1
        } catch {
          errors.append(parseFailure(input.display, error, kind: .compose))
        }
      }
    }
    for (input, file, _) in parsedDockerfiles {
      let checker = DockerfileChecker(file: file, path: input.display, url: input.url, settings: options.configuration.settings, enabled: enabled, target: options.target)
      facts[input.url.standardizedFileURL.path] = checker.facts
      var result = checker.check()
      let suppressions = SuppressionComment.inDockerfile(file)
      result += applySuppressions(suppressions, to: &result, file: input.display, kind: .dockerfile, options: options, enabled: enabled)
      findings += result
    }

    // Kubernetes objects of the whole run (NetworkPolicies select across files).
    var kubernetes: [(Input, String, [KubernetesObject])] = []
    for (input, text, documents) in yamlInputs {
      if documents.count == 1, let root = documents.first, ComposeModel.looksLikeCompose(root) {
        let model = ComposeModel(root: root, interpolation: ComposeInterpolation(environment: options.environment))
        let checker = ComposeChecker(
          model: model, settings: options.configuration.settings, directory: input.url.deletingLastPathComponent(),
          dockerfiles: facts, sink: FindingSink(file: input.display, kind: .compose, enabled: enabled))
        var result = checker.check()
        result += applySuppressions(SuppressionComment.inYAML(text), to: &result, file: input.display, kind: .compose, options: options, enabled: enabled)
        findings += result
        continue
      }
      var objects: [KubernetesObject] = []
      var skipped: String?
      for (index, document) in documents.enumerated() {
        objects += kubernetesObjects(document, document: index, skipped: &skipped)
      }
      if objects.isEmpty {
        if input.explicit || skipped != nil {
          findings.append(skip(input.display, skipped ?? "not a compose file (no top-level services:) or Kubernetes manifest (no apiVersion/kind)", enabled))
        } else {
          scanned -= 1
        }
        continue
      }
      kubernetes.append((input, text, objects))
    }
    let policies = kubernetes.flatMap { $0.2 }.filter { $0.kind == "NetworkPolicy" }
    for (input, text, objects) in kubernetes {
      let checker = KubernetesChecker(
        objects: objects, networkPolicies: policies, settings: options.configuration.settings,
        sink: FindingSink(file: input.display, kind: .kubernetes, enabled: enabled))
      var result = checker.check()
      result += applySuppressions(SuppressionComment.inYAML(text), to: &result, file: input.display, kind: .kubernetes, options: options, enabled: enabled)
      findings += result
    }

    // Configuration: severity overrides and per-path ignores (reported as external suppressions).
    for index in findings.indices {
      if let severity = options.configuration.severity[findings[index].ruleID] { findings[index].severity = severity }
      if findings[index].suppression == nil, !findings[index].ruleID.hasPrefix("IBX-META") {
        for override in options.configuration.overrides where override.ignore.contains(findings[index].ruleID) {
          if override.files.contains(where: { Glob.matches(pattern: $0, path: findings[index].file) }) {
            findings[index].suppression = Suppression(kind: .external, justification: "overrides in \(options.configuration.path ?? ".ibex.yaml")")
          }
        }
      }
    }
    findings.sort(by: Finding.ordered)
    errors.sort(by: Finding.ordered)
    return AuditReport(findings: findings, errors: errors, filesScanned: scanned, rules: enabledRules, failOn: options.effectiveFailOn)
  }

  /// The pre-check on the first 64 KiB of a file, without reading the rest.
  static func mayBeAudited(prefixOf url: URL) -> Bool {
    guard let handle = try? FileHandle(forReadingFrom: url) else { return true }
    defer { try? handle.close() }
    guard let data = try? handle.read(upToCount: 65_536) else { return true }
    return mayBeAudited(String(decoding: data, as: UTF8.self))
  }

  /// A top-level `services:` key, or `apiVersion` and `kind` keys, in the first 64 KiB.
  static func mayBeAudited(_ text: String) -> Bool {
    var apiVersion = false
    var kind = false
    var scanned = 0
    for line in text.split(separator: "\n", omittingEmptySubsequences: true) {
      scanned += line.utf8.count + 1
      if scanned > 65_536 { break }
      if line.hasPrefix("services:") { return true }
      var key = line.drop(while: { $0 == " " || $0 == "\t" || $0 == "-" || $0 == "{" || $0 == "," })
      if key.hasPrefix("\"") { key = key.dropFirst() }
      if key.hasPrefix("apiVersion") || line.contains("\"apiVersion\"") { apiVersion = true }
      if key.hasPrefix("kind") || line.contains("\"kind\"") { kind = true }
      if apiVersion && kind { return true }
    }
    return false
  }

  /// The first line that is not blank, a comment or a parser directive starts with a Dockerfile
  /// instruction written in capitals (`docker build -f app.docker` takes any name; prose such as
  /// "From here..." is not one).
  static func looksLikeDockerfile(_ text: String) -> Bool {
    var scanned = 0
    for line in text.split(separator: "\n", omittingEmptySubsequences: true) {
      scanned += line.utf8.count + 1
      if scanned > 65_536 { return false }
      let trimmed = line.drop(while: { $0 == " " || $0 == "\t" || $0 == "\u{FEFF}" })
      if trimmed.isEmpty || trimmed.hasPrefix("#") || trimmed.allSatisfy({ $0 == "\r" }) { continue }
      let keyword = String(trimmed.prefix(while: { $0.isASCII && $0.isUppercase }))
      let after = trimmed.dropFirst(keyword.count).first
      return DockerfileParser.instructions.contains(keyword) && (after == nil || after == " " || after == "\t" || after == "\r")
    }
    return false
  }

  static func skip(_ file: String, _ reason: String, _ enabled: Set<String>) -> Finding {
    Finding(ruleID: "IBX-META-004", severity: .info, kind: .meta, file: file, start: .start, object: "file", message: "skipped: \(reason)", snippet: "skipped")
  }

  static func parseFailure(_ file: String, _ error: ParseError, kind: InputKind) -> Finding {
    Finding(ruleID: "IBX-META-001", severity: .high, kind: .meta, file: file, start: error.position, object: "file",
            message: "not audited: \(error.message)", snippet: "parse error")
  }

  static func read(_ input: Input, limit: Int, errors: inout [Finding]) -> String? {
    func fail(_ message: String, _ snippet: String) -> String? {
      errors.append(Finding(ruleID: "IBX-META-001", severity: .high, kind: .meta, file: input.display, start: .start, object: "file",
                            message: "not audited: \(message)", snippet: snippet))
      return nil
    }
    do {
      // Only regular files: a FIFO or a device named on the command line would block or never end.
      let attributes = try FileManager.default.attributesOfItem(atPath: input.url.path)
      if let type = attributes[.type] as? FileAttributeType, type != .typeRegular {
        return fail("not a regular file", "not a file")
      }
      if let size = (attributes[.size] as? NSNumber)?.intValue, size > limit {
        return fail("the file has \(size) bytes, more than the limit of \(sizeText(limit)); raise it with --max-file-size if the file is really this big", "too big")
      }
      let handle = try FileHandle(forReadingFrom: input.url)
      defer { try? handle.close() }
      // The file may have grown since it was measured: never read more than the limit.
      let data = try handle.read(upToCount: limit + 1) ?? Data()
      if data.count > limit {
        return fail("the file has more than \(sizeText(limit)); raise the limit with --max-file-size if the file is really this big", "too big")
      }
      guard let text = String(data: data, encoding: .utf8) else {
        return fail("the file is not UTF-8 text", "encoding")
      }
      return text
    } catch {
      return fail("unable to read the file: \(Self.reason(error))", "unreadable")
    }
  }

  static func sizeText(_ bytes: Int) -> String {
    bytes % (1 << 20) == 0 ? "\(bytes >> 20) MiB" : "\(bytes) bytes"
  }

  static func reason(_ error: any Error) -> String {
    let nsError = error as NSError
    if let underlying = nsError.userInfo[NSUnderlyingErrorKey] as? NSError, underlying.domain == NSPOSIXErrorDomain {
      return String(cString: strerror(Int32(underlying.code)))
    }
    if nsError.domain == NSCocoaErrorDomain, nsError.code == NSFileReadNoSuchFileError { return "No such file or directory" }
    return nsError.localizedDescription
  }

  /// Objects in one YAML document: a workload, a `List`'s items, or nothing.
  static func kubernetesObjects(_ node: YAMLNode, document: Int, skipped: inout String?) -> [KubernetesObject] {
    guard let kind = node["kind"]?.string, let apiVersion = node["apiVersion"]?.string else { return [] }
    if kind == "List" || kind.hasSuffix("List") {
      return (node["items"]?.items ?? []).flatMap { kubernetesObjects($0, document: document, skipped: &skipped) }
    }
    if kind == "Kustomization" {
      skipped = "Kustomize file; audit the output of kustomize build instead"
      return []
    }
    let name = node.at("metadata", "name")?.string ?? node.at("metadata", "generateName")?.string ?? "?"
    return [KubernetesObject(kind: kind, apiVersion: apiVersion, name: name, namespace: node.at("metadata", "namespace")?.string, node: node, document: document)]
  }

  // MARK: - Suppressions

  /// Marks suppressed findings; returns IBX-META-002/003 diagnostics about the suppressions.
  static func applySuppressions(
    _ comments: [SuppressionComment], to findings: inout [Finding], file: String, kind: InputKind, options: AuditOptions, enabled: Set<String>
  ) -> [Finding] {
    var comments = comments.filter { !$0.foreign || options.honorForeignSuppressions }
    var meta: [Finding] = []
    for comment in comments where !comment.foreign {
      for id in comment.rules where RuleCatalog.rule(id) == nil {
        meta.append(Finding(ruleID: "IBX-META-002", severity: .medium, kind: .meta, file: file, start: comment.position, object: "suppression",
                            message: "unknown rule id \(id) in ibex-ignore\(didYouMean(id, among: RuleCatalog.all.map(\.id)))", snippet: "unknown \(id)"))
      }
      if comment.reason == nil, options.requireSuppressionReason {
        meta.append(Finding(ruleID: "IBX-META-002", severity: .medium, kind: .meta, file: file, start: comment.position, object: "suppression",
                            message: "ibex-ignore without a reason; add one after --, e.g. # ibex-ignore IBX-DF-024 -- health is checked by Kubernetes", snippet: "no reason"))
      }
    }
    // A finding takes the first comment (in file order) that names its rule and covers one of
    // its lines. Indexed by rule and covered line, so that many comments and many findings do
    // not cost their product: for each (rule, target) only the first usable comment matters.
    struct Targets {
      var first: [ClosedRange<Int>: Int] = [:]
      var byLine: [Int: [ClosedRange<Int>]] = [:]
      var wide: [ClosedRange<Int>] = []
    }
    var byRule: [String: Targets] = [:]
    for c in comments.indices {
      let comment = comments[c]
      if comment.reason == nil && options.requireSuppressionReason { continue }
      for rule in Set(comment.rules) {
        guard byRule[rule]?.first[comment.target] == nil else { continue }
        byRule[rule, default: Targets()].first[comment.target] = c
        if comment.target.count <= 256 {
          for line in comment.target { byRule[rule]!.byLine[line, default: []].append(comment.target) }
        } else {
          byRule[rule]!.wide.append(comment.target)
        }
      }
    }
    for index in findings.indices where findings[index].suppression == nil {
      guard let targets = byRule[findings[index].ruleID] else { continue }
      var chosen: Int?
      func consider(_ target: ClosedRange<Int>) {
        if let c = targets.first[target], chosen.map({ c < $0 }) ?? true { chosen = c }
      }
      for line in findings[index].scopeLines {
        for target in targets.byLine[line] ?? [] { consider(target) }
      }
      for target in targets.wide where findings[index].scopeLines.contains(where: { target.contains($0) }) { consider(target) }
      guard let c = chosen else { continue }
      findings[index].suppression = Suppression(kind: .inSource, justification: comments[c].reason ?? "")
      comments[c].used = true
    }
    if options.reportUnusedSuppressions {
      for comment in comments where !comment.used && !comment.foreign {
        meta.append(Finding(ruleID: "IBX-META-003", severity: .info, kind: .meta, file: file, start: comment.position, object: "suppression",
                            message: "ibex-ignore \(comment.rules.joined(separator: " ")) suppressed nothing; remove it", snippet: "unused \(comment.rules)"))
      }
    }
    return meta.filter { enabled.contains($0.ruleID) || $0.ruleID == "IBX-META-003" }
  }

  // MARK: - Discovery

  /// Extensions that mark a `Dockerfile.*` name as something else (`Dockerfile.swift` is source code).
  static let nonDockerfileExtensions: Set<String> = [
    "swift", "go", "py", "rs", "c", "h", "js", "ts", "java", "kt", "rb", "md", "txt", "json", "yaml", "yml", "sh",
    "dockerignore", "orig", "bak", "swp", "html", "adoc", "rst",
  ]

  static func isDockerfileName(_ name: String) -> Bool {
    let lower = name.lowercased()
    if lower == "dockerfile" || lower == "containerfile" || lower.hasSuffix(".dockerfile") || lower.hasSuffix(".containerfile") { return true }
    guard lower.hasPrefix("dockerfile.") || lower.hasPrefix("containerfile.") else { return false }
    let ext = lower.split(separator: ".").last.map(String.init) ?? ""
    return !nonDockerfileExtensions.contains(ext)
  }

  static func isYAMLName(_ name: String) -> Bool {
    let lower = name.lowercased()
    return lower.hasSuffix(".yaml") || lower.hasSuffix(".yml") || lower.hasSuffix(".json")
  }

  static let skippedDirectories: Set<String> = [".git", "node_modules", ".build", ".swiftpm", "__pycache__", ".venv"]

  static func discover(_ options: AuditOptions, errors: inout [Finding]) -> [Input] {
    let fm = FileManager.default
    var inputs: [Input] = []
    var seen = Set<String>()
    func add(_ url: URL, explicit: Bool) {
      let name = url.lastPathComponent
      let display = displayPath(url, cwd: options.workingDirectory)
      if name.hasSuffix(".dockerignore") || name == ".ibex.yaml" || name == ".ibex.yml" { return }
      if options.configuration.exclude.contains(where: { Glob.matches(pattern: $0, path: display) }) { return }
      let type: InputType
      if isDockerfileName(name) {
        type = .dockerfile
      } else if isYAMLName(name) {
        type = .yaml
      } else if explicit {
        type = .unknown
      } else {
        return
      }
      guard seen.insert(url.standardizedFileURL.path).inserted else { return }
      inputs.append(Input(url: url, display: display, type: type, explicit: explicit))
    }
    for path in options.paths {
      let url = path.hasPrefix("/") ? URL(fileURLWithPath: path) : options.workingDirectory.appendingPathComponent(path)
      var isDirectory: ObjCBool = false
      guard fm.fileExists(atPath: url.path, isDirectory: &isDirectory) else {
        errors.append(Finding(ruleID: "IBX-META-001", severity: .high, kind: .meta, file: path, start: .start, object: "file",
                              message: "not audited: unable to open \(path): No such file or directory", snippet: "missing"))
        continue
      }
      if !isDirectory.boolValue {
        add(url, explicit: true)
        continue
      }
      let candidates = DirectoryWalker.files(under: url.path) { name in
        skippedDirectories.contains(name) || name.hasPrefix(".build")
      }
      let found = candidates.compactMap { path -> URL? in
        let name = path.split(separator: "/").last.map(String.init) ?? path
        return isDockerfileName(name) || isYAMLName(name) ? URL(fileURLWithPath: path) : nil
      }
      for child in found { add(child, explicit: false) }
    }
    return inputs
  }

  /// Relative to the working directory when below it, else absolute.
  static func displayPath(_ url: URL, cwd: URL) -> String {
    let path = url.standardizedFileURL.path
    let base = cwd.standardizedFileURL.path
    let prefix = base.hasSuffix("/") ? base : base + "/"
    return path.hasPrefix(prefix) ? String(path.dropFirst(prefix.count)) : path
  }
}
