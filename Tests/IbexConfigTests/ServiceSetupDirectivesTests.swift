import IbexConfig
import IbexCore
import Testing

private func parse(_ text: String) throws -> ServiceDefinition {
  let entries = try UnitFile.parse(text, file: "/etc/ibex/services/app.service")
  return try ServiceFileParser.parse(
    name: "app", entries: entries, location: SourceLocation(file: "/etc/ibex/services/app.service", line: 1))
}

private func failure(_ text: String) -> String {
  do {
    _ = try parse(text)
    return "no error"
  } catch let error as ConfigError {
    return error.description
  } catch {
    return "\(error)"
  }
}

@Suite("Service files: *Directory=, *DirectoryMode=, LoadCredential=, SetCredential=")
struct ServiceSetupDirectivesTests {
  @Test("directories and credentials are read, and the steps and variables follow from them")
  func parsesAndPlans() throws {
    let service = try parse(
      """
      [Service]
      ExecStart=/bin/app
      StateDirectory=app app/db
      RuntimeDirectory=app
      RuntimeDirectoryMode=0750
      LogsDirectory=app
      LoadCredential=db:/run/secrets/db
      SetCredential=token:abc:def
      SetCredential=token:second
      """)
    #expect(
      service.directories == [
        ManagedDirectory(kind: .state, path: "app"), ManagedDirectory(kind: .state, path: "app/db"),
        ManagedDirectory(kind: .runtime, path: "app"), ManagedDirectory(kind: .logs, path: "app"),
      ])
    #expect(service.directoryModes[ManagedDirectory.Kind.runtime.rawValue] == 0o750)
    #expect(
      service.credentials == [
        Credential(id: "db", source: .file("/run/secrets/db")), Credential(id: "token", source: .value("second")),
      ])
    #expect(
      ServiceSetup.environment(service) == [
        "RUNTIME_DIRECTORY=/run/app", "STATE_DIRECTORY=/var/lib/app:/var/lib/app/db", "LOGS_DIRECTORY=/var/log/app",
        "CREDENTIALS_DIRECTORY=/run/ibex/credentials/app",
      ])
    #expect(
      ServiceSetup.beforeStart(service, uid: 1000, gid: 1001, root: "/r") == [
        .directory(path: "/r/run/app", uid: 1000, gid: 1001, mode: 0o750),
        .directory(path: "/r/var/lib/app", uid: 1000, gid: 1001, mode: 0o755),
        .directory(path: "/r/var/lib/app/db", uid: 1000, gid: 1001, mode: 0o755),
        .directory(path: "/r/var/log/app", uid: 1000, gid: 1001, mode: 0o755),
        .remove(path: "/r/run/ibex/credentials/app"),
        .directory(path: "/r/run/ibex/credentials/app", uid: 0, gid: 0, mode: 0o700),
        .credential(path: "/r/run/ibex/credentials/app/db", source: .file("/run/secrets/db"), uid: 1000, gid: 1001),
        .credential(path: "/r/run/ibex/credentials/app/token", source: .value("second"), uid: 1000, gid: 1001),
        .seal(path: "/r/run/ibex/credentials/app", uid: 1000, gid: 1001),
      ])
    #expect(
      ServiceSetup.afterStop(service, root: "/r") == [
        .remove(path: "/r/run/app"), .remove(path: "/r/run/ibex/credentials/app"),
      ])
  }

  @Test("a service without them gets no steps and no variables")
  func none() throws {
    let service = try parse("[Service]\nExecStart=/bin/app\n")
    #expect(ServiceSetup.beforeStart(service, uid: 0, gid: 0).isEmpty)
    #expect(ServiceSetup.afterStop(service).isEmpty)
    #expect(ServiceSetup.environment(service).isEmpty)
  }

  @Test("runtime directories go when the service has stopped, not while it runs or restarts")
  func stopped() {
    #expect(ServiceSetup.hasStopped(.stopped, remainAfterExit: false))
    #expect(ServiceSetup.hasStopped(.failed(.unhealthy), remainAfterExit: false))
    #expect(ServiceSetup.hasStopped(.done, remainAfterExit: false))
    #expect(!ServiceSetup.hasStopped(.done, remainAfterExit: true))
    #expect(!ServiceSetup.hasStopped(.running, remainAfterExit: false))
    #expect(!ServiceSetup.hasStopped(.stopping, remainAfterExit: false))
  }

  @Test(
    "bad values name the file and line; a SetCredential= value never shows",
    arguments: [
      ("StateDirectory=../etc", "app.service:3: StateDirectory=../etc: '../etc' must be a relative path below /var/lib (no '..')"),
      ("RuntimeDirectory=/abs", "app.service:3: RuntimeDirectory=/abs: '/abs' must be a relative path below /run (no '..')"),
      ("CacheDirectory=a/./b", "app.service:3: CacheDirectory=a/./b: 'a/./b' must be a relative path below /var/cache (no '..')"),
      ("StateDirectoryMode=rwx", "app.service:3: StateDirectoryMode=rwx: use an octal mode such as 0750"),
      ("LoadCredential=db", "app.service:3: LoadCredential=db: use ID:PATH"),
      ("LoadCredential=db:relative", "app.service:3: LoadCredential=db:relative: the path must be absolute"),
      ("LoadCredential=../x:/s", "app.service:3: LoadCredential=../x:/s: '../x' is not a credential name (no '/')"),
      ("SetCredential=a/b:hunter2", "app.service:3: SetCredential=a/b:…: 'a/b' is not a credential name (no '/')"),
      ("SetCredential=id:%z-hunter2", "app.service:3: SetCredential=id:…: unsupported specifier '%z' (supported: %n %N %p %t %%)"),
    ] as [(String, String)])
  func bad(line: String, message: String) {
    #expect(failure("[Service]\nExecStart=/bin/app\n\(line)\n") == "/etc/ibex/services/" + message)
  }
}
