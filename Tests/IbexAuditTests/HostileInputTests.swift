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

  @Test("a YAML alias bomb of 478 bytes (9^10: 3.5 billion nodes) is refused as IBX-META-001, exit 3")
  func aliasBomb() {
    let text = Self.aliasBomb(levels: 9, fanOut: 9)
    #expect(text.utf8.count == 478)
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

  // Dockerfiles. Before the fix the scope of variables was copied for every instruction (20,000
  // ENV lines: > 7 GB), and every RUN, CMD, COPY and comment looked at all the instructions or
  // comments before it (1 MB of RUN lines: 10 s; 2 MB: 36 s).

  @Test("20,000 ENV lines: each sees the variables before it")
  func manyENVLines() {
    let count = 20_000
    var text = "FROM alpine:3.20\n"
    // Each ENV expands the one before (with the scope from before the instruction).
    for i in 0..<count { text += "ENV V\(i)=v\(i) P\(i)=${V\(max(i - 1, 0))}\n" }
    text += "USER $P\(count - 1)\n"
    let report = audit(text: text, name: "Dockerfile")
    #expect(report.errors.isEmpty)
    let user = report.findings.first { $0.ruleID == "IBX-DF-002" }
    #expect(user?.message.hasPrefix("USER v\(count - 2) is a name") == true, "\(user?.message.prefix(80) ?? "none")")
  }

  @Test("ENV is inherited by a stage built FROM another, ARG is not, and the parent's later ENV wins")
  func inheritance() {
    let text = """
      FROM alpine:3.20 AS base
      ENV NAME=first
      ARG GROUP=wheel
      ENV NAME=app
      FROM base AS one
      USER $NAME${GROUP:-x}
      FROM base
      ENV NAME=other
      USER ${NAME}x
      """
    let report = audit(text: text + "\n", name: "Dockerfile")
    let users = report.findings.filter { $0.ruleID == "IBX-DF-002" }.map(\.message)
    #expect(users.contains { $0.hasPrefix("USER appx is a name") }, "\(users)")
    #expect(users.contains { $0.hasPrefix("USER otherx is a name") }, "\(users)")
  }

  @Test("5,000 RUN lines with pipes, 5,000 CMD lines and 5,000 relative COPYs")
  func manyInstructions() {
    let count = 5_000
    var text = "FROM alpine:3.20\nSHELL [\"/bin/sh\", \"-c\"]\n"
    for i in 0..<count { text += "RUN curl -fsS https://example.com/\(i) | sh\nCMD [\"app\", \"\(i)\"]\nCOPY f\(i) d\(i)\n" }
    let report = audit(text: text, name: "Dockerfile")
    #expect(report.errors.isEmpty)
    #expect(report.findings.filter { $0.ruleID == "IBX-DF-029" }.count == count)
    #expect(report.findings.filter { $0.ruleID == "IBX-DF-028" }.count == count - 1)
    #expect(report.findings.filter { $0.ruleID == "IBX-DF-030" }.count == count)
  }

  @Test("10,000 suppression comments in comment blocks: each covers the instruction below its block")
  func manyComments() {
    let count = 10_000
    var text = "FROM alpine:3.20\n"
    for i in 0..<count { text += "# ibex-ignore IBX-DF-029 -- piped on purpose\n# another comment\nRUN curl https://example.com/\(i) | sh\n" }
    let report = audit(text: text, name: "Dockerfile")
    let piped = report.findings.filter { $0.ruleID == "IBX-DF-029" }
    #expect(piped.count == count)
    #expect(piped.allSatisfy { $0.suppression?.justification == "piped on purpose" })
  }

  @Test("one 4 MB line is parsed and checked, with positions")
  func longLine() {
    let text = "FROM alpine:3.20\nRUN echo " + String(repeating: "x", count: 4_000_000) + " | sh\n"
    let report = audit(text: text, name: "Dockerfile")
    #expect(report.errors.isEmpty)
    let piped = report.findings.first { $0.ruleID == "IBX-DF-029" }
    // "RUN echo " is columns 1-9, the x's 10-4,000,009, then " | sh": sh starts at 4,000,013.
    #expect(piped?.start == SourcePosition(line: 2, column: 4_000_013))
  }
}

