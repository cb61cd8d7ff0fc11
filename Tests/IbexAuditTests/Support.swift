import Foundation
import IbexAudit

/// Where the fixtures live: next to this file in the source tree (also copied as a resource).
let fixturesURL: URL = {
  let source = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures")
  if FileManager.default.fileExists(atPath: source.path) { return source }
  return Bundle.module.url(forResource: "Fixtures", withExtension: nil)!
}()

let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

/// Every fixture file, relative to the fixtures directory, sorted.
func fixtureFiles(in subdirectory: String? = nil) -> [String] {
  let base = subdirectory.map { fixturesURL.appendingPathComponent($0) } ?? fixturesURL
  guard let enumerator = FileManager.default.enumerator(at: base, includingPropertiesForKeys: nil) else { return [] }
  var result: [String] = []
  for case let url as URL in enumerator {
    let name = url.lastPathComponent
    guard name.hasSuffix("Dockerfile") || name.hasSuffix(".yaml") || name.hasSuffix(".yml") || name.hasSuffix(".json") else { continue }
    result.append(String(url.standardizedFileURL.path.dropFirst(fixturesURL.standardizedFileURL.path.count + 1)))
  }
  return result.sorted()
}

/// Audits files below the fixtures directory (paths relative to it), strict profile by default.
func audit(_ paths: [String], profile: Profile = .strict, configure: (inout AuditOptions) -> Void = { _ in }) -> AuditReport {
  var options = AuditOptions(paths: paths, workingDirectory: fixturesURL)
  options.profile = profile
  configure(&options)
  return Auditor.run(options)
}

/// Audits text written to a temporary file with the given name.
func audit(text: String, name: String, profile: Profile = .strict, configure: (inout AuditOptions) -> Void = { _ in }) -> AuditReport {
  let directory = FileManager.default.temporaryDirectory.appendingPathComponent("ibex-audit-\(UUID().uuidString)")
  try! FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
  defer { try? FileManager.default.removeItem(at: directory) }
  let file = directory.appendingPathComponent(name)
  try! text.write(to: file, atomically: true, encoding: .utf8)
  var options = AuditOptions(paths: [name], workingDirectory: directory)
  options.profile = profile
  configure(&options)
  return Auditor.run(options)
}

/// `# expect: IBX-DF-001@4 IBX-DF-024`, `# expect-not: ...`, `# expect-error: 2:5` lines of a fixture.
struct FixtureExpectations {
  struct Item: CustomStringConvertible {
    var rule: String
    var line: Int?
    var description: String { line.map { "\(rule)@\($0)" } ?? rule }
  }

  var expected: [Item] = []
  var unexpected: [Item] = []
  var errors: [String] = []
  /// Other fixture files audited in the same run (`# audit-with: path`).
  var auditWith: [String] = []

  init(_ text: String) {
    for raw in text.split(separator: "\n") {
      let line = raw.trimmingCharacters(in: .whitespacesAndNewlines)
      if line.hasPrefix("# audit-with:") {
        auditWith += line.dropFirst("# audit-with:".count).split(separator: " ").map(String.init)
      }
      for (prefix, kind) in [("# expect:", 0), ("# expect-not:", 1), ("# expect-error:", 2)] where line.hasPrefix(prefix) {
        let items = line.dropFirst(prefix.count).split(separator: " ").map(String.init)
        for item in items {
          if kind == 2 { errors.append(item); continue }
          let parts = item.split(separator: "@").map(String.init)
          let parsed = Item(rule: parts[0], line: parts.count > 1 ? Int(parts[1]) : nil)
          if kind == 0 { expected.append(parsed) } else { unexpected.append(parsed) }
        }
      }
    }
  }
}

/// The built `ibex-audit` next to the test bundle, if there is one.
let ibexAuditBinary: URL? = {
  var directory = Bundle.main.bundleURL
  for _ in 0..<4 {
    let candidate = directory.appendingPathComponent("ibex-audit")
    if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
    directory = directory.deletingLastPathComponent()
  }
  for build in [".build-audit", ".build"] {
    let candidate = repositoryRoot.appendingPathComponent("\(build)/debug/ibex-audit")
    if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
  }
  return nil
}()

struct ProcessResult {
  var status: Int32
  var stdout: String
  var stderr: String
}

/// Runs a program, capturing its output (bounded by the program itself; no stdin).
func run(_ executable: URL, _ arguments: [String], in directory: URL? = nil, environment: [String: String]? = nil) throws -> ProcessResult {
  let process = Process()
  process.executableURL = executable
  process.arguments = arguments
  if let directory { process.currentDirectoryURL = directory }
  if let environment { process.environment = environment }
  let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("ibex-audit-run-\(UUID().uuidString)")
  try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
  defer { try? FileManager.default.removeItem(at: scratch) }
  let outURL = scratch.appendingPathComponent("stdout")
  let errURL = scratch.appendingPathComponent("stderr")
  _ = FileManager.default.createFile(atPath: outURL.path, contents: nil)
  _ = FileManager.default.createFile(atPath: errURL.path, contents: nil)
  let out = try FileHandle(forWritingTo: outURL)
  let err = try FileHandle(forWritingTo: errURL)
  process.standardOutput = out
  process.standardError = err
  process.standardInput = FileHandle.nullDevice
  try process.run()
  process.waitUntilExit()
  try out.close()
  try err.close()
  let outData = try Data(contentsOf: outURL)
  let errData = try Data(contentsOf: errURL)
  return ProcessResult(status: process.terminationStatus, stdout: String(decoding: outData, as: UTF8.self), stderr: String(decoding: errData, as: UTF8.self))
}

/// Finds an executable on PATH.
func which(_ name: String) -> URL? {
  for directory in (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":") {
    let candidate = URL(fileURLWithPath: String(directory)).appendingPathComponent(name)
    if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
  }
  return nil
}
