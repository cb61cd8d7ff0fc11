// swift-tools-version: 6.0
import PackageDescription

// The in-container `ibex` binary: every target it links must compile both normally
// (unit tests, debugging) and in Embedded Swift mode (the shipped binary, built by
// scripts/build-release.sh). See docs/development.md for the rules.
let hardenedC: [CSetting] = [
  .unsafeFlags(["-fstack-protector-strong", "-Wall", "-Wextra", "-Werror=implicit-function-declaration"]),
  .define("_FORTIFY_SOURCE", to: "2", .when(configuration: .release)),
]

let package = Package(
  name: "ibex",
  products: [
    .executable(name: "ibex", targets: ["ibex"]),
    .executable(name: "ibex-audit", targets: ["ibex-audit"]),
  ],
  dependencies: [
    // For ibex-audit only: the in-container ibex has no dependencies (Embedded mode).
    .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
    .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
  ],
  targets: [
    // Entry point: argv[0] and subcommand dispatch.
    .executableTarget(name: "ibex", dependencies: ["IbexInit"]),
    // Programs run by the entry point: `ibex run` (and later `ibex init`).
    .target(name: "IbexInit", dependencies: ["IbexCore", "IbexConfig", "IbexRuntime", "IbexLog"]),
    // Loaders that turn service files on disk into the core's model, with file:line errors.
    .target(name: "IbexConfig", dependencies: ["IbexCore", "IbexRuntime"]),
    // Pure model: durations, wait statuses, signals. No syscalls.
    .target(name: "IbexCore"),
    // The imperative shell: typed syscall wrappers, event loop, spawner, reaper.
    .target(name: "IbexRuntime", dependencies: ["CIbex", "IbexCore"]),
    // Logging: line framing, timestamps, prefixes, rotating log directories, s6-log scripts.
    .target(name: "IbexLog", dependencies: ["IbexCore", "IbexRuntime"]),
    // The C shim: what Swift imports badly, and the whole child setup of ibex_spawn().
    .target(name: "CIbex", cSettings: hardenedC),

    // ibex-audit: policy checks of Dockerfiles, compose files and Kubernetes manifests (CI side,
    // normal Swift: Foundation, Yams and ArgumentParser are fine here).
    .executableTarget(
      name: "ibex-audit",
      dependencies: ["IbexAudit", .product(name: "ArgumentParser", package: "swift-argument-parser")]),
    .target(name: "IbexAudit", dependencies: ["IbexCore", .product(name: "Yams", package: "Yams")]),

    .testTarget(name: "IbexCoreTests", dependencies: ["IbexCore"]),
    .testTarget(name: "IbexRuntimeTests", dependencies: ["IbexRuntime", "CIbex"]),
    .testTarget(name: "IbexInitTests", dependencies: ["IbexInit", "IbexLog", "IbexRuntime"]),
    .testTarget(name: "IbexConfigTests", dependencies: ["IbexConfig"]),
    .testTarget(name: "IbexLogTests", dependencies: ["IbexLog"]),
    .testTarget(name: "IntegrationTests", dependencies: ["ibex"]),
    .testTarget(name: "IbexAuditTests", dependencies: ["IbexAudit"], resources: [.copy("Fixtures")]),
  ],
  swiftLanguageModes: [.v6]
)
