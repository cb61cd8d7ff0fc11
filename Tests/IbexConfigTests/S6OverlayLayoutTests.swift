import Foundation
import IbexConfig
import IbexCore
import Testing

/// A temporary directory used as the configuration root; removed when the test ends.
final class TemporaryRoot {
  let path: String

  init() {
    path = FileManager.default.temporaryDirectory.appendingPathComponent("ibex-s6-\(UUID().uuidString)").path
    try! FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
  }

  deinit { try? FileManager.default.removeItem(atPath: path) }

  /// Writes `text` to `relative` (parents created) with `mode`.
  func file(_ relative: String, _ text: String = "", mode: Int = 0o644) {
    let full = path + "/" + relative
    try! FileManager.default.createDirectory(atPath: (full as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
    _ = FileManager.default.createFile(atPath: full, contents: Data(text.utf8), attributes: [.posixPermissions: mode])
  }

  func directory(_ relative: String) {
    try! FileManager.default.createDirectory(atPath: path + "/" + relative, withIntermediateDirectories: true)
  }

  /// A definition directory under /etc/s6-overlay/s6-rc.d with these files.
  func definition(_ name: String, _ files: [String: String]) {
    for (file, text) in files { self.file("etc/s6-overlay/s6-rc.d/\(name)/\(file)", text) }
  }

  func userBundle(_ members: [String], name: String = "user") {
    file("etc/s6-overlay/user-bundles.d/\(name)/type", "bundle\n")
    directory("etc/s6-overlay/user-bundles.d/\(name)/contents.d")
    for member in members { file("etc/s6-overlay/user-bundles.d/\(name)/contents.d/\(member)") }
  }

  func load(_ environment: [String] = []) throws -> S6Layout {
    try S6OverlayLayout.load(root: path, settings: S6Settings.parse(environment: environment).settings, searchPath: "/usr/bin:/bin")
  }

  /// The message of the error the layout gets, or "" if it loads.
  func error(_ environment: [String] = []) -> String {
    do {
      _ = try load(environment)
      return ""
    } catch let error as ConfigError {
      return error.description
    } catch {
      return "unexpected \(error)"
    }
  }

  func mode(_ relative: String) -> Int {
    (try! FileManager.default.attributesOfItem(atPath: path + "/" + relative)[.posixPermissions] as! NSNumber).intValue
  }

  func linkTarget(_ relative: String) -> String? {
    try? FileManager.default.destinationOfSymbolicLink(atPath: path + "/" + relative)
  }

  func contents(_ relative: String) -> String? {
    FileManager.default.contents(atPath: path + "/" + relative).map { String(decoding: $0, as: UTF8.self) }
  }
}

extension S6Layout {
  func service(_ name: String) -> ServiceDefinition? { services.first { $0.name == name } }
}

/// Dependencies as `kind=name` strings, for compact comparisons.
private func dependencies(_ service: ServiceDefinition?) -> [String] {
  (service?.dependencies ?? []).map { "\($0.kind.rawValue)=\($0.name)" }
}

private func lex(_ text: String) throws -> ExeclineLexer.Result { try ExeclineLexer.lex(text, file: "up") }

private func lexError(_ text: String) -> String {
  do {
    _ = try ExeclineLexer.lex(text, file: "/x/up")
    return ""
  } catch {
    return error.description
  }
}

@Suite("s6-overlay settings")
struct S6SettingsTests {
  @Test("defaults: 3000 ms grace, no finish limit, verbosity 2, PATH-only environment")
  func defaults() {
    let (settings, warnings) = S6Settings.parse(environment: ["PATH=/bin"])
    #expect(settings == S6Settings())
    #expect(settings.servicesGraceTime == .milliseconds(3000) && settings.killFinishMaxTime == nil && settings.verbosity == 2)
    #expect(!settings.keepEnvironment && settings.failurePolicy == 0 && settings.profile == nil)
    #expect(warnings.isEmpty)
  }

  @Test("every variable is read; a value that is not digits warns and keeps the default")
  func values() {
    let (settings, warnings) = S6Settings.parse(environment: [
      "S6_RUNTIME_PROFILE=dev", "S6_RUNTIME_BUNDLEDIR=/srv/bundles", "S6_KEEP_ENV=1", "S6_BEHAVIOUR_IF_STAGE2_FAILS=2",
      "S6_SERVICES_GRACETIME=500", "S6_KILL_FINISH_MAXTIME=1000", "S6_VERBOSITY=abc", "S6_FIX_ATTRS_HIDDEN=1",
    ])
    #expect(settings.profile == "dev" && settings.bundleDirectory == "/srv/bundles")
    #expect(settings.keepEnvironment && settings.failurePolicy == 2 && settings.fixAttrsHidden)
    #expect(settings.servicesGraceTime == .milliseconds(500) && settings.killFinishMaxTime == .milliseconds(1000))
    #expect(settings.verbosity == 2)
    #expect(warnings == ["S6_VERBOSITY=abc is not a number (digits only): using 2"])
    #expect(S6Settings.parse(environment: ["S6_KILL_FINISH_MAXTIME=0"]).settings.killFinishMaxTime == nil)
    #expect(S6Settings.parse(environment: ["S6_SERVICES_GRACETIME=-1"]).warnings == ["S6_SERVICES_GRACETIME=-1 is not a number (digits only): using 3000"])
  }

  @Test("an environment entry without '=' (execve allows it) sets nothing instead of crashing PID 1 (found by scripts/fuzz.sh)")
  func entryWithoutEquals() {
    let (settings, warnings) = S6Settings.parse(environment: ["S6_VERBOSITY", "S6_KEEP_ENV", "S6_KILL_GRACETIME=5000"])
    #expect(settings.verbosity == 2 && !settings.keepEnvironment)
    #expect(settings.killGraceTime == .milliseconds(5000))
    #expect(warnings.isEmpty)
    #expect(Environment.value(of: "A", in: ["A", "A=1"]) == "1")
    #expect(Environment.value(of: "A", in: ["A"]) == nil)
  }
}

@Suite("execline lexer (up and down files)")
struct ExeclineLexerTests {
  @Test("T-16: a #! line vanishes and the lines become ONE command, flagged as a script")
  func shebangScript() throws {
    let result = try lex("#!/bin/sh\necho hi\ntouch /x\n")
    #expect(result.words == ["echo", "hi", "touch", "/x"])
    #expect(result.looksLikeScript)
  }

  @Test("one line with comments is not a script; # starts a comment only at the start of a word")
  func comments() throws {
    let result = try lex("# set up the database\n  # indented comment\n/etc/s6-overlay/scripts/init-db --fast # trailing\n")
    #expect(result.words == ["/etc/s6-overlay/scripts/init-db", "--fast"])
    #expect(!result.looksLikeScript)
    #expect(try lex("echo a#b").words == ["echo", "a#b"])
    #expect(try lex("").words == [])
    #expect(try lex("# only a comment").words == [])
  }

  @Test("double quotes: one word, possibly empty, with execline's escapes; no $VAR expansion")
  func quotes() throws {
    #expect(try lex(#"echo "hello world" "" $HOME"#).words == ["echo", "hello world", "", "$HOME"])
    #expect(try lex(#"printf "a\tb\nc\"d\\e""#).words == ["printf", "a\tb\nc\"d\\e"])
    #expect(try lex(#"x "\0x41\0102\67""#).words == ["x", "ABC"])
    #expect(try lex("x \"a\\\nb\"").words == ["x", "ab"])
    #expect(try lex(#"x pre"mid dle"post"#).words == ["x", "premid dlepost"])
    #expect(try lex(#"x a\ b \{"#).words == ["x", "a b", "{"])
  }

  @Test("blocks: words get a leading space and the block ends with an empty word; nesting adds spaces")
  func blocks() throws {
    #expect(try lex("foreground { echo 1 } echo 2").words == ["foreground", " echo", " 1", "", "echo", "2"])
    #expect(try lex("if { foreground { a b } c } d").words == ["if", " foreground", "  a", "  b", " ", " c", "", "d"])
    #expect(try lex("x { }").words == ["x", ""])
    #expect(try lex(#"x "{" "}""#).words == ["x", "{", "}"])
  }

  @Test("errors name the file and the line")
  func errors() {
    #expect(lexError("echo\n\"abc\ndef") == "/x/up:2: unterminated double-quoted string (a \" without its closing \")")
    #expect(lexError("a {\nb { c }\n") == "/x/up:1: unterminated block: '{' without its closing '}'")
    #expect(lexError("a\nb }") == "/x/up:2: '}' without an opening '{'")
    #expect(lexError("x \"\\0x00\"") == "/x/up:1: escape sequence gives a NUL byte or a value above 255")
  }

  @Test("3000 random inputs either lex or give a positioned error", arguments: [1, 2, 3] as [UInt64])
  func robustness(seed: UInt64) {
    var random = SeededRandom(state: 0x51ED_2701_A5A5_0F0F &* seed)
    for _ in 0..<1000 {
      let text = randomText(&random, length: random.below(200))
      do {
        let result = try ExeclineLexer.lex(text, file: "up")
        _ = ExeclineLexer.display(result.words)
      } catch {
        #expect(error.description.hasPrefix("up:"), "unpositioned error: \(error.description)")
      }
    }
  }

  @Test("display quotes words that need it")
  func display() {
    #expect(ExeclineLexer.display(["echo", "a b", "", "x\"y"]) == #"echo "a b" "" "x\"y""#)
  }
}

@Suite("s6-overlay layout")
struct S6OverlayLayoutTests {
  @Test("no s6-overlay directory: nothing, not even the built-ins")
  func absent() throws {
    let root = TemporaryRoot()
    root.directory("etc/ibex")
    let layout = try root.load()
    #expect(!layout.isPresent && layout.services.isEmpty && layout.liveDirectories.isEmpty)
  }

  @Test("a longrun with every servicedir file maps to exact settings")
  func longrun() throws {
    let root = TemporaryRoot()
    root.userBundle(["web"])
    root.definition(
      "web",
      [
        "type": " longrun \n", "run": "#!/bin/sh\nexec httpd\n", "finish": "#!/bin/sh\n", "notification-fd": "3\n",
        "timeout-up": "2000", "timeout-down": "4000", "timeout-kill": "0", "timeout-finish": "7000", "down-signal": "SIGINT\n",
        "flag-essential": "", "env/GREETING": "hello world \t\nsecond line", "env/EMPTY": "", "env/MULTI": "a\u{0}b",
        "env/.hidden": "x", "lock-fd": "4", "max-death-tally": "10", "reload-signal": "SIGUSR1", "data/check": "#!/bin/sh\n",
        "some-unknown-file": "x",
      ])
    let layout = try root.load()
    let web = try #require(layout.service("web"))
    let live = root.path + "/run/s6-rc/servicedirs/web"
    #expect(web.type == .simple)
    #expect(web.start == [Command(program: live + "/run", arguments: [live + "/run"], location: SourceLocation(file: root.path + "/etc/s6-overlay/s6-rc.d/web/run", line: 1))])
    #expect(web.workingDirectory == live)
    #expect(web.restart == .always && web.restartDelay == .seconds(1) && web.restartMaxDelay == nil && web.startLimitBurst == 0)
    #expect(web.notificationFD == 3)
    #expect(web.startTimeout == .milliseconds(2000))
    #expect(web.stopTimeout == .milliseconds(4000))
    #expect(web.killSignal == .interrupt)
    #expect(web.finish?.program == live + "/finish" && web.finish?.arguments == [live + "/finish"])
    #expect(web.finishTimeout == .milliseconds(7000))
    #expect(web.stopsLast)
    #expect(!web.inheritsEnvironment)
    #expect(web.autostart)
    #expect(web.environment == ["GREETING=hello world", "MULTI=a\nb"])
    #expect(layout.environmentUnsets == [EnvironmentUnset(service: "web", name: "EMPTY")])
    #expect(dependencies(web) == ["After=legacy-cont-finish"])
    #expect(web.location == SourceLocation(file: root.path + "/etc/s6-overlay/s6-rc.d/web/type", line: 1))
    #expect(
      layout.liveDirectories == [
        LiveDirectory(
          name: "web", source: root.path + "/etc/s6-overlay/s6-rc.d/web", path: live, keepsModes: false, link: root.path + "/run/service/web")
      ])
    #expect(layout.warnings.isEmpty)
  }

  @Test("longrun defaults: stop 10 s, finish 5 s, no start timeout, SIGTERM; timeout-kill wins over timeout-down")
  func longrunDefaults() throws {
    let root = TemporaryRoot()
    root.definition("a", ["type": "longrun", "run": "#!/bin/sh\n"])
    root.definition("b", ["type": "longrun", "run": "#!/bin/sh\n", "timeout-kill": "1500", "timeout-down": "4000", "timeout-finish": "0"])
    let layout = try root.load(["S6_KEEP_ENV=1"])
    let a = try #require(layout.service("a"))
    #expect(a.stopTimeout == .seconds(10) && a.finishTimeout == .seconds(5) && a.startTimeout == nil && a.killSignal == .terminate)
    #expect(a.finish == nil && !a.stopsLast && a.notificationFD == nil && a.inheritsEnvironment)
    #expect(!a.autostart)
    let b = try #require(layout.service("b"))
    #expect(b.stopTimeout == .milliseconds(1500) && b.finishTimeout == .seconds(365 * 86400))
  }

  @Test("a oneshot: up and down lexed, timeouts, dependencies through bundles and base")
  func oneshot() throws {
    let root = TemporaryRoot()
    root.userBundle(["app"])
    root.definition("app", ["type": "bundle", "contents.d/init-db": "", "contents.d/web": ""])
    root.definition("init-db", ["type": "oneshot", "up": "/bin/echo \"set up\" db\n", "down": "/bin/echo bye", "timeout-up": "0", "dependencies.d/base": ""])
    root.definition("web", ["type": "longrun", "run": "#!/bin/sh\n", "dependencies": "# legacy file\ninit-db\n\n"])
    root.definition("other", ["type": "oneshot", "up": "/bin/true", "timeout-up": "300", "timeout-down": "200", "dependencies.d/app": ""])
    let layout = try root.load()
    let initDB = try #require(layout.service("init-db"))
    let up = root.path + "/etc/s6-overlay/s6-rc.d/init-db/up"
    #expect(initDB.type == .oneshot && initDB.remainAfterExit)
    #expect(initDB.start == [Command(program: "/bin/echo", arguments: ["/bin/echo", "set up", "db"], location: SourceLocation(file: up, line: 1))])
    #expect(initDB.stop.map { $0.arguments } == [["/bin/echo", "bye"]])
    #expect(initDB.startTimeout == nil && initDB.stopTimeout == .seconds(10))
    #expect(dependencies(initDB) == ["After=legacy-cont-finish", "Requires=legacy-cont-init"])
    #expect(initDB.autostart)
    let web = try #require(layout.service("web"))
    #expect(dependencies(web) == ["After=legacy-cont-finish", "Requires=init-db"])
    #expect(web.dependencies[1].location == SourceLocation(file: root.path + "/etc/s6-overlay/s6-rc.d/web/dependencies", line: 2))
    let other = try #require(layout.service("other"))
    #expect(!other.autostart)
    #expect(other.startTimeout == .milliseconds(300) && other.stopTimeout == .milliseconds(200))
    #expect(dependencies(other) == ["After=legacy-cont-finish", "Requires=init-db", "Requires=web"])
    #expect(layout.services.map { $0.name } == ["legacy-cont-finish", "legacy-cont-init", "init-db", "other", "web", "legacy-services"])
    _ = try ServiceGraph(layout.services)
  }

  @Test("selection reaches dependencies of members, nested bundles and user2; a bundle containing itself is read once")
  func selection() throws {
    let root = TemporaryRoot()
    root.userBundle(["outer"])
    root.userBundle(["late"], name: "user2")
    root.definition("outer", ["type": "bundle", "contents.d/inner": "", "contents.d/outer": ""])
    root.definition("inner", ["type": "bundle", "contents.d/a": "", "contents.d/outer": ""])
    root.definition("a", ["type": "oneshot", "up": "/bin/true", "dependencies.d/b": ""])
    root.definition("b", ["type": "oneshot", "up": "/bin/true"])
    root.definition("late", ["type": "oneshot", "up": "/bin/true", "dependencies.d/legacy-services": ""])
    root.definition("unused", ["type": "oneshot", "up": "/bin/true"])
    let layout = try root.load()
    #expect(layout.services.filter { !$0.autostart }.map { $0.name } == ["unused"])
    #expect(dependencies(layout.service("late")) == ["After=legacy-cont-finish", "Requires=legacy-services"])
    #expect(dependencies(layout.service("legacy-services")) == ["After=legacy-cont-finish", "Requires=legacy-cont-init", "Requires=a"])
    _ = try ServiceGraph(layout.services)
  }

  @Test("S6-LAYOUT-03: user bundles in s6-rc.d are merged with user-bundles.d, with a deprecation warning")
  func legacyUserBundle() throws {
    let root = TemporaryRoot()
    root.userBundle(["a"])
    root.file("etc/s6-overlay/s6-rc.d/user/contents.d/b")
    root.definition("a", ["type": "oneshot", "up": "/bin/true"])
    root.definition("b", ["type": "oneshot", "up": "/bin/true"])
    let layout = try root.load()
    #expect(layout.service("a")?.autostart == true && layout.service("b")?.autostart == true)
    #expect(
      layout.warnings == [
        "\(root.path)/etc/s6-overlay/s6-rc.d/user: the user bundles in s6-rc.d are deprecated: move them to "
          + "\(root.path)/etc/s6-overlay/user-bundles.d/ (ibex merges both places and never writes to /etc)"
      ])
    #expect(try root.load(["S6_VERBOSITY=0"]).warnings.isEmpty)
  }

  @Test("pipelines: producer-for and consumer-for agree, funnels, and pipeline-name is a bundle")
  func pipelines() throws {
    let root = TemporaryRoot()
    root.userBundle(["chain"])
    root.definition("app", ["type": "longrun", "run": "#!/bin/sh\n", "producer-for": "filter\n"])
    root.definition("cron", ["type": "longrun", "run": "#!/bin/sh\n", "producer-for": "filter"])
    root.definition("filter", ["type": "longrun", "run": "#!/bin/sh\n", "consumer-for": "app\ncron\n", "producer-for": "logger"])
    root.definition("logger", ["type": "longrun", "run": "#!/bin/sh\n", "consumer-for": "filter", "pipeline-name": "chain"])
    let layout = try root.load()
    #expect(layout.service("app")?.outputConsumer == "filter" && layout.service("cron")?.outputConsumer == "filter")
    #expect(layout.service("filter")?.outputConsumer == "logger" && layout.service("logger")?.outputConsumer == nil)
    #expect(dependencies(layout.service("app")) == ["After=legacy-cont-finish", "After=filter"])
    #expect(layout.services.allSatisfy { $0.autostart })
    _ = try ServiceGraph(layout.services)
  }

  @Test("services.d: down file, log/ subdirectory, grace time, dependencies on cont-init and the user bundle")
  func servicesDirectory() throws {
    let root = TemporaryRoot()
    root.userBundle(["db"])
    root.definition("db", ["type": "longrun", "run": "#!/bin/sh\n"])
    root.file("etc/services.d/foo/run", "#!/bin/sh\n", mode: 0o750)
    root.file("etc/services.d/foo/finish", "#!/bin/sh\n", mode: 0o700)
    root.file("etc/services.d/foo/log/run", "#!/bin/sh\n", mode: 0o755)
    root.file("etc/services.d/idle/run", "#!/bin/sh\n", mode: 0o755)
    root.file("etc/services.d/idle/down")
    root.file("etc/services.d/.hidden/run", "#!/bin/sh\n", mode: 0o755)
    root.file("etc/services.d/README", "not a service")
    let layout = try root.load(["S6_SERVICES_GRACETIME=500"])
    let live = root.path + "/run/s6/legacy-services/foo"
    let foo = try #require(layout.service("foo"))
    #expect(foo.start.map { $0.program } == [live + "/run"] && foo.workingDirectory == live)
    #expect(foo.finish?.program == live + "/finish")
    #expect(foo.stopTimeout == .milliseconds(500) && foo.autostart && foo.outputConsumer == "foo-log")
    #expect(dependencies(foo) == ["After=legacy-cont-finish", "Requires=legacy-cont-init", "Requires=db", "After=foo-log"])
    let logger = try #require(layout.service("foo-log"))
    #expect(logger.start.map { $0.program } == [live + "/log/run"] && logger.workingDirectory == live + "/log")
    #expect(logger.stopTimeout == .milliseconds(500) && logger.autostart)
    #expect(layout.service("idle")?.autostart == false)
    #expect(layout.service(".hidden") == nil && layout.service("README") == nil)
    #expect(dependencies(layout.service("legacy-services")) == [
      "After=legacy-cont-finish", "Requires=legacy-cont-init", "Requires=db", "Requires=foo", "Requires=foo-log",
    ])
    #expect(layout.liveDirectories.map { "\($0.name) \($0.keepsModes) \($0.link ?? "-")" } == [
      "db false \(root.path)/run/service/db", "foo true \(root.path)/run/service/foo", "foo-log true -",
      "idle true \(root.path)/run/service/idle",
    ])
    _ = try ServiceGraph(layout.services)
  }

  @Test("cont-init.d and cont-finish.d become the built-ins, byte-sorted, dotfiles skipped")
  func builtins() throws {
    let root = TemporaryRoot()
    root.file("etc/cont-init.d/10-b", "#!/bin/sh\n", mode: 0o755)
    root.file("etc/cont-init.d/02-a", "#!/bin/sh\n", mode: 0o755)
    root.file("etc/cont-init.d/.x", "#!/bin/sh\n", mode: 0o755)
    root.file("etc/cont-finish.d/zz", "#!/bin/sh\n", mode: 0o755)
    var layout = try root.load()
    let initService = try #require(layout.service("legacy-cont-init"))
    #expect(initService.startPre.map { $0.program } == [root.path + "/etc/cont-init.d/02-a", root.path + "/etc/cont-init.d/10-b"])
    #expect(initService.startPre.allSatisfy { $0.ignoresFailure && $0.arguments == [$0.program] })
    #expect(initService.start.isEmpty && initService.type == .oneshot && initService.remainAfterExit && initService.startTimeout == nil)
    #expect(dependencies(initService) == ["After=legacy-cont-finish"])
    let finish = try #require(layout.service("legacy-cont-finish"))
    #expect(finish.stop.map { $0.program } == [root.path + "/etc/cont-finish.d/zz"] && finish.stop[0].ignoresFailure)
    #expect(finish.start.isEmpty && finish.stopTimeout == .seconds(3600) && finish.dependencies.isEmpty)
    #expect(layout.contInitCount == 2 && layout.contFinishCount == 1)
    layout = try root.load(["S6_BEHAVIOUR_IF_STAGE2_FAILS=2", "S6_KILL_FINISH_MAXTIME=1000"])
    #expect(layout.service("legacy-cont-init")?.startPre.allSatisfy { !$0.ignoresFailure } == true)
    #expect(layout.service("legacy-cont-finish")?.stopTimeout == .milliseconds(1000))
  }

  @Test("S6-LAYOUT-14: a runtime profile reads /etc/cont-profile.d/<profile>")
  func profile() throws {
    let root = TemporaryRoot()
    root.file("etc/cont-profile.d/dev/s6-overlay/user-bundles.d/user/contents.d/a")
    root.file("etc/cont-profile.d/dev/s6-overlay/s6-rc.d/a/type", "oneshot")
    root.file("etc/cont-profile.d/dev/s6-overlay/s6-rc.d/a/up", "/bin/true")
    root.file("etc/cont-profile.d/dev/cont-init.d/01", "#!/bin/sh\n", mode: 0o755)
    root.definition("ignored", ["type": "oneshot", "up": "/bin/true"])
    let layout = try root.load(["S6_RUNTIME_PROFILE=dev"])
    #expect(layout.service("a")?.autostart == true && layout.service("ignored") == nil)
    #expect(layout.contInitScripts == [root.path + "/etc/cont-profile.d/dev/cont-init.d/01"])
  }

  @Test("an up file that looks like a script draws the S6-PAIN-02 warning")
  func scriptWarning() throws {
    let root = TemporaryRoot()
    root.definition("s", ["type": "oneshot", "up": "#!/bin/sh\necho hi\ntouch /x\n"])
    let layout = try root.load(["PATH=/bin"])
    let up = root.path + "/etc/s6-overlay/s6-rc.d/s/up"
    #expect(layout.service("s")?.start.first?.arguments == ["echo", "hi", "touch", "/x"])
    #expect(
      layout.warnings == [
        "\(up): 'up' is not a script: its lines are joined into ONE command (echo hi touch /x); put the script in a file and write its path in 'up'"
      ])
  }

  @Test("notification-fd below 3 warns (S6-READY-01)")
  func lowNotificationFD() throws {
    let root = TemporaryRoot()
    root.definition("s", ["type": "longrun", "run": "#!/bin/sh\n", "notification-fd": "1"])
    let layout = try root.load()
    #expect(layout.service("s")?.notificationFD == 1)
    #expect(layout.warnings == ["\(root.path)/etc/s6-overlay/s6-rc.d/s/notification-fd: fd 1 would replace a standard stream of the service: use 3 or more"])
  }

  @Test("every error names its file", arguments: [
    ("type", ["s/type": "daemon\n"], "s6-rc.d/s/type:1: unknown type 'daemon' (oneshot, longrun or bundle)"),
    ("no type", ["s/up": "/bin/true"], "s6-rc.d/s/type: missing (every s6-rc.d directory needs a type: oneshot, longrun or bundle)"),
    ("reserved", ["base/type": "oneshot"], "s6-rc.d/base: 'base' is a reserved name (base, top, fix-attrs, legacy-cont-init, legacy-services, user, user2, legacy-cont-finish)"),
    ("prefix", ["s6rc-x/type": "oneshot"], "s6-rc.d/s6rc-x: names starting with 's6rc-' or 's6-rc-' are reserved for s6-rc"),
    ("unknown dependency", ["s/type": "oneshot", "s/up": "/bin/true", "s/dependencies.d/nope": ""], "s6-rc.d/s/dependencies.d/nope: no service or bundle named 'nope'"),
    ("unknown dependency, legacy file", ["s/type": "oneshot", "s/up": "/bin/true", "s/dependencies": "# c\nnope\n"], "s6-rc.d/s/dependencies:2: no service or bundle named 'nope'"),
    ("unknown member", ["b/type": "bundle", "b/contents": "nope"], "s6-rc.d/b/contents:1: no service or bundle named 'nope'"),
    ("no up", ["s/type": "oneshot"], "s6-rc.d/s/up: missing: a oneshot needs an up file"),
    ("no run", ["s/type": "longrun"], "s6-rc.d/s/run: missing: a longrun needs a run program"),
    ("up program", ["s/type": "oneshot", "s/up": "/nonexistent/prog arg"], "s6-rc.d/s/up:1: /nonexistent/prog: no such executable"),
    ("up name", ["s/type": "oneshot", "s/up": "no-such-program-ibex"], "s6-rc.d/s/up:1: no-such-program-ibex: no such executable in PATH (/usr/bin:/bin)"),
    ("interpreter", ["s/type": "longrun", "s/run": "#!/nonexistent/sh\n"], "s6-rc.d/s/run:1: /nonexistent/sh: no such executable (named by the #! line)"),
    ("unterminated", ["s/type": "oneshot", "s/up": "/bin/echo \"abc"], "s6-rc.d/s/up:1: unterminated double-quoted string (a \" without its closing \")"),
    ("signal", ["s/type": "longrun", "s/run": "#!/bin/sh\n", "s/down-signal": "SIGFOO"], "s6-rc.d/s/down-signal:1: unknown signal 'SIGFOO' (SIGTERM, TERM or a number)"),
    ("timeout", ["s/type": "longrun", "s/run": "#!/bin/sh\n", "s/timeout-up": "5s"], "s6-rc.d/s/timeout-up:1: '5s' is not a number of milliseconds (digits only)"),
    ("notification-fd", ["s/type": "longrun", "s/run": "#!/bin/sh\n", "s/notification-fd": "x"], "s6-rc.d/s/notification-fd:1: 'x' is not a file descriptor number"),
    ("producer", ["p/type": "longrun", "p/run": "#!/bin/sh\n", "p/producer-for": "c", "c/type": "longrun", "c/run": "#!/bin/sh\n"],
      "s6-rc.d/p/producer-for:1: 'c' does not list 'p' in its consumer-for (both sides of a pipeline must agree)"),
    ("consumer", ["p/type": "longrun", "p/run": "#!/bin/sh\n", "c/consumer-for": "p", "c/type": "longrun", "c/run": "#!/bin/sh\n"],
      "s6-rc.d/c/consumer-for:1: 'p' does not name 'c' in its producer-for (both sides of a pipeline must agree)"),
    ("user type", ["user/type": "oneshot"], "s6-rc.d/user/type:1: 'user' must be a bundle"),
  ] as [(String, [String: String], String)])
  func errors(_ label: String, _ files: [String: String], _ message: String) {
    let root = TemporaryRoot()
    for (path, text) in files { root.file("etc/s6-overlay/s6-rc.d/" + path, text) }
    #expect(root.error() == "\(root.path)/etc/s6-overlay/" + message, "\(label)")
  }

  @Test("services.d errors: programs must be executable; names must not clash")
  func legacyErrors() {
    var root = TemporaryRoot()
    root.file("etc/services.d/foo/run", "#!/bin/sh\n", mode: 0o644)
    #expect(root.error() == "\(root.path)/etc/services.d/foo/run: not executable (services.d programs run as they are: chmod +x it)")

    root = TemporaryRoot()
    root.file("etc/services.d/foo/run", "#!/bin/sh\n", mode: 0o755)
    root.file("etc/services.d/foo/log/run", "#!/bin/sh\n", mode: 0o644)
    #expect(root.error() == "\(root.path)/etc/services.d/foo/log/run: not executable (services.d programs run as they are: chmod +x it)")

    root = TemporaryRoot()
    root.definition("web", ["type": "oneshot", "up": "/bin/true"])
    root.file("etc/services.d/web/run", "#!/bin/sh\n", mode: 0o755)
    #expect(root.error() == "\(root.path)/etc/services.d/web: 'web' is also defined by \(root.path)/etc/s6-overlay/s6-rc.d/web")

    root = TemporaryRoot()
    root.file("etc/services.d/foo/run", "#!/bin/sh\n", mode: 0o755)
    root.file("etc/services.d/foo/log/run", "#!/bin/sh\n", mode: 0o755)
    root.file("etc/services.d/foo-log/run", "#!/bin/sh\n", mode: 0o755)
    #expect(root.error() == "\(root.path)/etc/services.d/foo-log: 'foo-log' is also defined by \(root.path)/etc/services.d/foo/log")

    root = TemporaryRoot()
    root.file("etc/services.d/legacy-services/run", "#!/bin/sh\n", mode: 0o755)
    #expect(
      root.error()
        == "\(root.path)/etc/services.d/legacy-services: 'legacy-services' is also defined by \(root.path)/etc/services.d (ibex's built-in legacy-services)")
  }
}

@Suite("s6-overlay live directories")
struct LiveDirectoryTests {
  @Test("run and finish are copied (0755 for s6-rc, own mode for services.d), the rest is linked, /run/service points at it")
  func create() throws {
    let root = TemporaryRoot()
    root.definition("web", ["type": "longrun", "run": "#!/bin/sh\necho web\n", "finish": "#!/bin/sh\n", "notification-fd": "3", "data/x": "1"])
    root.file("etc/services.d/foo/run", "#!/bin/sh\n", mode: 0o750)
    root.file("etc/services.d/foo/log/run", "#!/bin/sh\n", mode: 0o700)
    root.file("etc/services.d/foo/down")
    let layout = try root.load()
    try LiveDirectory.create(layout.liveDirectories)
    let web = "run/s6-rc/servicedirs/web"
    #expect(root.contents(web + "/run") == "#!/bin/sh\necho web\n")
    #expect(root.mode(web + "/run") == 0o755 && root.mode(web + "/finish") == 0o755)
    #expect(root.linkTarget(web + "/run") == nil)
    #expect(root.linkTarget(web + "/data") == root.path + "/etc/s6-overlay/s6-rc.d/web/data")
    #expect(root.linkTarget(web + "/notification-fd") == root.path + "/etc/s6-overlay/s6-rc.d/web/notification-fd")
    #expect(root.linkTarget("run/service/web") == root.path + "/" + web)
    let foo = "run/s6/legacy-services/foo"
    #expect(root.mode(foo + "/run") == 0o750 && root.mode(foo + "/log/run") == 0o700)
    #expect(root.linkTarget(foo + "/log") == nil && root.linkTarget(foo + "/down") == root.path + "/etc/services.d/foo/down")
    #expect(root.linkTarget("run/service/foo") == root.path + "/" + foo)
    #expect(root.linkTarget("run/service/foo-log") == nil)
  }

  @Test("a persisted /run is replaced: stale files go, a directory where the link goes is removed")
  func recreate() throws {
    let root = TemporaryRoot()
    root.definition("web", ["type": "longrun", "run": "#!/bin/sh\n"])
    root.file("run/s6-rc/servicedirs/web/stale", "old")
    root.file("run/s6-rc/servicedirs/web/run", "old run", mode: 0o600)
    root.file("run/service/web/leftover", "old")
    let layout = try root.load()
    try LiveDirectory.create(layout.liveDirectories)
    try LiveDirectory.create(layout.liveDirectories)
    #expect(root.contents("run/s6-rc/servicedirs/web/stale") == nil)
    #expect(root.contents("run/s6-rc/servicedirs/web/run") == "#!/bin/sh\n" && root.mode("run/s6-rc/servicedirs/web/run") == 0o755)
    #expect(root.linkTarget("run/service/web") == root.path + "/run/s6-rc/servicedirs/web")
  }
}

@Suite("fix-attrs.d")
struct FixAttrsTests {
  @Test("lines parse into rules; comments and blank lines are skipped; globs warn")
  func parse() throws {
    let parsed = try FixAttrsRule.parse(
      "# comment\n\n/var/lib/app true app,1000:1001 0640 0750\n/etc/x false 0:0 600 700\n/srv/* false root 0644 0755\n", file: "f")
    #expect(
      parsed.rules == [
        FixAttrsRule(path: "/var/lib/app", recurse: true, account: "app", fallbackUID: 1000, fallbackGID: 1001, fileMode: 0o640, directoryMode: 0o750, location: SourceLocation(file: "f", line: 3)),
        FixAttrsRule(path: "/etc/x", recurse: false, account: "0:0", fileMode: 0o600, directoryMode: 0o700, location: SourceLocation(file: "f", line: 4)),
        FixAttrsRule(path: "/srv/*", recurse: false, account: "root", fileMode: 0o644, directoryMode: 0o755, location: SourceLocation(file: "f", line: 5)),
      ])
    #expect(parsed.warnings == ["f:5: '/srv/*' is used as a path: ibex does not expand globs in fix-attrs.d"])
  }

  @Test("bad lines are errors with file:line", arguments: [
    ("/x true root 0644", "f:1: expected 'path recurse account fmode dmode', found 4 words"),
    ("x true root 0644 0755", "f:1: 'x' is not an absolute path"),
    ("/x yes root 0644 0755", "f:1: recurse must be true or false, not 'yes'"),
    ("/x true root 0944 0755", "f:1: '0944' is not an octal mode"),
    ("/x true root,abc 0644 0755", "f:1: the fallback after ',' must be uid:gid, not 'abc'"),
  ])
  func errors(_ line: String, _ message: String) {
    do {
      _ = try FixAttrsRule.parse(line, file: "f")
      Issue.record("parsed: \(line)")
    } catch {
      #expect(error.description == message)
    }
  }

  @Test("accounts resolve by name, number, or the fallback half by half")
  func owners() {
    let users = UserDatabase(passwd: "app:x:100:101::/home/app:/bin/sh\n", group: "staff:x:50:\n")
    func rule(_ account: String, _ fallback: (UInt32, UInt32)? = nil) -> FixAttrsRule {
      FixAttrsRule(path: "/", recurse: false, account: account, fallbackUID: fallback?.0, fallbackGID: fallback?.1, fileMode: 0, directoryMode: 0, location: SourceLocation(file: "f", line: 1))
    }
    #expect(rule("app").owner(users: users)! == (100, 101))
    #expect(rule("app:staff").owner(users: users)! == (100, 50))
    #expect(rule("7:8").owner(users: users)! == (7, 8))
    #expect(rule("ghost:staff", (9, 9)).owner(users: users)! == (9, 50))
    #expect(rule("app:ghosts", (9, 9)).owner(users: users)! == (100, 9))
    #expect(rule("ghost").owner(users: users) == nil)
  }

  @Test("apply sets modes recursively, skips dotfiles unless asked, and reports missing paths")
  func apply() throws {
    let root = TemporaryRoot()
    root.file("data/a/file", "x", mode: 0o600)
    root.file("data/a/.hidden", "x", mode: 0o600)
    root.file("data/a/sub/deep", "x", mode: 0o600)
    let uid = getuid()
    let gid = getgid()
    let rules = [
      FixAttrsRule(path: "/data/a", recurse: true, account: "\(uid):\(gid)", fileMode: 0o640, directoryMode: 0o750, location: SourceLocation(file: "f", line: 1)),
      FixAttrsRule(path: "/data/missing", recurse: false, account: "\(uid):\(gid)", fileMode: 0o640, directoryMode: 0o750, location: SourceLocation(file: "f", line: 2)),
    ]
    let failures = FixAttrsRule.apply(rules, root: root.path, users: UserDatabase(passwd: "", group: ""), includeHidden: false)
    #expect(failures == ["f:2: \(root.path)/data/missing: No such file or directory"])
    #expect(root.mode("data/a") == 0o750 && root.mode("data/a/sub") == 0o750)
    #expect(root.mode("data/a/file") == 0o640 && root.mode("data/a/sub/deep") == 0o640)
    #expect(root.mode("data/a/.hidden") == 0o600)
    _ = FixAttrsRule.apply(Array(rules.prefix(1)), root: root.path, users: UserDatabase(passwd: "", group: ""), includeHidden: true)
    #expect(root.mode("data/a/.hidden") == 0o640)
  }

  @Test("the loader reads fix-attrs.d and warns that it is deprecated")
  func loaded() throws {
    let root = TemporaryRoot()
    root.file("etc/fix-attrs.d/01", "/data true root 0644 0755\n")
    let layout = try root.load()
    #expect(layout.isPresent && layout.fixAttrs.count == 1)
    #expect(layout.warnings.count == 1 && layout.warnings[0].hasPrefix("\(root.path)/etc/fix-attrs.d is deprecated"))
  }
}
