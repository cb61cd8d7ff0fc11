import Foundation
import Testing

/// The files CI and users build and deploy with cannot be run here (no Docker, no cluster, no
/// GitHub): they are kept valid by the linters scripts/install-python-tools.sh installs, and
/// consistent with each other by the checks below.
@Suite("Image, workflow and deployment files")
struct ImageLintTests {
  /// The project's Dockerfiles: every `Dockerfile` and `*.Dockerfile` outside build directories
  /// and ibex-audit's fixtures (which are wrong on purpose).
  static let dockerfiles: [String] = {
    var found: [String] = []
    let root = URL(fileURLWithPath: repositoryRoot)
    let skipped = ["Tests/IbexAuditTests/Fixtures", "node_modules"]
    guard let walker = FileManager.default.enumerator(at: root, includingPropertiesForKeys: nil) else { return [] }
    for case let url as URL in walker {
      let relative = String(url.path.dropFirst(repositoryRoot.count + 1))
      let name = url.lastPathComponent
      if name.hasPrefix(".build") || name == ".git" || skipped.contains(where: { relative.hasPrefix($0) }) {
        walker.skipDescendants()
        continue
      }
      if name == "Dockerfile" || name.hasSuffix(".Dockerfile") { found.append(relative) }
    }
    return found.sorted()
  }()

  static let workflows: [String] = {
    let directory = "\(repositoryRoot)/.github/workflows"
    let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
    return names.filter { $0.hasSuffix(".yml") || $0.hasSuffix(".yaml") }.sorted().map { ".github/workflows/\($0)" }
  }()

  static let manifests: [String] = {
    let directory = "\(repositoryRoot)/deploy/kubernetes"
    let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
    return names.filter { $0.hasSuffix(".yaml") || $0.hasSuffix(".yml") }.sorted().map { "deploy/kubernetes/\($0)" }
  }()

  /// Runs a linter from the repository root; it passes when it exits 0.
  func lint(_ tool: String, _ arguments: [String]) throws {
    let path = try #require(executable(tool))
    let result = try runCommand(
      ["/usr/bin/env", "-C", repositoryRoot, path] + arguments, environment: ProcessInfo.processInfo.environment,
      timeout: 300)
    #expect(result.status == 0, "\(tool) \(arguments.joined(separator: " ")):\n\(result.stdout)\(result.stderr)")
  }

  @Test("the image and the sample app have Dockerfiles")
  func dockerfilesFound() {
    #expect(Self.dockerfiles.contains("images/alpine/Dockerfile"))
    #expect(Self.dockerfiles.contains("deploy/compose/app/Dockerfile"))
  }

  @Test(
    "hadolint passes every Dockerfile of the project",
    .enabled(if: executable("hadolint") != nil, "hadolint is missing: run scripts/install-python-tools.sh"))
  func hadolint() throws {
    try lint("hadolint", ["--no-color"] + Self.dockerfiles)
  }

  @Test(
    "actionlint passes the workflows",
    .enabled(if: executable("actionlint") != nil, "actionlint is missing: run scripts/install-python-tools.sh"))
  func actionlint() throws {
    #expect(!Self.workflows.isEmpty)
    try lint("actionlint", ["-no-color"] + Self.workflows)
  }

  @Test(
    "zizmor finds nothing in the workflows (offline audits, default persona)",
    .enabled(if: executable("zizmor") != nil, "zizmor is missing: run scripts/install-python-tools.sh"))
  func zizmor() throws {
    try lint("zizmor", ["--offline", "--no-progress", "--color", "never", ".github/workflows"])
  }

  @Test(
    "kubernetes-validate accepts the manifests, strictly (unknown fields are errors), for Kubernetes 1.30 and 1.37",
    .enabled(if: executable("kubernetes-validate") != nil, "kubernetes-validate is missing: run scripts/install-python-tools.sh"),
    arguments: ["1.30.0", "1.37.0"])
  func kubernetesValidate(version: String) throws {
    #expect(!Self.manifests.isEmpty)
    try lint("kubernetes-validate", ["--strict", "--quiet", "-k", version] + Self.manifests)
  }

  @Test(
    "kubernetes-validate rejects a misspelt security field (the check has teeth)",
    .enabled(if: executable("kubernetes-validate") != nil, "kubernetes-validate is missing: run scripts/install-python-tools.sh"))
  func kubernetesValidateRejects() throws {
    let broken = repositoryFile("deploy/kubernetes/ibex-sample.yaml")
      .replacingOccurrences(of: "readOnlyRootFilesystem", with: "readOnlyRootFileSystem")
    let file = makeScratchDirectory() + "/broken.yaml"
    try broken.write(toFile: file, atomically: true, encoding: .utf8)
    let result = try runCommand([try #require(executable("kubernetes-validate")), "--strict", "--quiet", file])
    #expect(result.status != 0)
  }

  /// The value of `key: value` (YAML) lines, in file order.
  func values(of key: String, in text: String) -> [String] {
    text.split(separator: "\n").compactMap { line -> String? in
      let trimmed = line.trimmingCharacters(in: .whitespaces).replacingOccurrences(of: "- ", with: "")
      guard trimmed.hasPrefix("\(key):") else { return nil }
      return trimmed.dropFirst(key.count + 1).trimmingCharacters(in: .whitespaces).replacingOccurrences(of: "\"", with: "")
    }
  }

  /// Seconds in `9s`, `15s`, `1m`, `15`.
  func seconds(_ text: String) -> Int? {
    if text.hasSuffix("m"), let minutes = Int(text.dropLast()) { return minutes * 60 }
    if text.hasSuffix("s") { return Int(text.dropLast()) }
    return Int(text)
  }

  @Test("the deployments give ibex more time to stop than its shutdown bound, and run as the image's user")
  func deploymentsAgreeWithTheImage() throws {
    let compose = repositoryFile("deploy/compose/compose.yaml")
    let kubernetes = repositoryFile("deploy/kubernetes/ibex-sample.yaml")
    let dockerfile = repositoryFile("images/alpine/Dockerfile")

    // ibex's bound (IBEX_SHUTDOWN_TIMEOUT, 9s unless set) < the orchestrator's SIGKILL delay.
    let composeBound = try #require(values(of: "IBEX_SHUTDOWN_TIMEOUT", in: compose).first.flatMap(seconds))
    let composeGrace = try #require(values(of: "stop_grace_period", in: compose).first.flatMap(seconds))
    #expect(composeBound < composeGrace)
    let kubernetesBound = try #require(
      kubernetes.range(of: "name: IBEX_SHUTDOWN_TIMEOUT\n").flatMap { values(of: "value", in: String(kubernetes[$0.upperBound...])).first }
        .flatMap(seconds))
    let kubernetesGrace = try #require(values(of: "terminationGracePeriodSeconds", in: kubernetes).first.flatMap(seconds))
    #expect(kubernetesBound < kubernetesGrace)
    #expect(values(of: "stop_signal", in: compose) == ["SIGTERM"] && dockerfile.contains("\nSTOPSIGNAL SIGTERM\n"))

    // One unprivileged uid everywhere: setup.sh's, the rootless USER, compose's, the pod's.
    #expect(repositoryFile("images/alpine/setup.sh").contains("uid=${IBEX_UID:-10001}"))
    #expect(dockerfile.contains("\nUSER 10001:10001\n"))
    #expect(repositoryFile("deploy/compose/app/Dockerfile").contains("\nUSER 10001:10001\n"))
    #expect(values(of: "user", in: compose) == ["10001:10001"])
    #expect(values(of: "runAsUser", in: kubernetes) == ["10001"] && values(of: "runAsGroup", in: kubernetes) == ["10001"])

    // Health: `ibex check` in the image, compose and the probes.
    #expect(dockerfile.contains(#"CMD ["/usr/sbin/ibex", "check"]"#))
    #expect(compose.contains(#"test: ["CMD", "/usr/sbin/ibex", "check"]"#))
    #expect(kubernetes.contains(#"command: ["/usr/sbin/ibex", "check", "--ready"]"#))
    #expect(kubernetes.contains(#"command: ["/usr/sbin/ibex", "check", "--live"]"#))
  }

  @Test("the hardening of compose.yaml and the Kubernetes manifest (SECURITY.md, runtime practices)")
  func deploymentsAreHardened() {
    let compose = repositoryFile("deploy/compose/compose.yaml")
    for line in [
      "read_only: true", "cap_drop: [ALL]", "- no-new-privileges:true", "mem_limit: 128m", "cpus: 0.5", "pids_limit: 64",
      "- /run:rw,noexec,nosuid,nodev,size=16m,mode=1777", "- /tmp:rw,noexec,nosuid,nodev,size=32m,mode=1777",
      "read_only: true", "- \"127.0.0.1:8080:8080\"", "file: ./secrets/app_token",
    ] {
      #expect(compose.contains(line), "compose.yaml lacks \(line)")
    }
    #expect(!compose.contains("cap_add:") && !compose.contains("privileged:"))
    let kubernetes = repositoryFile("deploy/kubernetes/ibex-sample.yaml")
    for line in [
      "runAsNonRoot: true", "readOnlyRootFilesystem: true", "allowPrivilegeEscalation: false", "drop: [\"ALL\"]",
      "type: RuntimeDefault", "automountServiceAccountToken: false", "pod-security.kubernetes.io/enforce: restricted",
      "secretName: ibex-sample-token", "readOnly: true", "medium: Memory",
    ] {
      #expect(kubernetes.contains(line), "ibex-sample.yaml lacks \(line)")
    }
    #expect(!kubernetes.contains("secretKeyRef") && !kubernetes.contains("hostPath") && !kubernetes.contains("add:"))
    for key in ["cpu", "memory"] { #expect(values(of: key, in: kubernetes).count == 2, "request and limit of \(key)") }
  }

  @Test("the Dockerfile pins its bases by ARG, on a branch images/versions lists, and the deployments use that branch")
  func baseImagesArePinned() throws {
    let dockerfile = repositoryFile("images/alpine/Dockerfile")
    let alpine = try #require(
      dockerfile.split(separator: "\n").first { $0.hasPrefix("ARG ALPINE_VERSION=") }.map { String($0.dropFirst(19)) })
    #expect(dockerfile.contains("\nFROM alpine:${ALPINE_VERSION} AS default\n"))
    #expect(dockerfile.contains("\nARG SWIFT_IMAGE=swift:6.") && dockerfile.contains("\nFROM ${SWIFT_IMAGE} AS builder\n"))
    let branches = repositoryFile("images/versions").split(separator: "\n").filter { !$0.hasPrefix("#") }
      .compactMap { $0.split(separator: " ").first.map(String.init) }
    #expect(branches.contains(alpine), "ALPINE_VERSION=\(alpine) is not in images/versions")
    #expect(repositoryFile("deploy/compose/app/Dockerfile").contains("ibex-alpine:\(alpine)-rootless\n"))
    #expect(repositoryFile("deploy/compose/compose.yaml").contains("ibex-alpine:\(alpine)-rootless}"))
    // Nothing is fetched with curl or wget in the images: packages come signed from apt and apk.
    for file in Self.dockerfiles where !file.hasPrefix("Tests/") {
      let text = repositoryFile(file)
      #expect(!text.contains("curl ") && !text.contains("wget ") && !text.contains("ADD "), "\(file)")
    }
  }

  @Test("CI builds exactly the supported branches, and scans before it tags and signs")
  func workflowUsesTheSupportedSet() throws {
    let workflow = repositoryFile(".github/workflows/ci.yml")
    #expect(workflow.contains("status=$(images/support-status --format json)"))
    #expect(workflow.components(separatedBy: "alpine: ${{ fromJSON(needs.versions.outputs.supported) }}").count == 3)
    #expect(workflow.contains("platforms: linux/amd64,linux/arm64"))
    #expect(workflow.contains("sbom: true") && workflow.contains("provenance: mode=max"))
    #expect(workflow.contains("severity: CRITICAL,HIGH") && workflow.contains("ignore-unfixed: true"))
    let push = try #require(workflow.range(of: "push-by-digest=true"))
    let scan = try #require(workflow.range(of: "name: scan rootless, arm64"))
    let sign = try #require(workflow.range(of: "cosign sign --yes"))
    let tag = try #require(workflow.range(of: "docker buildx imagetools create"))
    #expect(push.lowerBound < scan.lowerBound && scan.lowerBound < sign.lowerBound && sign.lowerBound < tag.lowerBound)
    // Every action is pinned to a commit.
    for line in workflow.split(separator: "\n") where line.contains("uses: ") {
      let reference = line.split(separator: "@").last.map { String($0.prefix(40)) } ?? ""
      #expect(reference.count == 40 && reference.allSatisfy(\.isHexDigit), "\(line)")
    }
  }
}
