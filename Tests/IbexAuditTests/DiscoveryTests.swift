import Foundation
import IbexAudit
import Testing

@Suite("Finding the inputs")
struct DiscoveryTests {
  func tree(_ files: [String: String]) throws -> URL {
    let root = FileManager.default.temporaryDirectory.appendingPathComponent("ibex-walk-\(UUID().uuidString)")
    for (path, text) in files {
      let url = root.appendingPathComponent(path)
      try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
      try text.write(to: url, atomically: true, encoding: .utf8)
    }
    return root
  }

  @Test("a directory walk audits Dockerfiles, compose files and manifests, and silently skips other YAML/JSON, even broken")
  func walkSkipsUnrelatedFiles() throws {
    let root = try tree([
      "app/Dockerfile": "FROM alpine:3.20\nUSER 10001\nHEALTHCHECK NONE\n",
      "app/Dockerfile.swift": "/// not a Dockerfile\n",
      "deploy/compose.yaml": "services:\n  web:\n    image: nginx:1.27\n",
      "deploy/pod.json": "{\"apiVersion\": \"v1\", \"kind\": \"Pod\", \"metadata\": {\"name\": \"p\"}, \"spec\": {\"containers\": []}}",
      ".github/workflows/ci.yml": "on: push\njobs:\n  test:\n    steps: [{run: \"echo ${{ github.sha }}\"}]\n",
      "data/broken.yaml": "a: [unclosed\n",
      "node_modules/x/Dockerfile": "NOT A DOCKERFILE\n",
    ])
    defer { try? FileManager.default.removeItem(at: root) }
    let report = Auditor.run(AuditOptions(paths: ["."], workingDirectory: root))
    #expect(report.filesScanned == 3)
    #expect(report.errors.isEmpty)
    #expect(Set(report.findings.map(\.file)) == ["deploy/compose.yaml", "deploy/pod.json"])
  }

  @Test("a YAML file named on the command line that is neither compose nor Kubernetes is reported as skipped")
  func explicitUnknownFile() throws {
    let report = audit(text: "just: data\n", name: "values.yaml")
    #expect(report.findings.map(\.ruleID) == ["IBX-META-004"])
    #expect(report.findings.first?.message == "skipped: not a compose file (no top-level services:) or Kubernetes manifest (no apiVersion/kind)")
    #expect(report.exitCode == 0)
  }

  @Test("a file named on the command line that is not a Dockerfile, compose file or manifest is skipped as IBX-META-004, exit 0")
  func explicitNonDockerfile() throws {
    for (name, text) in [("README.md", "# ibex\n\nFrom here on, services are supervised.\n"), ("notes.txt", "just some text\n"), ("empty", "")] {
      let report = audit(text: text, name: name)
      #expect(report.errors.isEmpty, "\(name)")
      #expect(report.findings.map(\.ruleID) == ["IBX-META-004"], "\(name)")
      #expect(report.findings.first?.message == "skipped: not a Dockerfile (no instruction on its first line), compose file or Kubernetes manifest")
      #expect(report.exitCode == 0)
    }
  }

  @Test("a Dockerfile under any name is audited by its content; a broken one still fails with IBX-META-001")
  func explicitDockerfileByContent() throws {
    let good = audit(text: "# syntax=docker/dockerfile:1\nFROM alpine:3.20\nUSER root\n", name: "app.docker")
    #expect(good.findings.contains { $0.ruleID == "IBX-DF-001" })
    let broken = audit(text: "RUN make\nFROM alpine:3.20\n", name: "build.containerfile.in")
    #expect(broken.errors.map(\.ruleID) == ["IBX-META-001"])
    #expect(broken.exitCode == 3)
    let manifest = audit(text: "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec: {containers: []}\n", name: "pod.manifest")
    #expect(manifest.errors.isEmpty)
    #expect(!manifest.findings.contains { $0.ruleID == "IBX-META-004" })
  }

  @Test("paths.exclude removes matching files from the walk")
  func excluded() throws {
    let root = try tree(["vendor/Dockerfile": "FROM alpine\n", "Dockerfile": "FROM alpine:3.20\nUSER 10001\nHEALTHCHECK NONE\n"])
    defer { try? FileManager.default.removeItem(at: root) }
    var configuration = Configuration()
    configuration.exclude = ["vendor/**"]
    let report = Auditor.run(AuditOptions(paths: ["."], configuration: configuration, workingDirectory: root))
    #expect(report.filesScanned == 1)
    #expect(!report.findings.contains { $0.file.hasPrefix("vendor/") })
  }
}
