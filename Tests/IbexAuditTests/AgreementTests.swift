import Foundation
import IbexAudit
import Testing

/// Runs hadolint and checkov over the fixtures and checks that ibex-audit reports the mapped rule
/// in exactly the same files, except for the deliberate disagreements listed here (and explained
/// in docs/audit.md, "Deliberate disagreements"). Install the tools with
/// scripts/install-python-tools.sh; without them the test is skipped.
@Suite("Agreement with hadolint and checkov on the mapped rules")
struct AgreementTests {
  /// ibex rule(s) and the anchor ids they correspond to (exact mappings only; spec section 3-5,
  /// "~" equivalents are left out because their semantics differ by design).
  struct Unit {
    var rules: [String]
    var anchors: [String]
  }

  static let hadolintUnits: [Unit] = [
    Unit(rules: ["IBX-DF-001"], anchors: ["DL3002"]), Unit(rules: ["IBX-DF-002"], anchors: ["DL3066"]),
    Unit(rules: ["IBX-DF-003"], anchors: ["DL3006"]), Unit(rules: ["IBX-DF-004"], anchors: ["DL3007"]),
    Unit(rules: ["IBX-DF-007"], anchors: ["DL3020"]), Unit(rules: ["IBX-DF-008"], anchors: ["DL3064"]),
    Unit(rules: ["IBX-DF-014"], anchors: ["DL3019"]), Unit(rules: ["IBX-DF-015"], anchors: ["DL3018"]),
    Unit(rules: ["IBX-DF-016"], anchors: ["DL3008", "DL3013", "DL3016", "DL3028", "DL3062", "DL3033", "DL3041", "DL3037"]),
    Unit(rules: ["IBX-DF-017"], anchors: ["DL3015", "DL3009"]), Unit(rules: ["IBX-DF-018"], anchors: ["DL3004"]),
    Unit(rules: ["IBX-DF-026"], anchors: ["DL3027", "DL3035"]), Unit(rules: ["IBX-DF-027"], anchors: ["DL3025"]),
    Unit(rules: ["IBX-DF-028"], anchors: ["DL4003", "DL4004", "DL3012"]), Unit(rules: ["IBX-DF-029"], anchors: ["DL4006"]),
    Unit(rules: ["IBX-DF-030"], anchors: ["DL3000", "DL3045"]), Unit(rules: ["IBX-DF-031"], anchors: ["DL4000"]),
    Unit(rules: ["IBX-DF-032"], anchors: ["DL3022", "DL3023", "DL3024"]), Unit(rules: ["IBX-DF-034"], anchors: ["DL3067"]),
  ]

  static let checkovUnits: [Unit] = [
    Unit(rules: ["IBX-DF-001"], anchors: ["CKV_DOCKER_3", "CKV_DOCKER_8"]),
    Unit(rules: ["IBX-DF-003", "IBX-DF-004"], anchors: ["CKV_DOCKER_7"]),
    Unit(rules: ["IBX-DF-007"], anchors: ["CKV_DOCKER_4"]),
    Unit(rules: ["IBX-DF-011"], anchors: (2...16).map { "CKV2_DOCKER_\($0)" }),
    Unit(rules: ["IBX-DF-013"], anchors: ["CKV_DOCKER_5"]), Unit(rules: ["IBX-DF-018"], anchors: ["CKV2_DOCKER_1"]),
    Unit(rules: ["IBX-DF-019"], anchors: ["CKV2_DOCKER_17"]), Unit(rules: ["IBX-DF-023"], anchors: ["CKV_DOCKER_1"]),
    Unit(rules: ["IBX-DF-024"], anchors: ["CKV_DOCKER_2"]), Unit(rules: ["IBX-DF-026"], anchors: ["CKV_DOCKER_9"]),
    Unit(rules: ["IBX-DF-030"], anchors: ["CKV_DOCKER_10"]), Unit(rules: ["IBX-DF-031"], anchors: ["CKV_DOCKER_6"]),
    Unit(rules: ["IBX-DF-032"], anchors: ["CKV_DOCKER_11"]),
  ] + [
    ("001", [16]), ("002", [20]), ("003", [37]), ("004", [39]), ("005", [23]), ("006", [40]), ("007", [22]), ("008", [31]),
    ("009", [17, 18, 19]), ("011", [27]), ("012", [13]), ("013", [11]), ("014", [10, 12]), ("015", [14]), ("016", [43]),
    ("017", [35]), ("019", [38]), ("021", [8, 9]), ("022", [26]), ("029", [21]), ("030", [15]),
  ].map { Unit(rules: ["IBX-K8-\($0.0)"], anchors: $0.1.map { "CKV_K8S_\($0)" }) }
    + [Unit(rules: ["IBX-K8-031"], anchors: ["CKV2_K8S_6"])]

  /// Deliberate disagreements: (tool, first ibex rule of the unit, fixture) -> reason.
  static let deliberate: [String: String] = [
    "hadolint IBX-DF-001 dockerfile/df-001-no-user.pos.Dockerfile": "DL3002 only fires on an explicit USER root; no USER at all also runs as root",
    "hadolint IBX-DF-001 dockerfile/df-001-builder-user-only.pos.Dockerfile": "DL3002 only fires on an explicit USER root; ibex follows the final stage",
    "hadolint IBX-DF-001 dockerfile/p-arg-env-scope.Dockerfile": "the stage re-declares ARG RUN_AS, so USER $RUN_AS is root; hadolint does not resolve ARGs",
    "hadolint IBX-DF-002 dockerfile/p-arg-env-scope.Dockerfile": "USER $RUN_AS resolves to the name root; hadolint does not resolve ARGs",
    "hadolint IBX-DF-002 dockerfile/p-env-old-value.Dockerfile": "USER $EFFECTIVE resolves to 10001 (ENV uses the old value); hadolint treats the variable as a name",
    "hadolint IBX-DF-003 dockerfile/df-003-arg-default.pos.Dockerfile": "FROM ${BASE} with ARG BASE=alpine is untagged; hadolint does not resolve ARG defaults",
    "hadolint IBX-DF-003 dockerfile/p-platform-args.Dockerfile": "FROM binaries-$TARGETOS names a stage chosen per platform, not an untagged image",
    "hadolint IBX-DF-007 dockerfile/df-007-add.pos.Dockerfile": "hadolint exempts local archives and URLs; ibex flags implicit extraction and downloads without --checksum",
    "hadolint IBX-DF-008 dockerfile/df-008-secret-names.neg.Dockerfile": "*_FILE paths and values copied from another variable hold no literal secret",
    "hadolint IBX-DF-014 dockerfile/df-014-apk-cache.neg.Dockerfile": "rm -rf /var/cache/apk/* in the same RUN removes the cache",
    "hadolint IBX-DF-015 dockerfile/df-015-apk-pinned.neg.Dockerfile": "packages of a --virtual group deleted in the same RUN, and an unknown $PKGS list, are exempt",
    "hadolint IBX-DF-029 dockerfile/df-029-pipefail.neg.Dockerfile": "set -o pipefail at the start of the RUN is as good as a pipefail SHELL",
    "hadolint IBX-DF-029 dockerfile/p-onbuild.Dockerfile": "ibex also checks ONBUILD RUN (reported at info for downstream builds); hadolint skips ONBUILD",
    "hadolint IBX-DF-029 dockerfile/p-windows-escape.Dockerfile": "Windows image with a backtick escape: POSIX shell rules do not apply (hadolint's is a false positive)",
    "hadolint IBX-DF-032 dockerfile/df-032-stages.neg.Dockerfile": "COPY --from=busybox:1.36 copies from an image, which BuildKit allows",
    "checkov IBX-DF-001 dockerfile/df-001-builder-user-only.pos.Dockerfile": "CKV_DOCKER_3 passes when any stage has a USER; the final stage has none",
    "checkov IBX-DF-001 dockerfile/p-arg-env-scope.Dockerfile": "USER $RUN_AS is root after the ARG is re-declared; checkov does not resolve ARGs",
    "checkov IBX-DF-003 dockerfile/df-003-unknown-base.neg.Dockerfile": "FROM ${BASE} without a default is unknown, not latest (spec section 1)",
    "checkov IBX-DF-003 dockerfile/p-heredocs.Dockerfile": "checkov reads the line FROM python:3.12 inside a heredoc body as an instruction",
    "checkov IBX-DF-003 dockerfile/p-platform-args.Dockerfile": "FROM binaries-$TARGETOS names a stage chosen per platform, not an untagged image",
    "checkov IBX-DF-003 dockerfile/p-bom-crlf-lowercase.Dockerfile": "checkov does not strip the UTF-8 BOM and misses the first FROM",
    "checkov IBX-DF-013 dockerfile/df-013-update-alone.pos.Dockerfile": "CKV_DOCKER_5 counts installs anywhere in the file; the stale index layer is still created",
    "checkov IBX-DF-032 dockerfile/df-032-stages.pos.Dockerfile": "CKV_DOCKER_11 matches ' as ' case-sensitively and misses FROM ... AS build twice",
    "checkov IBX-K8-021 kubernetes/k8-init-containers.yaml": "a restartable init container (sidecar) is long-running and needs probes",
  ]

  /// Files where checkov's graph check CKV2_K8S_6 only considers pods with labels.
  static let networkPolicyReason = "CKV2_K8S_6 only evaluates pods that carry labels; ibex checks every pod template"

  func hadolintFindings(_ files: [String], hadolint: URL) throws -> [String: Set<String>] {
    let result = try run(hadolint, ["--no-fail", "-f", "json"] + files, in: fixturesURL)
    let data = Data(result.stdout.utf8)
    let items = try #require(try JSONSerialization.jsonObject(with: data) as? [[String: Any]], "hadolint output: \(result.stderr)")
    var byFile: [String: Set<String>] = [:]
    for item in items {
      guard let file = item["file"] as? String, let code = item["code"] as? String else { continue }
      byFile[file, default: []].insert(code)
    }
    return byFile
  }

  func hadolintLineFindings(_ files: [String], hadolint: URL) throws -> [(file: String, code: String, line: Int)] {
    let result = try run(hadolint, ["--no-fail", "-f", "json"] + files, in: fixturesURL)
    let items = (try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [[String: Any]]) ?? []
    return items.compactMap { item in
      guard let file = item["file"] as? String, let code = item["code"] as? String, let line = item["line"] as? Int else { return nil }
      return (file, code, line)
    }
  }

  func checkovFindings(checkov: URL) throws -> [String: Set<String>] {
    let result = try run(checkov, ["-d", ".", "--framework", "dockerfile", "kubernetes", "-o", "json", "--skip-download", "--quiet"], in: fixturesURL)
    let json = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8))
    let reports = (json as? [[String: Any]]) ?? [json as? [String: Any]].compactMap { $0 }
    var byFile: [String: Set<String>] = [:]
    for report in reports {
      let failed = (report["results"] as? [String: Any])?["failed_checks"] as? [[String: Any]] ?? []
      for check in failed {
        guard let path = check["file_path"] as? String, let id = check["check_id"] as? String else { continue }
        byFile[String(path.drop(while: { $0 == "/" })), default: []].insert(id)
      }
    }
    return byFile
  }

  func compare(tool: String, units: [Unit], files: [String], anchor: [String: Set<String>], ibex: [String: Set<String>]) -> (agreed: Int, disagreements: [String]) {
    var agreed = 0
    var problems: [String] = []
    for unit in units {
      let isDockerfileRule = unit.rules[0].hasPrefix("IBX-DF")
      for file in files where file.hasSuffix("Dockerfile") == isDockerfileRule {
        let anchorFired = !(anchor[file, default: []].isDisjoint(with: unit.anchors))
        let ibexFired = !(ibex[file, default: []].isDisjoint(with: unit.rules))
        if anchorFired == ibexFired {
          agreed += 1
          continue
        }
        let key = "\(tool) \(unit.rules[0]) \(file)"
        if Self.deliberate[key] != nil { continue }
        if unit.rules[0] == "IBX-K8-031", ibexFired { continue }
        problems.append("\(key): \(anchorFired ? tool : "ibex-audit") reports \(anchorFired ? unit.anchors.joined(separator: "/") : unit.rules.joined(separator: "/")), the other does not")
      }
    }
    return (agreed, problems)
  }

  @Test(
    "ibex-audit agrees with hadolint and checkov on the fixtures, except the documented disagreements",
    .enabled(if: which("hadolint") != nil && which("checkov") != nil, "hadolint and checkov are not installed; run scripts/install-python-tools.sh"))
  func agreesWithAnchors() throws {
    let hadolint = try #require(which("hadolint"))
    let checkov = try #require(which("checkov"))
    let report = audit(["."], profile: .strict)
    var ibex: [String: Set<String>] = [:]
    for finding in report.findings { ibex[finding.file, default: []].insert(finding.ruleID) }
    let unparsed = Set(report.errors.map(\.file))

    let dockerfiles = fixtureFiles().filter { $0.hasSuffix("Dockerfile") }
    let hadolintResults = try hadolintFindings(dockerfiles, hadolint: hadolint)
    // hadolint cannot parse some valid BuildKit files (DL1000); those are not compared.
    let hadolintParsed = dockerfiles.filter { !(hadolintResults[$0]?.contains("DL1000") ?? false) && !unparsed.contains($0) }
    let h = compare(tool: "hadolint", units: Self.hadolintUnits, files: hadolintParsed, anchor: hadolintResults, ibex: ibex)

    let checkovResults = try checkovFindings(checkov: checkov)
    let manifests = fixtureFiles(in: "kubernetes").map { "kubernetes/" + $0 }.filter { !ibex[$0, default: []].contains("IBX-META-004") }
    let checkovFiles = (dockerfiles + manifests).filter { !unparsed.contains($0) }
    let c = compare(tool: "checkov", units: Self.checkovUnits, files: checkovFiles, anchor: checkovResults, ibex: ibex)

    // Line level: where both report a rule in a file, do they point at the same instructions?
    // (hadolint gives the instruction's first line; an ibex finding covers its instruction's lines.)
    let hadolintLines = try hadolintLineFindings(hadolintParsed, hadolint: hadolint)
    var lineAgree = 0
    var lineTotal = 0
    for unit in Self.hadolintUnits {
      for file in hadolintParsed {
        let anchorLines = Set(hadolintLines.filter { $0.file == file && unit.anchors.contains($0.code) }.map(\.line))
        let ours = report.findings.filter { $0.file == file && unit.rules.contains($0.ruleID) }
        guard !anchorLines.isEmpty, !ours.isEmpty else { continue }
        lineTotal += 1
        let covered = anchorLines.allSatisfy { line in ours.contains { $0.scopeLines.contains(line) } }
        let justified = ours.allSatisfy { finding in anchorLines.contains { finding.scopeLines.contains($0) } }
        if covered && justified {
          lineAgree += 1
        } else {
          print("AgreementTests: line level differs: \(file) \(unit.rules[0]): hadolint lines \(anchorLines.sorted()), ibex lines \(ours.map(\.line))")
        }
      }
    }
    print("AgreementTests: hadolint line level: \(lineAgree) of \(lineTotal) file/rule pairs where both report point at the same instructions")
    print("AgreementTests: hadolint: \(h.agreed) file/rule pairs agree over \(hadolintParsed.count) Dockerfiles (\(dockerfiles.count - hadolintParsed.count) excluded: DL1000 or unparsable)")
    print("AgreementTests: checkov: \(c.agreed) file/rule pairs agree over \(checkovFiles.count) files")
    print("AgreementTests: deliberate disagreements: \(Self.deliberate.count)")
    #expect(h.disagreements.isEmpty, "hadolint disagreements:\n\(h.disagreements.joined(separator: "\n"))")
    #expect(c.disagreements.isEmpty, "checkov disagreements:\n\(c.disagreements.joined(separator: "\n"))")
  }
}
