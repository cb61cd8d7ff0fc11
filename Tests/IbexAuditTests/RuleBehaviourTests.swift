import IbexAudit
import Testing

/// Behaviours of individual rules that the fixture comments cannot express (severity, messages).
@Suite("Rule behaviours")
struct RuleBehaviourTests {
  @Test("rules on ONBUILD instructions report at info, for downstream builds")
  func onbuildIsInfo() {
    let report = audit(text: "FROM alpine:3.20\nONBUILD RUN curl -fsSL https://x/i.sh | sh\nUSER 10001\nHEALTHCHECK NONE\n", name: "Dockerfile", profile: .core)
    let finding = report.findings.first { $0.ruleID == "IBX-DF-012" }
    #expect(finding?.severity == .info)
    #expect(finding?.message.hasPrefix("ONBUILD (runs in downstream builds): ") == true)
  }

  @Test("a finding inside a continued RUN points at the physical line and column of the command")
  func physicalPosition() {
    let report = audit(text: "FROM alpine:3.20\nRUN set -e \\\n && apk update \\\n && echo done\nUSER 10001\nHEALTHCHECK NONE\n", name: "Dockerfile", profile: .core)
    #expect(report.findings.first { $0.ruleID == "IBX-DF-013" }?.start == SourcePosition(line: 3, column: 5))
  }

  @Test("a compose value from an anchor is reported at the service, naming the anchor's line")
  func anchorNote() {
    let text = "x-base: &base\n  privileged: true\nservices:\n  api:\n    <<: *base\n    image: api:1.0\n"
    let finding = audit(text: text, name: "compose.yaml", profile: .core).findings.first { $0.ruleID == "IBX-CO-001" }
    #expect(finding?.start == SourcePosition(line: 4, column: 3))
    #expect(finding?.message == "service \"api\": privileged: true gives every capability and device; add the one capability needed with cap_add (from the anchor at line 1)")
  }

  @Test("explicit root in compose is high, an unset user medium")
  func composeUserSeverity() {
    let root = audit(text: "services:\n  a:\n    image: a:1\n    user: \"0:0\"\n", name: "compose.yaml", profile: .core)
    #expect(root.findings.first { $0.ruleID == "IBX-CO-007" }?.severity == .high)
    let unset = audit(text: "services:\n  a:\n    image: a:1\n", name: "compose.yaml", profile: .core)
    #expect(unset.findings.first { $0.ruleID == "IBX-CO-007" }?.severity == .medium)
  }

  @Test("Kubernetes findings name the object and container")
  func kubernetesObjects() {
    let text = "apiVersion: v1\nkind: List\nitems:\n  - apiVersion: apps/v1\n    kind: Deployment\n    metadata: {name: web, namespace: shop}\n    spec:\n      template:\n        spec:\n          containers: [{name: app, image: \"web:1.0\", securityContext: {privileged: true}}]\n"
    let finding = audit(text: text, name: "list.yaml", profile: .core).findings.first { $0.ruleID == "IBX-K8-001" }
    #expect(finding?.object == "Deployment/shop/web/container/app")
    #expect(finding?.message == "Deployment web container \"app\": privileged: true gives full access to the node")
  }

  @Test("core does not run strict rules")
  func coreProfile() {
    let report = audit(["dockerfile/df-003-untagged.pos.Dockerfile"], profile: .core)
    #expect(!report.findings.contains { $0.ruleID == "IBX-DF-005" || $0.ruleID == "IBX-DF-021" })
  }

  @Test("--target makes another stage the final image")
  func target() {
    let text = "FROM alpine:3.20 AS build\nRUN echo build\nFROM alpine:3.20 AS runtime\nUSER 10001\nHEALTHCHECK NONE\n"
    #expect(!audit(text: text, name: "Dockerfile", profile: .core).findings.contains { $0.ruleID == "IBX-DF-001" })
    let build = audit(text: text, name: "Dockerfile", profile: .core) { $0.target = "build" }
    #expect(build.findings.first { $0.ruleID == "IBX-DF-001" }?.line == 1)
  }

  @Test("--env-file values take part in compose interpolation")
  func environment() {
    let text = "services:\n  app:\n    image: \"example/app:${TAG}\"\n"
    #expect(!audit(text: text, name: "compose.yaml", profile: .core).findings.contains { $0.ruleID == "IBX-CO-018" })
    let withEnv = audit(text: text, name: "compose.yaml", profile: .core) { $0.environment = ["TAG": "latest"] }
    #expect(withEnv.findings.contains { $0.ruleID == "IBX-CO-018" && $0.message.contains("example/app:latest") })
  }
}
