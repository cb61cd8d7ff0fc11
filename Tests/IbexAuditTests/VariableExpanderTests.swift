import IbexAudit
import Testing

@Suite("ARG/ENV substitution")
struct VariableExpanderTests {
  let expander = VariableExpander(variables: ["TAG": .set("3.20"), "EMPTY": .set(""), "LATER": .overridable])

  @Test("plain, braced, default and alternative forms", arguments: [
    ("alpine:$TAG", "alpine:3.20"), ("alpine:${TAG}", "alpine:3.20"), ("${MISSING:-x}", "x"), ("${EMPTY:-x}", "x"),
    ("${EMPTY-x}", ""), ("${TAG:+set}", "set"), ("${MISSING:+set}", ""), ("\\$TAG", "$TAG"), ("'$TAG'", "$TAG"),
    ("\"a b\"", "a b"), ("${LATER:-default}", "default"),
  ])
  func expands(_ input: String, _ output: String) {
    let result = expander.expand(input)
    #expect(result.text == output)
    #expect(!result.isUnknown)
  }

  @Test("values that depend on the build are unknown", arguments: ["$LATER", "${MISSING}", "binaries-$TARGETOS", "${TAG%.*}"])
  func unknown(_ input: String) {
    #expect(expander.expand(input).isUnknown)
  }
}
