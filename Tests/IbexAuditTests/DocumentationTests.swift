import Foundation
import IbexAudit
import Testing

/// docs/audit.md is tested: its examples produce exactly the output it shows, and every rule of
/// the catalogue has an anchor there (SARIF helpUri points at it).
@Suite("docs/audit.md")
struct DocumentationTests {
  static let documentURL = repositoryRoot.appendingPathComponent("docs/audit.md")

  /// Pairs of (example Dockerfile, expected output, expected exit code) in document order.
  static func examples() throws -> [(String, String, Int32)] {
    let text = try String(contentsOf: documentURL, encoding: .utf8)
    let lines = text.components(separatedBy: "\n")
    var result: [(String, String, Int32)] = []
    var pending: String?
    var index = 0
    func block(after marker: Int) -> String {
      var i = marker + 2
      var body: [String] = []
      while i < lines.count, lines[i] != "```" { body.append(lines[i]); i += 1 }
      return body.joined(separator: "\n") + "\n"
    }
    while index < lines.count {
      let line = lines[index]
      if line.hasPrefix("<!-- example: Dockerfile -->") {
        pending = block(after: index)
      } else if line.hasPrefix("<!-- output: ibex-audit Dockerfile (exit code "), let example = pending {
        let code = Int32(line.dropFirst("<!-- output: ibex-audit Dockerfile (exit code ".count).prefix(while: \.isNumber)) ?? -1
        result.append((example, block(after: index), code))
        pending = nil
      }
      index += 1
    }
    return result
  }

  @Test("each example produces the output shown, word for word")
  func examplesMatch() throws {
    let examples = try Self.examples()
    #expect(examples.count == 2)
    for (dockerfile, output, code) in examples {
      let report = audit(text: dockerfile, name: "Dockerfile", profile: .core)
      #expect(TextReporter().render(report) == output)
      #expect(report.exitCode == code)
    }
  }

  @Test("every rule has an anchor in the rule table")
  func everyRuleDocumented() throws {
    let text = try String(contentsOf: Self.documentURL, encoding: .utf8)
    let missing = RuleCatalog.all.filter { !text.contains("<a id=\"\($0.id.lowercased())\"></a>\($0.id) | \($0.severity) | \($0.profile.rawValue) |") }
    #expect(missing.isEmpty, "rules missing from docs/audit.md or with another severity/profile: \(missing.map(\.id))")
  }

  @Test("every deliberate disagreement of the agreement test is explained in the docs")
  func disagreementsDocumented() throws {
    let text = try String(contentsOf: Self.documentURL, encoding: .utf8)
    for key in AgreementTests.deliberate.keys {
      let fixture = key.split(separator: " ").last.map { String($0.split(separator: "/").last ?? "") } ?? ""
      let stem = fixture.replacingOccurrences(of: ".Dockerfile", with: "").replacingOccurrences(of: ".yaml", with: "")
        .replacingOccurrences(of: ".pos", with: "").replacingOccurrences(of: ".neg", with: "")
      #expect(text.contains(stem), "docs/audit.md does not mention \(stem) (\(key))")
    }
  }
}

/// The project has one URL (issue 19): docs, image labels and SARIF helpUri all use it.
@Suite("the project's URL")
struct ProjectURLTests {
  static let canonical = "https://github.com/ibex-project/ibex"

  @Test("no file of the repository names the other organisation (ibex-init); helpUri uses the canonical URL")
  func oneURL() throws {
    var offenders: [String] = []
    let root = repositoryRoot.standardizedFileURL.path
    let enumerator = FileManager.default.enumerator(atPath: root)
    while let path = enumerator?.nextObject() as? String {
      let name = (path as NSString).lastPathComponent
      if name == ".git" || name.hasPrefix(".build") || name == "corpus" || name == "Fixtures" {
        enumerator?.skipDescendants()
        continue
      }
      guard let data = FileManager.default.contents(atPath: root + "/" + path), data.count < 2_000_000,
        let text = String(data: data, encoding: .utf8)
      else { continue }
      if text.contains("ibex-" + "init/") || text.contains("ibex-" + "init.") { offenders.append(path) }
    }
    #expect(offenders.isEmpty, "files naming the other URL: \(offenders)")
    #expect(IbexAuditVersion.projectURL == Self.canonical)
    #expect(RuleCatalog.all.allSatisfy { $0.helpURI.hasPrefix(Self.canonical + "/blob/main/docs/audit.md#") })
    let dockerfile = try String(contentsOf: repositoryRoot.appendingPathComponent("images/alpine/Dockerfile"), encoding: .utf8)
    #expect(dockerfile.contains("ARG IBEX_SOURCE=\(Self.canonical)\n"))
  }
}

