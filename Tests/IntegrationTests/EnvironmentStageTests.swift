import Foundation
import Glibc
import Testing

/// A test root for the environment stage: its own /etc/passwd and /etc/group (with the
/// `www` / `www-data` trap), a small zoneinfo tree copied from Debian's tzdata, and services.
private struct StageRoot {
  let services: ServiceRoot
  var root: String { services.root }
  static let passwd = """
    root:x:0:0:root:/root:/bin/sh
    nginx:x:101:101:nginx:/var/lib/nginx:/sbin/nologin
    www:x:102:102::/home/www:/sbin/nologin
    www-data:x:82:82:Linux User,,,:/home/www-data:/sbin/nologin
    app:x:1500:1500::/home/app:/bin/sh
    zabbix:x:10050:10050::/var/lib/zabbix:/sbin/nologin

    """
  static let group = """
    root:x:0:root
    audio:x:18:
    nginx:x:101:nginx
    www:x:102:
    www-data:x:82:
    app:x:1500:
    zabbix:x:10050:

    """

  init(_ services: [String: String] = [:]) throws {
    self.services = try ServiceRoot(services)
    let fm = FileManager.default
    try fm.createDirectory(atPath: root + "/usr/share/zoneinfo/America", withIntermediateDirectories: true)
    for zone in ["America/Vancouver", "UTC"] {
      let file = URL(fileURLWithPath: "/usr/share/zoneinfo/" + zone).resolvingSymlinksInPath().path
      try fm.copyItem(atPath: file, toPath: root + "/usr/share/zoneinfo/" + zone)
    }
    try "not a zone\n".write(toFile: root + "/usr/share/zoneinfo/README", atomically: true, encoding: .utf8)
    try Self.passwd.write(toFile: root + "/etc/passwd", atomically: true, encoding: .utf8)
    try Self.group.write(toFile: root + "/etc/group", atomically: true, encoding: .utf8)
    chmod(root + "/etc/passwd", 0o640)
    chown(root + "/etc/group", 0, 42)
  }

  func contents(_ path: String) -> Data { FileManager.default.contents(atPath: root + path) ?? Data() }

  /// `ibex init --root ROOT -- /bin/true` as PID 1 with `environment`: the stage, then exit.
  func boot(_ environment: [String: String], command: [String] = ["/bin/true"]) throws -> CommandResult {
    try services.start(command, environment: environment).finish()
  }
}

private func fileStat(_ path: String) -> stat {
  var info = stat()
  #expect(stat(path, &info) == 0, "stat \(path)")
  return info
}

@Suite("ibex init: the environment stage", .enabled(if: canUnshare && isRoot, "needs root and unshare --pid"))
struct EnvironmentStageProcessTests {
  @Test("TIMEZONE replaces /etc/localtime and /etc/timezone; a traversal is a warning and changes nothing")
  func timeZone() throws {
    let stage = try StageRoot()
    let result = try stage.boot(["TIMEZONE": "America/Vancouver"])
    #expect(result.status == 0, "\(result.stderr)")
    #expect(stage.contents("/etc/localtime") == FileManager.default.contents(atPath: "/usr/share/zoneinfo/America/Vancouver"))
    #expect(String(decoding: stage.contents("/etc/timezone"), as: UTF8.self) == "America/Vancouver\n")
    #expect(fileStat(stage.root + "/etc/localtime").st_mode & 0o7777 == 0o644)
    for name in ["../../../etc/shadow", "/etc/shadow", "README", "Mars/Olympus"] {
      let bad = try stage.boot(["TIMEZONE": name])
      #expect(bad.status == 0)
      #expect(bad.stderr.contains("ibex: warning: environment: TIMEZONE=\(name): "), "\(bad.stderr)")
      #expect(stage.contents("/etc/localtime") == FileManager.default.contents(atPath: "/usr/share/zoneinfo/America/Vancouver"))
    }
    #expect(!FileManager.default.fileExists(atPath: stage.root + "/etc/localtime.ibex-new"))
  }

  @Test("CONTAINER_USER_WWW edits www only, keeps mode and owner, and a second boot changes nothing")
  func users() throws {
    let stage = try StageRoot()
    let environment = [
      "CONTAINER_USER_WWW": "2000", "CONTAINER_GROUP_NGINX": "1001", "CONTAINER_GROUP_ADD_AUDIO": "nginx,zabbix",
    ]
    let first = try stage.boot(environment)
    #expect(first.status == 0, "\(first.stderr)")
    let passwd = String(decoding: stage.contents("/etc/passwd"), as: UTF8.self)
    #expect(
      passwd
        == StageRoot.passwd.replacingOccurrences(of: "www:x:102:", with: "www:x:2000:")
        .replacingOccurrences(of: "nginx:x:101:101:", with: "nginx:x:101:1001:"))
    let group = String(decoding: stage.contents("/etc/group"), as: UTF8.self)
    #expect(
      group
        == StageRoot.group.replacingOccurrences(of: "nginx:x:101:", with: "nginx:x:1001:")
        .replacingOccurrences(of: "audio:x:18:", with: "audio:x:18:nginx,zabbix"))
    #expect(fileStat(stage.root + "/etc/passwd").st_mode & 0o7777 == 0o640)
    #expect(fileStat(stage.root + "/etc/group").st_gid == 42)
    #expect(first.stderr.contains("ibex: info: environment: CONTAINER_USER_WWW: user 'www' uid 102 -> 2000"))
    let second = try stage.boot(environment)
    #expect(second.status == 0)
    #expect(String(decoding: stage.contents("/etc/passwd"), as: UTF8.self) == passwd)
    #expect(String(decoding: stage.contents("/etc/group"), as: UTF8.self) == group)
    #expect(!second.stderr.contains("replaced"), "nothing is written the second time: \(second.stderr)")
  }

  @Test(
    "a bad id, an unknown name or a clash stops the boot with 100, naming the variable; no file changes",
    arguments: [
      ("CONTAINER_USER_NGINX", "abc", "CONTAINER_USER_NGINX=abc: not a user id"),
      ("CONTAINER_USER_NGINX", "82", "CONTAINER_USER_NGINX=82: uid 82 is already used by user 'www-data'"),
      ("CONTAINER_GROUP_ADD_AUDIO", "ghost", "CONTAINER_GROUP_ADD_AUDIO=ghost: no user named 'ghost'"),
      ("PUID", "3000", "PUID=3000: no service account 'abc' in /etc/passwd"),
    ])
  func idErrors(variable: String, value: String, message: String) throws {
    let stage = try StageRoot()
    let before = (stage.contents("/etc/passwd"), stage.contents("/etc/group"))
    let result = try stage.boot([variable: value, "CONTAINER_USER_ZABBIX": "4000"], command: ["/bin/sh", "-c", "echo CMD ran"])
    #expect(result.status == 100)
    #expect(result.stderr.contains("ibex: fatal: " + message), "\(result.stderr)")
    #expect(!result.stdout.contains("CMD ran"))
    #expect(!result.stderr.contains("info:"), "no step is reported as done when nothing is")
    #expect(stage.contents("/etc/passwd") == before.0)
    #expect(stage.contents("/etc/group") == before.1)
  }

  @Test("X and X_FILE both set, or a missing X_FILE, stop the boot naming the variable")
  func secretErrors() throws {
    let stage = try StageRoot()
    let both = try stage.boot(["SMTP_PASS": "a", "SMTP_PASS_FILE": "/etc/passwd"])
    #expect(both.status == 100)
    #expect(both.stderr.contains("ibex: fatal: SMTP_PASS and SMTP_PASS_FILE are both set"), "\(both.stderr)")
    let missing = try stage.boot(["SMTP_PASS_FILE": "/missing"])
    #expect(missing.status == 100)
    #expect(missing.stderr.contains("ibex: fatal: SMTP_PASS_FILE=/missing: no such file"), "\(missing.stderr)")
  }

  @Test("a secret from X_FILE reaches services and CMD, never any output or `ibex status --json`; X_FILE is gone")
  func secretNeverShown() throws {
    let secret = "hunter2-\(UInt32.random(in: 0...UInt32.max))"
    let stage = try StageRoot([
      "app.service": """
        [Service]
        ExecStart=/bin/sh -c 'test "$SMTP_PASS" = "$(cat $OUT/secret)" && echo service-ok >> $OUT/seen; echo "file=$${SMTP_PASS_FILE-unset}" >> $OUT/seen; exec sleep 100000'
        """
    ])
    try (secret + "\n").write(toFile: stage.services.dir + "/secret", atomically: true, encoding: .utf8)
    try FileManager.default.createDirectory(atPath: stage.root + "/etc/ibex/defaults", withIntermediateDirectories: true)
    try "APP_MODE=production\nSMTP_USER=default\n".write(
      toFile: stage.root + "/etc/ibex/defaults/10-app.env", atomically: true, encoding: .utf8)
    let ibex = try stage.services.start(
      ["/bin/sh", "-c", "test \"$SMTP_PASS\" = \"$(cat \(stage.services.dir)/secret)\" && echo cmd-ok $APP_MODE $SMTP_USER; exec sleep 100000"],
      environment: ["SMTP_PASS_FILE": stage.services.dir + "/secret", "SMTP_USER": "container", "IBEX_LOG_PREFIX": "YES"])
    #expect(waitUntil(timeout: 20) { stage.services.lines("seen").count == 2 })
    #expect(stage.services.lines("seen") == ["service-ok", "file=unset"])
    let status = try runCommand([ibexBinary, "status", "--json"], environment: ["IBEX_ROOT": stage.root])
    #expect(status.status == 0, "\(status.stderr)")
    #expect(status.stdout.contains("\"app\""))
    kill(try #require(stage.services.ibexPID(ibex)), SIGTERM)
    let result = ibex.finish()
    #expect(result.stdout.contains("cmd-ok production container"), "\(result.stdout)")
    #expect(result.stderr.contains("ibex: info: environment: SMTP_PASS set from SMTP_PASS_FILE"))
    for output in [result.stdout, result.stderr, status.stdout, status.stderr] {
      #expect(!output.contains(secret))
    }
  }

  @Test("StateDirectory= and RuntimeDirectory= are owned by a remapped uid; credentials 0500/0400; removed on stop")
  func directoriesAndCredentials() throws {
    let stage = try StageRoot([
      "app.service": """
        [Service]
        User=app
        StateDirectory=app
        RuntimeDirectory=app
        RuntimeDirectoryMode=0750
        LoadCredential=db:$OUT/db-password
        SetCredential=token:t0ken
        ExecStart=/bin/sh -c 'touch $RUNTIME_DIRECTORY/pid; echo "$STATE_DIRECTORY $(cat $CREDENTIALS_DIRECTORY/db) $(cat $CREDENTIALS_DIRECTORY/token)" >> $OUT/seen; exec sleep 100000'
        """
    ])
    try "from-file\n".write(toFile: stage.services.dir + "/db-password", atomically: true, encoding: .utf8)
    chmod(stage.services.dir + "/db-password", 0o600)
    // The state directory exists from an earlier boot, owned by the old uid, with a file.
    try FileManager.default.createDirectory(atPath: stage.root + "/var/lib/app", withIntermediateDirectories: true)
    #expect(FileManager.default.createFile(atPath: stage.root + "/var/lib/app/data", contents: Data("x".utf8)))
    chown(stage.root + "/var/lib/app", 1500, 1500)
    chown(stage.root + "/var/lib/app/data", 1500, 1500)
    let ibex = try stage.services.start(environment: ["CONTAINER_USER_APP": "2345", "CONTAINER_GROUP_APP": "2346"])
    #expect(waitUntil(timeout: 20) { stage.services.lines("seen").count == 1 })
    #expect(stage.services.lines("seen") == ["\(stage.root)/var/lib/app from-file t0ken"])
    for path in ["/var/lib/app", "/var/lib/app/data", "/run/app", "/run/app/pid"] {
      let info = fileStat(stage.root + path)
      #expect(info.st_uid == 2345 && info.st_gid == 2346, "\(path): \(info.st_uid):\(info.st_gid)")
    }
    #expect(fileStat(stage.root + "/run/app").st_mode & 0o7777 == 0o750)
    let credentials = stage.root + "/run/ibex/credentials/app"
    #expect(fileStat(credentials).st_mode & 0o7777 == 0o500)
    #expect(fileStat(credentials).st_uid == 2345)
    for name in ["db", "token"] {
      let info = fileStat(credentials + "/" + name)
      #expect(info.st_mode & 0o7777 == 0o400 && info.st_uid == 2345, "\(name)")
    }
    let stop = try runCommand([ibexBinary, "stop", "app"], environment: ["IBEX_ROOT": stage.root])
    #expect(stop.status == 0, "\(stop.stderr)")
    #expect(waitUntil(timeout: 20) { !FileManager.default.fileExists(atPath: stage.root + "/run/app") })
    #expect(waitUntil(timeout: 20) { !FileManager.default.fileExists(atPath: credentials) })
    #expect(FileManager.default.fileExists(atPath: stage.root + "/var/lib/app/data"), "state stays")
    kill(try #require(stage.services.ibexPID(ibex)), SIGTERM)
    #expect(ibex.finish().status == 0)
  }

  @Test("a bad boolean stops the boot naming the variable")
  func badBoolean() throws {
    let stage = try StageRoot()
    let result = try stage.boot(["IBEX_LOG_CMD": "maybe"])
    #expect(result.status == 100)
    #expect(result.stderr.contains("ibex: fatal: IBEX_LOG_CMD=maybe: not a boolean"), "\(result.stderr)")
  }
}

@Suite(
  "the environment stage in a runc container",
  .enabled(if: isRoot && FileManager.default.isExecutableFile(atPath: "/usr/sbin/runc"), "needs root and runc"),
  .enabled(if: ibexIsStatic, "needs the static release build (scripts/build-release.sh, IBEX_BIN)"))
struct EnvironmentStageContainerTests {
  @Test("on a read-only root, TIMEZONE reaches services as TZ with a notice; ids that would change are an error")
  func readOnlyRoot() throws {
    let services = [
      "clock.service": """
        [Service]
        ExecStart=/bin/sh -c 'echo "tz=$TZ"; exec sleep 100000'
        """
    ]
    let bundle = try ContainerBundle(args: ["/init"], services: services, environment: ["TIMEZONE=UTC"])
    try FileManager.default.createDirectory(atPath: bundle.rootfs + "/usr/share/zoneinfo", withIntermediateDirectories: true)
    // Debian's UTC is a symlink to Etc/UTC: copy the zone file itself.
    try FileManager.default.copyItem(
      atPath: URL(fileURLWithPath: "/usr/share/zoneinfo/UTC").resolvingSymlinksInPath().path, toPath: bundle.rootfs + "/usr/share/zoneinfo/UTC")
    let id = "ibex-test-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
    let container = try bundle.run(id: id)
    #expect(waitUntil(timeout: 30) { fileContents("\(container.directory)/stdout").contains("tz=UTC") })
    _ = try runCommand(["/usr/sbin/runc", "kill", id, "TERM"])
    let result = container.finish(timeout: 30)
    _ = try? runCommand(["/usr/sbin/runc", "delete", "--force", id])
    #expect(result.status == 0, "\(result.stderr)")
    #expect(result.stderr.contains("notice: environment: time zone UTC: /etc is read-only, so services get TZ=UTC"))
    #expect(!FileManager.default.fileExists(atPath: bundle.rootfs + "/etc/localtime"))

    let ids = try ContainerBundle(args: ["/init"], services: services, environment: ["CONTAINER_USER_NOBODY=1234"])
    let id2 = "ibex-test-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
    let refused = try ids.run(id: id2).finish(timeout: 30)
    _ = try? runCommand(["/usr/sbin/runc", "delete", "--force", id2])
    #expect(refused.status == 100)
    #expect(refused.stderr.contains("fatal: CONTAINER_USER_NOBODY: /etc is read-only"), "\(refused.stderr)")
  }
}
