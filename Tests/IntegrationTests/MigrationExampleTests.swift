import Foundation
import Testing

/// docs/migrating-from-s6-overlay.md: the example image of examples/s6-migration, before (the
/// s6-overlay layout, run unchanged by ibex) and after (converted to native service files),
/// behaves the same.
@Suite(
  "Migration guide example",
  .enabled(if: isRoot && FileManager.default.isExecutableFile(atPath: "/usr/sbin/runc"), "needs root and runc"),
  .enabled(if: ibexIsStatic, "needs the static release build (scripts/build-release.sh, IBEX_BIN)"))
struct MigrationExampleTests {
  /// Every file under `examples/s6-migration/<variant>/rootfs`, with its mode.
  private func files(_ variant: String) throws -> [String: S6Container.Entry] {
    let base = "\(repositoryRoot)/examples/s6-migration/\(variant)/rootfs"
    var entries: [String: S6Container.Entry] = [:]
    let walker = FileManager.default.enumerator(atPath: base)!
    while let relative = walker.nextObject() as? String {
      let path = base + "/" + relative
      var isDirectory: ObjCBool = false
      guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), !isDirectory.boolValue else { continue }
      let mode = (try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? NSNumber)?.uint16Value ?? 0o644
      entries["/" + relative] = .text(try String(contentsOfFile: path, encoding: .utf8), mode: mode_t(mode))
    }
    return entries
  }

  @Test("before and after print the same lines, in dependency order, and stop with 0", arguments: ["before", "after"])
  func sameBehaviour(variant: String) throws {
    let container = try S6Container(files: try files(variant), environment: ["GREETING": "hola"], s6Directory: variant == "before")
    try container.run()
    #expect(waitUntil(timeout: 30) { container.output.contains("app: hola, database schema-v1") && container.output.contains("ticker: started") },
      "\(container.diagnostics)")
    container.kill("TERM")
    let result = container.finish()
    #expect(result.status == 0)
    #expect(!result.stderr.contains("failed"), "\(result.stderr)")
  }
}
