import Foundation
import IbexConfig
import IbexCore
import Testing

private func parse(_ text: String, name: String = "web") throws -> ServiceDefinition {
  let file = "/etc/ibex/services/\(name).service"
  return try ServiceFileParser.parse(
    name: name, entries: try UnitFile.parse(text, file: file), location: SourceLocation(file: file, line: 1))
}

/// The message a bad file gets, or "" if it parses.
private func error(_ text: String) -> String {
  do {
    _ = try parse(text)
    return ""
  } catch let error as ConfigError {
    return error.description
  } catch {
    return "unexpected \(error)"
  }
}

@Suite("Native service files")
struct ServiceFileParserTests {
  @Test("every supported directive lands in the model")
  func fullFile() throws {
    let service = try parse(
      """
      [Unit]
      Description=Web server
      Requires=db.service
      Wants=cache
      After=migrate
      Before=lb
      StartLimitBurst=3
      StartLimitIntervalSec=1min

      [Service]
      Type=notify
      ExecStartPre=-/bin/mkdir -p /run/web
      ExecStart=/usr/bin/server --name %N "--title=Web %n"
      ExecStartPost=/bin/true
      ExecStop=/bin/kill -QUIT $MAINPID
      ExecStopPost=/bin/rm -f /run/web/pid
      Restart=on-failure
      RestartSec=500ms
      RestartMaxDelaySec=30s
      TimeoutStartSec=20s
      TimeoutStopSec=3s
      KillSignal=SIGINT
      User=nobody
      Group=nogroup
      SupplementaryGroups=adm users
      Environment="GREETING=hello world" MODE=prod
      EnvironmentFile=-/etc/default/web
      WorkingDirectory=/srv
      UMask=0027
      LimitNOFILE=1024:4096
      LimitCORE=0
      CapabilityBoundingSet=CAP_NET_BIND_SERVICE CAP_CHOWN
      AmbientCapabilities=CAP_NET_BIND_SERVICE
      NoNewPrivileges=yes
      Essential=yes
      EssentialExitCode=3

      [Health]
      Exec=/usr/bin/curl -fsS http://localhost/health
      IntervalSec=10s
      TimeoutSec=2s
      Retries=5
      StartPeriodSec=30s

      [Install]
      WantedBy=multi-user.target
      """)
    #expect(service.description == "Web server")
    #expect(service.dependencies.map { "\($0.kind.rawValue)=\($0.name)" } == ["Requires=db", "Wants=cache", "After=migrate", "Before=lb"])
    #expect(service.startLimitBurst == 3 && service.startLimitInterval == .seconds(60))
    #expect(service.type == .notify)
    #expect(service.startPre.first?.ignoresFailure == true)
    #expect(service.start.first?.arguments == ["/usr/bin/server", "--name", "web", "--title=Web web.service"])
    #expect(service.stop.first?.arguments == ["/bin/kill", "-QUIT", "$MAINPID"])
    #expect(service.restart == .onFailure && service.restartDelay == .milliseconds(500))
    #expect(service.restartMaxDelay == .seconds(30))
    #expect(service.startTimeout == .seconds(20) && service.stopTimeout == .seconds(3))
    #expect(service.killSignal == .interrupt)
    #expect(service.user == "nobody" && service.group == "nogroup" && service.supplementaryGroups == ["adm", "users"])
    #expect(service.environment == ["GREETING=hello world", "MODE=prod"])
    #expect(service.environmentFiles == [EnvironmentFile(path: "/etc/default/web", optional: true)])
    #expect(service.workingDirectory == "/srv" && service.umask == 0o027)
    #expect(service.limits == [LimitSetting(resource: 7, soft: 1024, hard: 4096), LimitSetting(resource: 4, soft: 0, hard: 0)])
    #expect(service.capabilityBoundingSet == (1 << 10 | 1 << 0))
    #expect(service.ambientCapabilities == 1 << 10)
    #expect(service.noNewPrivileges && service.essential && service.essentialExitCode == 3)
    #expect(service.health?.command.program == "/usr/bin/curl")
    #expect(service.health?.interval == .seconds(10) && service.health?.timeout == .seconds(2))
    #expect(service.health?.retries == 5 && service.health?.startPeriod == .seconds(30))
  }

  @Test("[Log]: console, format, prefix, timestamps, a rotating directory and its limits")
  func logSection() throws {
    let service = try parse(
      "[Service]\nExecStart=/bin/x\n[Log]\nConsole=no\nFormat=json\nPrefix=no\nTimestamps=tai64n\nDirectory=/var/log/web\nMaxFileSize=10M\nMaxFiles=5\nMaxTotalSize=1G\n")
    var expected = LogSettings()
    expected.console = false
    expected.format = .json
    expected.prefix = false
    expected.timestamps = .tai64n
    expected.directory = "/var/log/web"
    expected.maxFileSize = 10 << 20
    expected.maxFiles = 5
    expected.maxTotalSize = 1 << 30
    #expect(service.log == expected)
    #expect(try parse("[Service]\nExecStart=/bin/x\n").log == LogSettings())
  }

  @Test("defaults: simple, no restart, 90s start and 5s stop timeouts, SIGTERM")
  func defaults() throws {
    let service = try parse("[Service]\nExecStart=/bin/sleep 1")
    #expect(service.type == .simple && service.restart == .no)
    #expect(service.startTimeout == .seconds(90) && service.stopTimeout == .seconds(5))
    #expect(service.killSignal == .terminate)
    #expect(service.health == nil && !service.essential)
  }

  @Test("a oneshot has no start timeout unless given, and runs extra ExecStart= lines in order after the first")
  func oneshot() throws {
    let service = try parse("[Service]\nType=oneshot\nExecStart=/bin/a\nExecStart=/bin/b\nExecStartPost=/bin/c")
    #expect(service.startTimeout == nil)
    #expect(service.start.map(\.program) == ["/bin/a"])
    #expect(service.startPost.map(\.program) == ["/bin/b", "/bin/c"])
  }

  @Test("every wrong line of a file is reported, one error per line")
  func everyLine() {
    #expect(
      error("[Service]\nExecStart=/bin/x\nRestrat=always\nTimeoutStopSec=soon\nType=forking\n").split(separator: "\n").map {
        String($0.prefix { $0 != " " })
      } == ["/etc/ibex/services/web.service:3:", "/etc/ibex/services/web.service:4:", "/etc/ibex/services/web.service:5:"])
  }

  @Test("RuntimeMaxSec= bounds a oneshot's run (the shorter of it and TimeoutStartSec=); other types are refused")
  func runtimeMax() throws {
    #expect(try parse("[Service]\nType=oneshot\nExecStart=/bin/a\nRuntimeMaxSec=30s").startTimeout == .seconds(30))
    #expect(try parse("[Service]\nType=oneshot\nExecStart=/bin/a\nRuntimeMaxSec=30s\nTimeoutStartSec=10s").startTimeout == .seconds(10))
    #expect(try parse("[Service]\nType=oneshot\nExecStart=/bin/a\nRuntimeMaxSec=infinity").startTimeout == nil)
    #expect(error("[Service]\nExecStart=/bin/a\nRuntimeMaxSec=1h") == "/etc/ibex/services/web.service:3: RuntimeMaxSec= is supported for Type=oneshot services (jobs) only")
  }

  @Test("an empty assignment resets a list, so drop-ins can replace ExecStart=")
  func reset() throws {
    let service = try parse("[Service]\nExecStart=/bin/old\nEnvironment=A=1\n[Service]\nExecStart=\nExecStart=/bin/new\nEnvironment=")
    #expect(service.start.map(\.program) == ["/bin/new"])
    #expect(service.environment == [])
  }

  @Test(
    "bad input is refused with the file, the line and what to do",
    arguments: [
      ("[Service]\nExecStart=/bin/x\nRestrat=always", "/etc/ibex/services/web.service:3: unknown directive 'Restrat' in [Service] (did you mean 'Restart'?)"),
      ("[Servce]\nExecStart=/bin/x", "/etc/ibex/services/web.service:2: unknown section [Servce] (sections: [Unit], [Service], [Health], [Log], [Install])"),
      ("[Service]\nExecStart=/bin/x\n[Log]\nFormat=xml", "/etc/ibex/services/web.service:4: Format=xml: use text or json"),
      ("[Service]\nExecStart=/bin/x\n[Log]\nTimestamps=local", "/etc/ibex/services/web.service:4: Timestamps=local: use none, rfc3339 or tai64n"),
      ("[Service]\nExecStart=/bin/x\n[Log]\nDirectory=logs", "/etc/ibex/services/web.service:4: Directory=logs: the path must be absolute"),
      ("[Service]\nExecStart=/bin/x\n[Log]\nMaxFileSize=1K", "/etc/ibex/services/web.service:4: MaxFileSize=1K: use a size from 4096 to 1073741824 bytes (K, M and G suffixes allowed)"),
      ("[Service]\nExecStart=/bin/x\n[Log]\nMaxFile=3", "/etc/ibex/services/web.service:4: unknown directive 'MaxFile' in [Log] (did you mean 'MaxFiles'?)"),
      ("[Service]\nExecStart=/bin/x\nRestart=sometimes", "/etc/ibex/services/web.service:3: Restart=sometimes: use no, on-failure or always"),
      ("[Service]\nExecStart=/bin/x\nType=forking", "/etc/ibex/services/web.service:3: Type=forking: use simple, notify or oneshot"),
      ("[Service]\nExecStart=/bin/x\nRestartSec=soon", "/etc/ibex/services/web.service:3: RestartSec=soon: 'soon' is not a number"),
      ("[Service]\nExecStart=/bin/x\nKillSignal=SIGFOO", "/etc/ibex/services/web.service:3: KillSignal=SIGFOO: not a signal name or number"),
      ("[Service]\nExecStart=/bin/x\nNoNewPrivileges=maybe", "/etc/ibex/services/web.service:3: NoNewPrivileges=maybe: use yes or no"),
      ("[Service]\nExecStart=/bin/x\nUMask=999", "/etc/ibex/services/web.service:3: UMask=999: use an octal mask such as 0027"),
      ("[Service]\nExecStart=/bin/x\nLimitNOFILE=10:5", "/etc/ibex/services/web.service:3: LimitNOFILE=10:5: the soft limit is above the hard limit"),
      ("[Service]\nExecStart=/bin/x\nCapabilityBoundingSet=CAP_FLY", "/etc/ibex/services/web.service:3: CapabilityBoundingSet=CAP_FLY: unknown capability 'CAP_FLY'"),
      ("[Service]\nExecStart=/bin/x \"unterminated", "/etc/ibex/services/web.service:2: ExecStart=/bin/x \"unterminated: unterminated quote"),
      ("[Service]\nExecStart=+/bin/x", "/etc/ibex/services/web.service:2: ExecStart=+/bin/x: the '+' prefix is not supported"),
      ("[Service]\nExecStart=/bin/x %i", "/etc/ibex/services/web.service:2: ExecStart=/bin/x %i: unsupported specifier '%i' (supported: %n %N %p %t %%)"),
      ("[Service]\nExecStart=/bin/x\nEnvironment=NOVALUE", "/etc/ibex/services/web.service:3: Environment=NOVALUE: 'NOVALUE' is not NAME=VALUE"),
      ("[Service]\nExecStart=/bin/x\nWorkingDirectory=relative", "/etc/ibex/services/web.service:3: WorkingDirectory=relative: the path must be absolute"),
      ("[Unit]\nRequires=bad/name\n[Service]\nExecStart=/bin/x", "/etc/ibex/services/web.service:2: Requires=bad/name: 'bad/name' is not a service name"),
      ("[Service]\nType=simple", "/etc/ibex/services/web.service:1: ExecStart= is missing"),
      ("[Service]\nExecStart=/bin/a\nExecStart=/bin/b", "/etc/ibex/services/web.service:3: only a Type=oneshot service may have more than one ExecStart="),
      ("[Service]\nExecStart=/bin/x\nEssentialExitCode=4", "/etc/ibex/services/web.service:3: EssentialExitCode= needs Essential=yes"),
      ("[Service]\nExecStart=/bin/x\n[Health]\nRetries=3", "/etc/ibex/services/web.service:4: [Health] needs Exec="),
      ("[Service]\nExecStart=/bin/x\nAmbientCapabilities=CAP_CHOWN\nCapabilityBoundingSet=CAP_KILL", "/etc/ibex/services/web.service:3: AmbientCapabilities= must be within CapabilityBoundingSet="),
    ] as [(String, String)])
  func badInput(text: String, message: String) {
    #expect(error(text) == message)
  }

  @Test("names: letters, digits and -_.@: only")
  func names() {
    #expect(ServiceFileParser.isValidName("web-1.api@blue:x_y"))
    #expect(!ServiceFileParser.isValidName(""))
    #expect(!ServiceFileParser.isValidName(".hidden"))
    #expect(!ServiceFileParser.isValidName("a b"))
    #expect(!ServiceFileParser.isValidName("a/b"))
  }
}

@Suite("Environment lists and expansion")
struct EnvironmentTests {
  @Test("later assignments replace earlier ones by name")
  func merge() {
    #expect(Environment.merge(["A=1", "B=2"], ["B=3", "C=4"]) == ["A=1", "B=3", "C=4"])
  }

  @Test("${NAME} expands inside words; $NAME alone splits into words; $$ is a dollar")
  func expand() {
    let env = ["OPTS=-a  -b", "NAME=web", "EMPTY="]
    #expect(Environment.expand(["x", "--name=${NAME}", "$OPTS", "$EMPTY", "${MISSING}", "$$HOME"], in: env)
      == ["x", "--name=web", "-a", "-b", "", "$HOME"])
  }

  @Test(
    "the shell's default forms ${X:-d} ${X-d} ${X:+a} ${X+a} expand as /bin/sh expands them",
    arguments: ["${PORT:-8000}", "${PORT-8000}", "${PORT:+--port}", "${PORT+set}", "--bind=0:${PORT:-8000}/x", "${PORT:-}${PORT}"])
  func shellForms(word: String) throws {
    // The oracle: /bin/sh expanding the same word with PORT unset, empty and 80.
    for environment in [[String](), ["PORT="], ["PORT=80"]] {
      let shell = Process()
      shell.executableURL = URL(fileURLWithPath: "/bin/sh")
      shell.arguments = ["-c", "printf %s \"\(word)\""]
      shell.environment = Dictionary(uniqueKeysWithValues: environment.map { ("PORT", String($0.dropFirst(5))) })
      let output = Pipe()
      shell.standardOutput = output
      try shell.run()
      let expected = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
      shell.waitUntilExit()
      #expect(Environment.expand([word], in: environment) == [expected], "PORT: \(environment)")
    }
  }

  @Test("other ${...} forms are refused at load, naming the form and the $${...} escape")
  func unsupportedForms() {
    for form in ["${#PORT}", "${PORT%8}", "${PORT:=1}", "${PORT?}", "${}", "${-x}"] {
      #expect(Environment.unsupportedExpansion(in: "a" + form) == form)
      if form.contains("%") { continue }  // a systemd specifier in a file (%% there)
      #expect(
        error("[Service]\nExecStart=/bin/x --port=\(form)\n")
          == "/etc/ibex/services/web.service:2: ExecStart=/bin/x --port=\(form): \(form): ibex expands ${NAME}, ${NAME:-default}, ${NAME-default}, ${NAME:+alt} and ${NAME+alt}; write $\(form) to pass it to a shell")
    }
    #expect(Environment.unsupportedExpansion(in: "$${#PORT} ${PORT:-1}") == nil)
  }

  @Test("environment files: NAME=value lines, comments, export, quotes; the first bad line is reported")
  func file() {
    let text = "# comment\n\nexport A=1\nB=\"two words\"\n C='x' \n;other\n"
    #expect(Environment.parseFile(text) == .success(["A=1", "B=two words", "C=x"]))
    #expect(Environment.parseFile("A=1\nnot an assignment\n") == .failure(EnvironmentFileError(line: 2)))
  }

  @Test("environment files: CRLF lines and a byte-order mark are accepted; a NUL is an error")
  func fileCRLF() {
    #expect(Environment.parseFile("A=1\r\nB=two\r\n") == .success(["A=1", "B=two"]))
    #expect(Environment.parseFile("\u{FEFF}A=1\nB=two") == .success(["A=1", "B=two"]))
    #expect(Environment.parseFile("A=1\nB=x\u{0}y\n") == .failure(EnvironmentFileError(line: 2, reason: "a NUL byte is not allowed")))
  }
}

@Suite("User database")
struct UserDatabaseTests {
  let database = UserDatabase(
    passwd: "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\napp:x:1000:1000::/home/app:/bin/sh\n",
    group: "root:x:0:\nadm:x:4:app\nnogroup:x:65534:\napp:x:1000:\n")

  @Test("users by name or number; unknown numbers are accepted like OpenShift's arbitrary uids")
  func users() {
    #expect(database.account("app")?.uid == 1000)
    #expect(database.account("65534")?.name == "nobody")
    #expect(database.account("123456")?.gid == 123456)
    #expect(database.account("ghost") == nil)
  }

  @Test("4294967295, (uid_t)-1, is no id: not as a number, not from passwd or group")
  func unchangedID() throws {
    #expect(UserDatabase.id("4294967295") == nil)
    #expect(UserDatabase.id("4294967294") == 4294967294)
    #expect(database.account("4294967295") == nil)
    #expect(database.gid(of: "4294967295") == nil)
    let odd = UserDatabase(passwd: "minus:x:4294967295:0::/:/bin/sh\n", group: "minus:x:4294967295:\n")
    #expect(odd.account("minus") == nil)
    #expect(odd.gid(of: "minus") == nil)
  }

  @Test("groups by name or number, and a user's memberships")
  func groups() {
    #expect(database.gid(of: "adm") == 4)
    #expect(database.gid(of: "42") == 42)
    #expect(database.gid(of: "ghosts") == nil)
    #expect(database.memberships(of: "app") == [4])
  }
}
