import Foundation
import IbexAudit
import Testing

/// Inputs built to exhaust memory or time (issue 12, items 12 and 13). Each input is sized so
/// that the code before the fix needed gigabytes or minutes for it; after the fix each test
/// takes well under a second. Throughput and peak memory are measured in bench/audit/hostile.py,
/// not here.
@Suite("Hostile input")
struct HostileInputTests {
  /// `levels` anchors, each a sequence of `fanOut` aliases of the one before: fanOut^levels nodes.
  static func aliasBomb(levels: Int, fanOut: Int) -> String {
    var lines = ["l0: &l0 [" + Array(repeating: "\"lol\"", count: fanOut).joined(separator: ",") + "]"]
    for level in 1...levels {
      lines.append("l\(level): &l\(level) [" + Array(repeating: "*l\(level - 1)", count: fanOut).joined(separator: ",") + "]")
    }
    return lines.joined(separator: "\n") + "\n"
  }

  @Test("a YAML alias bomb of 377 bytes (3.9 billion nodes) is refused as IBX-META-001, exit 3")
  func aliasBomb() {
    let text = Self.aliasBomb(levels: 9, fanOut: 9)
    #expect(text.utf8.count < 400)
    let report = audit(text: text, name: "compose.yaml")
    #expect(report.exitCode == 3)
    #expect(report.errors.map(\.ruleID) == ["IBX-META-001"])
    let message = report.errors.first?.message ?? ""
    #expect(message.contains("YAML aliases expand to more than \(YAMLReader.maxAliasNodes) nodes (an alias bomb?)"), "\(message)")
  }

  @Test("aliases nested deeper than the bound are refused even when they expand to few nodes")
  func aliasDepth() {
    var lines = ["a0: &a0 x"]
    for level in 1...(YAMLReader.maxAliasDepth + 2) { lines.append("a\(level): &a\(level) [*a\(level - 1)]") }
    let report = audit(text: lines.joined(separator: "\n") + "\n", name: "compose.yaml")
    #expect(report.exitCode == 3)
    #expect(report.errors.first?.message.contains("YAML aliases nested more than \(YAMLReader.maxAliasDepth) deep") == true)
  }

  @Test("ordinary anchors and merge keys still resolve, with the anchor's line")
  func ordinaryAliases() throws {
    let text = """
      x-defaults: &defaults
        restart: always
        read_only: true
      services:
        web:
          <<: *defaults
          image: nginx:1.27
        worker:
          <<: *defaults
          image: nginx:1.27
          read_only: false
      """
    let documents = try YAMLReader.documents(text)
    let services = documents.first?["services"]
    #expect(services?.at("web", "restart")?.string == "always")
    #expect(services?.at("web", "restart")?.mergedFrom == 1)
    #expect(services?.at("worker", "read_only")?.string == "false")
    #expect(services?.at("worker", "read_only")?.mergedFrom == nil)
  }

  @Test("many merge keys into one large mapping are linear, and written keys win")
  func largeMerge() throws {
    let keys = 20_000
    var text = "base: &base\n" + (0..<keys).map { "  k\($0): base\n" }.joined()
    text += "target:\n  <<: *base\n" + (0..<keys).map { "  k\($0): own\n" }.joined()
    let documents = try YAMLReader.documents(text)
    let target = try #require(documents.first?["target"]?.pairs)
    #expect(target.count == keys)
    #expect(target.allSatisfy { $0.value.string == "own" })
  }

  @Test("a file above --max-file-size is not read: IBX-META-001 with the size and the option to raise it")
  func sizeCap() {
    let text = "FROM alpine:3.20\n" + String(repeating: "# padding\n", count: 200)
    let report = audit(text: text, name: "Dockerfile") { $0.maxFileSize = 1024 }
    #expect(report.exitCode == 3)
    #expect(report.errors.first?.message == "not audited: the file has \(text.utf8.count) bytes, more than the limit of 1024 bytes; raise it with --max-file-size if the file is really this big")
  }
}
