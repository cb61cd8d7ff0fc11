import Foundation
import Testing

/// The -monitoring examples (docs/metrics.md): the Kubernetes manifest is validated with the
/// other manifests (ImageLintTests, kubernetes-validate); the ServiceMonitor, a custom resource
/// kubernetes-validate has no schema for, and the Prometheus files are checked here.
@Suite("Monitoring examples: ServiceMonitor, Prometheus configuration and rules, compose")
struct MonitoringLintTests {
  @Test(
    "the ServiceMonitor uses only ServiceMonitor fields and selects the Service's metrics port; the probes are httpGet",
    .enabled(if: (try? runCommand(["/usr/bin/python3", "-c", "import yaml"]).status) == 0, "needs python3-yaml"))
  func serviceMonitor() throws {
    // Field names of monitoring.coreos.com/v1 ServiceMonitor used here (prometheus-operator's API
    // reference); a misspelt one is not in these sets.
    let python = """
      import sys, yaml
      monitor = yaml.safe_load(open(sys.argv[1]))
      docs = [d for d in yaml.safe_load_all(open(sys.argv[2])) if d]
      problems = []
      def only(obj, allowed, where):
          for key in obj:
              if key not in allowed: problems.append(f"{where}: unknown field {key}")
      only(monitor, {"apiVersion", "kind", "metadata", "spec"}, "ServiceMonitor")
      if monitor["apiVersion"] != "monitoring.coreos.com/v1" or monitor["kind"] != "ServiceMonitor":
          problems.append("not a monitoring.coreos.com/v1 ServiceMonitor")
      only(monitor["metadata"], {"name", "namespace", "labels", "annotations"}, "metadata")
      spec = monitor["spec"]
      only(spec, {"selector", "namespaceSelector", "endpoints", "jobLabel", "targetLabels", "podTargetLabels",
                  "sampleLimit", "attachMetadata"}, "spec")
      only(spec["namespaceSelector"], {"any", "matchNames"}, "namespaceSelector")
      endpoint_fields = {"port", "targetPort", "path", "scheme", "params", "interval", "scrapeTimeout", "honorLabels",
                         "honorTimestamps", "relabelings", "metricRelabelings", "tlsConfig", "followRedirects",
                         "enableHttp2", "filterRunning", "proxyUrl", "bearerTokenSecret", "authorization", "basicAuth",
                         "oauth2"}
      for endpoint in spec["endpoints"]: only(endpoint, endpoint_fields, "endpoint")
      service = next(d for d in docs if d["kind"] == "Service")
      deployment = next(d for d in docs if d["kind"] == "Deployment")
      if monitor["metadata"]["namespace"] != service["metadata"]["namespace"]: problems.append("namespaces differ")
      if service["metadata"]["namespace"] not in spec["namespaceSelector"]["matchNames"]: problems.append("namespaceSelector")
      labels = service["metadata"].get("labels", {})
      for key, value in spec["selector"]["matchLabels"].items():
          if labels.get(key) != value: problems.append(f"the Service lacks label {key}={value}")
      ports = {p["name"]: p for p in service["spec"]["ports"]}
      for endpoint in spec["endpoints"]:
          if endpoint["port"] not in ports: problems.append(f"no Service port named {endpoint['port']}")
          if endpoint.get("path", "/metrics") != "/metrics": problems.append("path")
      annotations = service["metadata"]["annotations"]
      if annotations.get("prometheus.io/scrape") != "true": problems.append("prometheus.io/scrape")
      if annotations.get("prometheus.io/port") != str(ports["metrics"]["port"]): problems.append("prometheus.io/port")
      if annotations.get("prometheus.io/path") != "/metrics": problems.append("prometheus.io/path")
      container = deployment["spec"]["template"]["spec"]["containers"][0]
      if {p["name"]: p["containerPort"] for p in container["ports"]}.get("metrics") != 9469: problems.append("containerPort")
      for probe, path in [("startupProbe", "/readyz"), ("readinessProbe", "/readyz"), ("livenessProbe", "/healthz")]:
          get = container[probe].get("httpGet", {})
          if get.get("path") != path or get.get("port") != "metrics" or "exec" in container[probe]:
              problems.append(f"{probe} is not httpGet {path} on the metrics port")
      if not container["image"].endswith("-monitoring"): problems.append("image is not a -monitoring variant")
      print("\\n".join(problems))
      """
    let result = try runCommand([
      "/usr/bin/python3", "-c", python, "\(repositoryRoot)/deploy/kubernetes/prometheus-operator/servicemonitor.yaml",
      "\(repositoryRoot)/deploy/kubernetes/ibex-monitoring.yaml",
    ])
    #expect(result.status == 0 && result.stdout.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty, "\(result.stdout)\(result.stderr)")
  }

  @Test(
    "promtool accepts the example Prometheus configuration and alert rules; the docs show the same rules",
    .enabled(if: executable("promtool") != nil, "needs promtool (Debian package prometheus)"))
  func prometheusFiles() throws {
    let config = try runCommand([try #require(executable("promtool")), "check", "config", "\(repositoryRoot)/deploy/compose/prometheus/prometheus.yml"])
    #expect(config.status == 0, "\(config.stdout)\(config.stderr)")
    let rules = try runCommand([try #require(executable("promtool")), "check", "rules", "\(repositoryRoot)/deploy/compose/prometheus/ibex-alerts.yml"])
    #expect(rules.status == 0 && rules.stdout.contains("SUCCESS: 5 rules found"), "\(rules.stdout)\(rules.stderr)")
    let alerts = repositoryFile("deploy/compose/prometheus/ibex-alerts.yml")
    let start = try #require(alerts.range(of: "groups:")).lowerBound
    let body = String(alerts[start...])
    #expect(repositoryFile("docs/metrics.md").contains(body))
  }

  @Test("compose.monitoring.yaml: the -monitoring image hardened, the metrics port on loopback only, Prometheus beside it")
  func compose() {
    let compose = repositoryFile("deploy/compose/compose.monitoring.yaml")
    for line in [
      "ghcr.io/ibex-project/ibex-alpine:3.24-monitoring}", "read_only: true", "cap_drop: [ALL]",
      "cap_add: [CHOWN, SETUID, SETGID, KILL]", "- no-new-privileges:true", "- \"127.0.0.1:9469:9469\"",
      "- \"127.0.0.1:9090:9090\"", "source: ./prometheus", "stop_grace_period: 15s", "IBEX_SHUTDOWN_TIMEOUT: 9s",
    ] {
      #expect(compose.contains(line), "compose.monitoring.yaml lacks \(line)")
    }
    #expect(!compose.contains("privileged:"))
    #expect(repositoryFile("deploy/compose/prometheus/prometheus.yml").contains(#"targets: ["app:9469"]"#))
    // The image: only the -monitoring stage listens beyond loopback, and no stage EXPOSEs.
    let dockerfile = repositoryFile("images/alpine/Dockerfile")
    #expect(dockerfile.contains("\nFROM default AS monitoring\n") && dockerfile.contains("\nENV IBEX_CONTROL_GROUP=ibex-metrics\n"))
    #expect(!dockerfile.contains("\nEXPOSE"))
    #expect(repositoryFile("images/alpine/monitoring/etc/ibex/services/metrics.service").contains("--listen 0.0.0.0:9469\n"))
    #expect(repositoryFile(".github/workflows/ci.yml").contains("for target in default rootless monitoring; do"))
  }
}
