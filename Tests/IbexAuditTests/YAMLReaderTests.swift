import IbexAudit
import Testing

@Suite("YAML reading with positions and merge keys")
struct YAMLReaderTests {
  @Test("keys written in the mapping win over merged ones; earlier merged maps win over later ones")
  func mergePrecedence() throws {
    let text = "a: &a {x: 1, y: 1}\nb: &b {x: 2, z: 2}\nc:\n  <<: [*a, *b]\n  y: 3\n"
    let root = try #require(try YAMLReader.documents(text).first)
    let c = try #require(root["c"])
    #expect(c["x"]?.string == "1")
    #expect(c["y"]?.string == "3")
    #expect(c["z"]?.string == "2")
    #expect(c["x"]?.mergedFrom == 1)
    #expect(c["y"]?.mergedFrom == nil)
  }

  @Test("positions are file-absolute across documents")
  func multiDocumentPositions() throws {
    let documents = try YAMLReader.documents("---\na: 1\n---\n# comment\nb:\n  c: 2\n...\n")
    #expect(documents.count == 2)
    #expect(documents[1].pair("b")?.keyPosition == SourcePosition(line: 5, column: 1))
    #expect(documents[1].at("b", "c")?.position == SourcePosition(line: 6, column: 6))
  }

  @Test("a duplicate key is an error that names the key")
  func duplicateKeyMessage() {
    #expect(throws: ParseError("duplicate key 'image' in one mapping; Compose and Kubernetes reject it, keep one", at: SourcePosition(line: 2, column: 3))) {
      try YAMLReader.documents("svc:\n  image: a\n  image: b\n")
    }
  }

  @Test("a syntax error carries the position libyaml reports")
  func syntaxErrorPosition() throws {
    do {
      _ = try YAMLReader.documents("a:\n  b: 1\n   c: 2\n")
      Issue.record("expected a parse error")
    } catch {
      #expect(error.position == SourcePosition(line: 3, column: 5))
      #expect(error.message.hasPrefix("invalid YAML: "))
    }
  }

  @Test("an unquoted 22:22 stays visible as a plain scalar (YAML 1.1 base 60)")
  func base60() throws {
    let root = try #require(try YAMLReader.documents("ports:\n  - 22:22\n  - \"22:22\"\n").first)
    #expect(root["ports"]?.items?.map(\.isPlain) == [true, false])
    #expect(root["ports"]?.items?.first?.string == "22:22")
  }
}

@Suite("Compose interpolation")
struct ComposeInterpolationTests {
  let interpolation = ComposeInterpolation(environment: ["SET": "v", "EMPTY": ""])

  @Test("defaults, alternatives, errors, $$ and nesting", arguments: [
    ("${SET}", "v"), ("$SET", "v"), ("${UNSET:-d}", "d"), ("${EMPTY:-d}", "d"), ("${EMPTY-d}", ""), ("${UNSET-d}", "d"),
    ("$$HOME", "$HOME"), ("${UNSET:-${SET}}", "v"), ("${SET:+alt}", "alt"), ("${SET:?must be set}", "v"), ("a-${UNSET:-${ALSO:-x}}", "a-x"),
  ])
  func interpolates(_ input: String, _ output: String) {
    #expect(interpolation.interpolate(input) == output)
  }

  @Test("a variable without value or default is unknown", arguments: ["${UNSET}", "$UNSET", "${UNSET:?err}", "${UNSET:+x}"])
  func unknown(_ input: String) {
    #expect(interpolation.interpolate(input) == nil)
  }
}
