import IbexCore

/// Where the s6-overlay v3 layout lives under a root (S6-LAYOUT-01/02/14). Every path
/// includes the root.
public struct S6Paths: Equatable, Sendable {
  /// `/etc/s6-overlay`, or `/etc/cont-profile.d/<profile>/s6-overlay`.
  public var overlay: String
  /// `<overlay>/s6-rc.d`: the service definitions.
  public var definitions: String
  /// `<overlay>/user-bundles.d`, or `S6_RUNTIME_BUNDLEDIR`.
  public var userBundles: String
  public var contInit: String
  public var services: String
  public var contFinish: String
  public var fixAttrs: String
  /// Live copies of s6-rc longruns: `/run/s6-rc/servicedirs`.
  public var liveDefinitions: String
  /// Live copies of services.d directories: `/run/s6/legacy-services`.
  public var liveLegacyServices: String
  /// The scan directory's links: `/run/service`.
  public var serviceLinks: String

  public init(root: String, settings: S6Settings) {
    let etc = root + (settings.profile.map { "/etc/cont-profile.d/" + $0 } ?? "/etc")
    overlay = etc + "/s6-overlay"
    definitions = overlay + "/s6-rc.d"
    userBundles = settings.bundleDirectory.map { root + $0 } ?? overlay + "/user-bundles.d"
    contInit = etc + "/cont-init.d"
    services = etc + "/services.d"
    contFinish = etc + "/cont-finish.d"
    fixAttrs = etc + "/fix-attrs.d"
    liveDefinitions = root + "/run/s6-rc/servicedirs"
    liveLegacyServices = root + "/run/s6/legacy-services"
    serviceLinks = root + "/run/service"
  }

  /// Whether the image has an s6-overlay layout: any of its directories exists.
  public var isPresent: Bool {
    [overlay, contInit, services, contFinish, fixAttrs, userBundles].contains { S6SourceFiles.isDirectory($0) }
  }
}

/// A variable that a service's `env/` directory unsets (an empty file, s6-envdir's rule).
/// The model has no way to say "unset" yet, so the loader lists these beside the services.
public struct EnvironmentUnset: Equatable, Sendable {
  public var service: String
  public var name: String
  public init(service: String, name: String) {
    self.service = service
    self.name = name
  }
}

/// A service directory as the running service sees it: a real directory made fresh at every
/// boot, in which `run` and `finish` are copies and every other entry is a symlink to the
/// definition (S6-LAYOUT-08, S6-LAYOUT-11).
public struct LiveDirectory: Equatable, Sendable {
  /// The service's name.
  public var name: String
  /// The definition directory it is made from.
  public var source: String
  /// The live directory (the service's working directory).
  public var path: String
  /// services.d (true): `run` and `finish` keep their modes. s6-rc (false): they get 0755.
  public var keepsModes: Bool
  /// `/run/service/<name>`, the symlink to `path`; nil for a services.d logger, which lives
  /// in its service's `log` subdirectory.
  public var link: String?

  public init(name: String, source: String, path: String, keepsModes: Bool, link: String?) {
    self.name = name
    self.source = source
    self.path = path
    self.keepsModes = keepsModes
    self.link = link
  }
}

/// What the s6-overlay v3 layout of a container amounts to in ibex's model.
public struct S6Layout: Sendable {
  /// Whether any of the s6-overlay directories exists. Without them there is nothing else.
  public var isPresent = false
  public var paths: S6Paths
  /// Every service: the built-ins (`legacy-cont-finish`, `legacy-cont-init`,
  /// `legacy-services`), the s6-rc atomic services and the services.d ones with their loggers.
  public var services: [ServiceDefinition] = []
  /// The live directories to create before anything starts, in order.
  public var liveDirectories: [LiveDirectory] = []
  /// For the user, to print when `S6_VERBOSITY` ≥ 1 (the loader already left them out below).
  public var warnings: [String] = []
  /// `/etc/fix-attrs.d` rules, to apply before anything starts.
  public var fixAttrs: [FixAttrsRule] = []
  /// `/etc/cont-init.d` and `/etc/cont-finish.d` programs, in the order they run.
  public var contInitScripts: [String] = []
  public var contFinishScripts: [String] = []
  /// Variables that `env/` directories unset.
  public var environmentUnsets: [EnvironmentUnset] = []

  public var contInitCount: Int { contInitScripts.count }
  public var contFinishCount: Int { contFinishScripts.count }

  public init(paths: S6Paths) { self.paths = paths }
}
