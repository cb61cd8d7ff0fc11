import Foundation
import IbexCore
import Testing

/// A fixture: /etc/passwd and /etc/group of a small image, with the `www` / `www-data` trap.
private let passwd = """
  root:x:0:0:root:/root:/bin/sh
  # a comment: www:x:1:1
  nginx:x:101:101:nginx:/var/lib/nginx:/sbin/nologin
  www:x:102:102::/home/www:/sbin/nologin
  www-data:x:82:82:Linux User,,,:/home/www-data:/sbin/nologin
  abc:x:911:911::/config:/bin/false
  zabbix:x:10050:10050::/var/lib/zabbix:/sbin/nologin

  """
private let group = """
  root:x:0:root
  audio:x:18:
  nginx:x:101:nginx
  www:x:102:
  www-data:x:82:
  abc:x:911:
  zabbix:x:10050:

  """

private let zone = Array("TZif2 Vancouver rules".utf8)

private func plan(
  _ environment: [String], defaults: [(path: String, text: String)] = [], writable: Bool = true,
  files: [String: [UInt8]] = [:]
) -> EnvironmentStage.Plan {
  var all = files
  all["/usr/share/zoneinfo/America/Vancouver"] = zone
  all["/usr/share/zoneinfo/UTC"] = Array("TZif2 UTC".utf8)
  all["/etc/shadow"] = Array("root:$6$secret".utf8)
  all["/usr/share/zoneinfo/posixrules.txt"] = Array("not a zone".utf8)
  return EnvironmentStage.plan(
    EnvironmentStage.Input(
      environment: environment, defaults: defaults, passwd: passwd, group: group, writableEtc: writable,
      read: { path in all[path].map { .contents($0) } ?? .missing }))
}

private func text(_ edit: EnvironmentStage.Edit?) -> String { edit.map { String(decoding: $0.contents, as: UTF8.self) } ?? "" }
private func edit(_ plan: EnvironmentStage.Plan, _ path: String) -> EnvironmentStage.Edit? {
  plan.edits.first { $0.path == path }
}

@Suite("The one boolean parser")
struct BooleanTests {
  @Test(
    "TRUE/FALSE/YES/NO/ON/OFF/1/0 in any case",
    arguments: [
      ("TRUE", true), ("true", true), ("Yes", true), ("on", true), ("1", true), ("FALSE", false), ("no", false),
      ("Off", false), ("0", false), ("yEs", true),
    ] as [(String, Bool)])
  func accepts(text: String, value: Bool) { #expect(Boolean.parse(text) == value) }

  @Test("anything else is nil", arguments: ["", "2", "y", "enable", "TRUEE", "tru", " yes", "ja", "yes\n", "ＹＥＳ"])
  func rejects(text: String) { #expect(Boolean.parse(text) == nil) }

  @Test("a bad boolean variable stops the stage, naming the variable")
  func badVariable() {
    let result = plan(["IBEX_LOG_PREFIX=maybe"])
    #expect(result.errors == ["IBEX_LOG_PREFIX=maybe: not a boolean; \(Boolean.accepted)"])
  }
}

@Suite("Environment stage: defaults and secrets")
struct EnvironmentStageSecretsTests {
  @Test("defaults files are lower priority than the container; later files win over earlier ones")
  func defaults() {
    let result = plan(
      ["A=container", "PATH=/bin"],
      defaults: [("/etc/ibex/defaults/10-a.env", "A=one\nB=one\nC='quoted value'\n"), ("/etc/ibex/defaults/20-b.env", "B=two\n")])
    #expect(result.errors.isEmpty)
    #expect(Environment.value(of: "A", in: result.environment) == "container")
    #expect(Environment.value(of: "B", in: result.environment) == "two")
    #expect(Environment.value(of: "C", in: result.environment) == "quoted value")
  }

  @Test("a bad defaults line is an error with file and line")
  func badDefaults() {
    let result = plan([], defaults: [("/etc/ibex/defaults/10-a.env", "A=1\n\nnot an assignment\n")])
    #expect(result.errors == ["/etc/ibex/defaults/10-a.env:3: not NAME=value"])
  }

  @Test("X_FILE becomes X (one trailing newline removed) and X_FILE is gone")
  func secret() {
    let result = plan(["SMTP_PASS_FILE=/run/secrets/smtp", "OTHER=1"], files: ["/run/secrets/smtp": Array("hunter2\n\n".utf8)])
    #expect(result.errors.isEmpty)
    #expect(Environment.value(of: "SMTP_PASS", in: result.environment) == "hunter2\n")
    #expect(Environment.value(of: "SMTP_PASS_FILE", in: result.environment) == nil)
    #expect(result.secrets == ["SMTP_PASS"])
    #expect(!result.messages.contains { $0.text.contains("hunter2") })
  }

  @Test("X and X_FILE both set is an error; so is a missing file, naming X_FILE")
  func conflicts() {
    #expect(
      plan(["DB_PASS=a", "DB_PASS_FILE=/s"], files: ["/s": [0x61]]).errors == [
        "DB_PASS and DB_PASS_FILE are both set: set only one (DB_PASS_FILE names a file holding DB_PASS's value)"
      ])
    let missing = plan(["SMTP_PASS_FILE=/missing"])
    #expect(missing.errors.count == 1)
    #expect(missing.errors[0].hasPrefix("SMTP_PASS_FILE=/missing: no such file"))
    #expect(plan(["X_FILE=relative/path"]).errors[0].hasPrefix("X_FILE=relative/path: not an absolute path"))
    #expect(plan(["X_FILE=/nul"], files: ["/nul": [0x61, 0, 0x62]]).errors[0].contains("NUL"))
  }

  @Test("the exception list leaves X_FILE alone, and the container's X_FILE beats a default X")
  func exceptions() {
    let result = plan(["LOG_FILE=/var/log/app.log", "IBEX_SECRET_FILE_EXCEPTIONS=LOG_FILE,PID_FILE"])
    #expect(result.errors.isEmpty)
    #expect(Environment.value(of: "LOG_FILE", in: result.environment) == "/var/log/app.log")
    let builtIn = plan(["SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt"])
    #expect(builtIn.errors.isEmpty)
    #expect(builtIn.environment == ["SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt"])
    #expect(plan(["A_FILE=/missing", "IBEX_SECRET_FILE_EXCEPTIONS=*"]).errors.isEmpty)
    let layered = plan(
      ["DB_PASS_FILE=/s"], defaults: [("/d/a.env", "DB_PASS=default\nDB_USER_FILE=/u\n")], files: ["/s": Array("x".utf8)])
    #expect(layered.errors == ["DB_USER_FILE=/u: no such file (or list DB_USER_FILE in IBEX_SECRET_FILE_EXCEPTIONS if it is no secret)"])
    let overridden = plan(["DB_PASS=container"], defaults: [("/d/a.env", "DB_PASS_FILE=/missing\n")])
    #expect(overridden.errors.isEmpty)
    #expect(Environment.value(of: "DB_PASS", in: overridden.environment) == "container")
  }

  @Test("a secret's value never shows in an error about it")
  func secretNotShown() {
    let result = plan(["PUID_FILE=/s", "IBEX_LOG_CMD_FILE=/b"], files: ["/s": Array("s3cr3t".utf8), "/b": Array("t0psecret".utf8)])
    #expect(result.errors.count == 1)  // the boolean: the ids are not looked at after that
    #expect(!result.errors.contains { $0.contains("t0psecret") })
    let ids = plan(["PUID_FILE=/s"], files: ["/s": Array("s3cr3t".utf8)])
    #expect(ids.errors == ["PUID (from PUID_FILE): not a user id (digits only)"])
  }
}

@Suite("Environment stage: time zone")
struct EnvironmentStageTimeZoneTests {
  @Test("a known zone replaces /etc/localtime and /etc/timezone")
  func known() {
    let result = plan(["TIMEZONE=America/Vancouver"])
    #expect(edit(result, "/etc/localtime")?.contents == zone)
    #expect(text(edit(result, "/etc/timezone")) == "America/Vancouver\n")
    #expect(Environment.value(of: "TZ", in: result.environment) == nil)
    let tz = plan(["TZ=:UTC"])
    #expect(text(edit(tz, "/etc/timezone")) == "UTC\n")
  }

  @Test("the same zone again changes nothing")
  func idempotent() {
    let result = plan(
      ["TZ=America/Vancouver"], files: ["/etc/localtime": zone, "/etc/timezone": Array("America/Vancouver\n".utf8)])
    #expect(result.edits.isEmpty)
  }

  @Test(
    "names that are not zones: a warning, nothing changed",
    arguments: [
      "../../../etc/shadow", "/etc/shadow", "America/../../etc/shadow", "Europe/Nowhere", "posixrules.txt", "a//b",
      "./UTC", "Europe/Paris;rm", "America/Vancouver/",
    ])
  func traps(name: String) {
    let result = plan(["TIMEZONE=" + name])
    #expect(result.errors.isEmpty)
    #expect(result.edits.isEmpty)
    #expect(result.messages.count == 1)
    #expect(result.messages.first?.level == .warning)
    #expect(result.messages.first?.text.contains("the time zone is unchanged") == true)
  }

  @Test("a read-only /etc: services get TZ, and a notice says so")
  func readOnly() {
    let result = plan(["TIMEZONE=UTC"], writable: false)
    #expect(result.edits.isEmpty)
    #expect(Environment.value(of: "TZ", in: result.environment) == "UTC")
    #expect(result.messages.first?.level == .notice)
  }
}

@Suite("Environment stage: user and group ids")
struct EnvironmentStageAccountsTests {
  @Test("CONTAINER_USER_NGINX changes nginx's uid and nothing else")
  func user() {
    let result = plan(["CONTAINER_USER_NGINX=1000"])
    #expect(result.errors.isEmpty)
    #expect(text(edit(result, "/etc/passwd")) == passwd.replacingOccurrences("nginx:x:101:101", "nginx:x:1000:101"))
    #expect(edit(result, "/etc/group") == nil)
  }

  @Test("CONTAINER_USER_WWW changes www, never www-data; CONTAINER_USER_WWW_DATA changes www-data")
  func prefixTrap() {
    let www = plan(["CONTAINER_USER_WWW=2000"])
    #expect(text(edit(www, "/etc/passwd")) == passwd.replacingOccurrences("www:x:102:", "www:x:2000:"))
    let data = plan(["CONTAINER_USER_WWW_DATA=2001"])
    #expect(text(edit(data, "/etc/passwd")) == passwd.replacingOccurrences("www-data:x:82:", "www-data:x:2001:"))
  }

  @Test("CONTAINER_GROUP_ changes the gid and its members' primary gid; GROUP_ADD adds each member once")
  func groups() {
    let result = plan(["CONTAINER_GROUP_NGINX=1001", "CONTAINER_GROUP_ADD_AUDIO=nginx,zabbix,nginx"])
    #expect(result.errors.isEmpty)
    #expect(text(edit(result, "/etc/passwd")) == passwd.replacingOccurrences("nginx:x:101:101", "nginx:x:101:1001"))
    #expect(
      text(edit(result, "/etc/group"))
        == group.replacingOccurrences("nginx:x:101:", "nginx:x:1001:").replacingOccurrences("audio:x:18:", "audio:x:18:nginx,zabbix"))
  }

  @Test("a second run on the edited files changes nothing")
  func secondRun() {
    let environment = ["CONTAINER_GROUP_ADD_AUDIO=nginx,zabbix", "CONTAINER_USER_NGINX=1000", "PUID=1234", "PGID=1235"]
    let first = plan(environment)
    #expect(first.errors.isEmpty)
    let again = EnvironmentStage.plan(
      EnvironmentStage.Input(
        environment: environment, passwd: text(edit(first, "/etc/passwd")), group: text(edit(first, "/etc/group"))))
    #expect(again.errors.isEmpty)
    #expect(again.edits.isEmpty)
  }

  @Test("PUID/PGID remap the service account: abc by default, IBEX_SERVICE_USER names another")
  func serviceAccount() {
    let result = plan(["PUID=1000", "PGID=1000"])
    #expect(text(edit(result, "/etc/passwd")).contains("\nabc:x:1000:1000::/config:/bin/false\n"))
    #expect(text(edit(result, "/etc/group")).contains("\nabc:x:1000:\n"))
    let named = plan(["PUID=3000", "IBEX_SERVICE_USER=zabbix"])
    #expect(text(edit(named, "/etc/passwd")).contains("\nzabbix:x:3000:10050:"))
    #expect(plan(["PUID=3000", "IBEX_SERVICE_USER=nobody"]).errors[0].contains("no service account 'nobody'"))
  }

  @Test(
    "bad ids, unknown names and clashes are errors naming the variable, and nothing is edited",
    arguments: [
      ("CONTAINER_USER_NGINX=abc", "CONTAINER_USER_NGINX=abc: not a user id (digits only)"),
      ("CONTAINER_USER_NGINX=-1", "CONTAINER_USER_NGINX=-1: not a user id (digits only)"),
      ("CONTAINER_USER_NGINX=4294967295", "CONTAINER_USER_NGINX=4294967295: not a user id (digits only)"),
      ("CONTAINER_USER_NGINX=1e3", "CONTAINER_USER_NGINX=1e3: not a user id (digits only)"),
      ("CONTAINER_USER_NGINX=0", "CONTAINER_USER_NGINX=0: uid 0 is already used by user 'root'"),
      ("CONTAINER_USER_NGINX=82", "CONTAINER_USER_NGINX=82: uid 82 is already used by user 'www-data'"),
      ("CONTAINER_USER_WW=5", "CONTAINER_USER_WW=5: no user named 'ww' in /etc/passwd"),
      ("CONTAINER_USER_NO_ONE=5", "CONTAINER_USER_NO_ONE=5: no user named 'no_one' or 'no-one' in /etc/passwd"),
      ("CONTAINER_GROUP_AUDIO=101", "CONTAINER_GROUP_AUDIO=101: gid 101 is already used by group 'nginx'"),
      ("CONTAINER_GROUP_ADD_AUDIO=nginx,ghost", "CONTAINER_GROUP_ADD_AUDIO=nginx,ghost: no user named 'ghost' in /etc/passwd"),
      ("CONTAINER_GROUP_ADD_VIDEO=nginx", "CONTAINER_GROUP_ADD_VIDEO=nginx: no group named 'video' in /etc/group"),
    ] as [(String, String)])
  func errors(assignment: String, message: String) {
    let result = plan([assignment, "CONTAINER_USER_ZABBIX=4000"])
    #expect(result.errors == [message])
    #expect(result.edits.isEmpty)
  }

  @Test("ids on a read-only /etc are an error when they would change something, fine when already right")
  func readOnly() {
    #expect(plan(["CONTAINER_USER_NGINX=1000"], writable: false).errors[0].hasPrefix("CONTAINER_USER_NGINX: /etc is read-only"))
    #expect(plan(["CONTAINER_USER_NGINX=101"], writable: false).errors.isEmpty)
  }

  @Test("empty values are as if unset")
  func empty() {
    #expect(plan(["CONTAINER_USER_NGINX=", "PUID=", "TZ="]).edits.isEmpty)
  }
}

extension String {
  /// One replacement, which must happen (so a fixture typo fails the test).
  fileprivate func replacingOccurrences(_ old: String, _ new: String) -> String {
    guard let range = range(of: old) else { return "<\(old) not in the fixture>" }
    return replacingCharacters(in: range, with: new)
  }
}
