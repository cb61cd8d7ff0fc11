import IbexConfig
import IbexCore
import Testing

private let users = UserDatabase(
  passwd: "root:x:0:0:root:/root:/bin/sh\nbackup:x:34:34:backup:/var/backups:/bin/sh\n",
  group: "root:x:0:\nbackup:x:34:\n")

private let job = "[Service]\nType=oneshot\nExecStart=/bin/true\n"

extension TemporaryRoot {
  func schedule(_ environment: [String] = [], services: [String] = []) throws -> LoadedSchedule {
    let definitions = services.map { ServiceDefinition(name: $0, location: SourceLocation(file: "\($0).service", line: 1)) }
    return try ScheduleLoader.load(root: path, environment: environment, services: definitions, users: users, searchPath: "/usr/bin:/bin")
  }

  /// The message of the error loading gets, or "" if it loads.
  func scheduleError(_ environment: [String] = [], services: [String] = []) -> String {
    do {
      _ = try schedule(environment, services: services)
      return ""
    } catch let error as ConfigError {
      return error.description
    } catch {
      return "unexpected \(error)"
    }
  }
}

@Suite("Schedule loader: timer files, crontabs, CRON_* variables")
struct ScheduleLoaderTests {
  @Test("a timer file: several OnCalendar= lines, monotonic triggers, Unit=, [Install] ignored")
  func timerFile() throws {
    let root = TemporaryRoot()
    root.file(
      "etc/ibex/services/backup.timer",
      """
      [Unit]
      Description=nightly backup

      [Timer]
      OnCalendar=daily
      OnCalendar=Mon..Fri 09:00
      OnBootSec=5min
      OnStartupSec=10s
      OnUnitActiveSec=1h
      OnUnitInactiveSec=30s
      RandomizedDelaySec=10min
      FixedRandomDelay=yes
      AccuracySec=1min
      Persistent=true
      Unit=dump.service

      [Install]
      WantedBy=timers.target
      """)
    let loaded = try root.schedule(services: ["dump"])
    #expect(loaded.timers.count == 1)
    let timer = loaded.timers[0]
    #expect(timer.name == "backup")
    #expect(timer.unit == "dump")
    #expect(timer.calendars.count == 2)
    #expect(timer.afterBoot == [.seconds(300), .seconds(10)])
    #expect(timer.afterActive == [.seconds(3600)])
    #expect(timer.afterInactive == [.seconds(30)])
    #expect(timer.randomizedDelay == .seconds(600))
    #expect(timer.fixedRandomDelay && timer.persistent)
    #expect(loaded.units == ["dump"])
    #expect(loaded.services.isEmpty)
  }

  @Test(
    "bad timer files are errors naming the file and line",
    arguments: [
      ("[Timer]\nOnCalender=daily\n", "backup.timer:2: unknown directive 'OnCalender' in [Timer] (did you mean 'OnCalendar'?)"),
      ("[Timer]\nOnBootSec=soon\n", "backup.timer:2: OnBootSec=soon: 'soon' is not a number"),
      ("[Timer]\nPersistent=maybe\nOnBootSec=1\n", "backup.timer:2: Persistent=maybe: use yes or no"),
      ("[Service]\nExecStart=/bin/true\n", "backup.timer:2: unknown section [Service] in a timer (sections: [Unit], [Timer], [Install])"),
      ("[Timer]\nAccuracySec=1min\n", "backup.timer:1: the timer has no trigger (OnCalendar=, OnBootSec=, OnUnitActiveSec=, ...)"),
      ("[Timer]\nOnBootSec=1\nUnit=other.timer\n", "backup.timer:3: Unit=other.timer: not a service name"),
      ("[Timer]\nOnBootSec=1\nUnit=missing\n", "backup.timer:1: the timer starts missing.service, which does not exist"),
    ] as [(String, String)])
  func badTimer(text: String, message: String) {
    let root = TemporaryRoot()
    root.file("etc/ibex/services/backup.timer", text)
    let error = root.scheduleError(services: ["backup"])
    #expect(error.hasPrefix(root.path + "/etc/ibex/services/" + message), "\(error)")
  }

  @Test("a timer without its service is an error that says what to write")
  func timerWithoutService() {
    let root = TemporaryRoot()
    root.file("etc/ibex/services/backup.timer", "[Timer]\nOnCalendar=daily\n")
    #expect(root.scheduleError().contains("the timer starts backup.service, which does not exist (write "))
  }

  @Test("crontab lines become oneshot services run by /bin/sh -c, as the line's user, never at boot")
  func crontab() throws {
    let root = TemporaryRoot()
    root.file(
      "etc/ibex/crontab",
      """
      # comment
      SHELL=/bin/sh
      GREETING = "hello world"
      CRON_TZ=UTC
      */5 * * * * backup  tar czf /backup/x.tgz /data >/dev/null 2>&1
      @reboot echo booted
      @daily root echo 'a=b  c'   # not a comment for sh? it is: sh sees it
      """)
    let loaded = try root.schedule()
    #expect(loaded.services.map { $0.name } == ["cron-crontab-5", "cron-crontab-6", "cron-crontab-7"])
    let first = loaded.services[0]
    #expect(first.type == .oneshot)
    #expect(first.autostart == false)
    #expect(first.user == "backup")
    #expect(first.start[0].arguments == ["/bin/sh", "-c", "tar czf /backup/x.tgz /data >/dev/null 2>&1"])
    #expect(first.environment == ["SHELL=/bin/sh", "GREETING=hello world"])
    #expect(loaded.identities[0]?.uid == 34)
    #expect(loaded.services[1].user == nil)
    #expect(loaded.timers[1].afterBoot == [.zero])
    #expect(loaded.timers[1].calendars.isEmpty)
    #expect(loaded.services[2].user == nil)
    #expect(loaded.services[2].start[0].arguments[2] == "echo 'a=b  c'   # not a comment for sh? it is: sh sees it")
    #expect(loaded.timers.map { $0.unit } == loaded.services.map { $0.name })
    #expect(loaded.units == Set(loaded.services.map { $0.name }))
  }

  @Test(
    "bad crontab lines are errors naming the file and line",
    arguments: [
      ("* * * *\n", "crontab:1: expected five time fields (minute hour day-of-month month day-of-week) and a command"),
      ("\n\n* * * * *   \n", "crontab:3: no command after the schedule"),
      ("@fortnightly echo\n", "crontab:1: unknown schedule '@fortnightly' (use five fields, @reboot, @hourly, @daily, @weekly, @monthly or @yearly)"),
      ("CRON_TZ=Mars/Olympus\n* * * * * echo\n", "crontab:2: unknown time zone 'Mars/Olympus'"),
      ("* * * * * nobody-such-user-but-a-command-that-is-missing\n", ""),
    ] as [(String, String)])
  func badCrontab(text: String, message: String) {
    let root = TemporaryRoot()
    root.file("etc/ibex/crontab", text)
    let error = root.scheduleError()
    if message.isEmpty {
      #expect(error == "")
    } else {
      #expect(error.hasPrefix(root.path + "/etc/ibex/" + message), "\(error)")
    }
  }

  @Test("crontab.d files: one job per line, named after the file; hidden and backup files are skipped")
  func crontabDirectory() throws {
    let root = TemporaryRoot()
    root.file("etc/ibex/crontab.d/logrotate", "59 23 * * * /usr/sbin/logrotate /etc/logrotate.conf\n")
    root.file("etc/ibex/crontab.d/.hidden", "not a crontab\n")
    root.file("etc/ibex/crontab.d/logrotate~", "not a crontab\n")
    let loaded = try root.schedule()
    #expect(loaded.services.map { $0.name } == ["cron-logrotate-1"])
  }

  @Test("CRON_<NAME> adds cron-<name>, the value byte for byte; FALSE/NO/OFF/0 in any case remove it")
  func environment() throws {
    let root = TemporaryRoot()
    root.file("etc/ibex/crontab.d/hello", "* * * * * echo image default\n")
    let value = "* * * * * echo a=b 'c d' \"e\" >> /tmp/h"
    let loaded = try root.schedule(["CRON_BACKUP_DB=" + value, "CRON_HELLO=False", "CRON_OTHER=off", "CRON_PERIOD_X=1", "PATH=/bin"])
    #expect(loaded.services.map { $0.name } == ["cron-backup_db"])
    #expect(loaded.services[0].start[0].arguments == ["/bin/sh", "-c", "echo a=b 'c d' \"e\" >> /tmp/h"])
    for off in ["FALSE", "no", "Off", "0"] {
      #expect(try root.schedule(["CRON_HELLO=" + off]).services.isEmpty)
    }
  }

  @Test("a bad CRON_* value is an error naming the variable, without echoing the value")
  func badEnvironment() {
    let root = TemporaryRoot()
    let error = root.scheduleError(["CRON_DB=* * * secret-password"])
    #expect(error == "CRON_DB: expected five time fields (minute hour day-of-month month day-of-week) and a command (write \"<5 fields> <command>\", or FALSE to remove the job)")
    #expect(!error.contains("secret"))
  }

  @Test("CONTAINER_ENABLE_SCHEDULING=FALSE turns everything off, but timer services still do not start at boot")
  func schedulingOff() throws {
    let root = TemporaryRoot()
    root.file("etc/ibex/services/backup.timer", "[Timer]\nOnCalendar=daily\n")
    root.file("etc/ibex/crontab", "garbage\n")
    let loaded = try root.schedule(["CONTAINER_ENABLE_SCHEDULING=false", "CRON_X=* * * * * true"], services: ["backup"])
    #expect(loaded.timers.isEmpty)
    #expect(loaded.services.isEmpty)
    #expect(loaded.units == ["backup"])
  }

  @Test("a job name that collides with a service is an error")
  func collision() {
    let root = TemporaryRoot()
    #expect(root.scheduleError(["CRON_WEB=* * * * * true"], services: ["cron-web"]) == "CRON_WEB: job cron-web: a service of that name exists already")
  }

  @Test("the service directory loader leaves timer files to the schedule loader")
  func serviceDirectorySkipsTimers() throws {
    let root = TemporaryRoot()
    root.file("etc/ibex/services/backup.service", job)
    root.file("etc/ibex/services/backup.timer", "[Timer]\nOnCalendar=daily\n")
    let services = try ServiceDirectory.load(root: root.path, users: users, searchPath: "/usr/bin:/bin")
    #expect(services.services.map { $0.name } == ["backup"])
  }
}
