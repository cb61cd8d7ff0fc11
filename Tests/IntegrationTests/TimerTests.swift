import Foundation
import Glibc
import Testing

/// `ibex status --json`'s timers, by name.
private func timerStatus(_ services: ServiceRoot) throws -> [String: [String: Any]] {
  let result = try runCommand([ibexBinary, "status", "--json", "--root", services.root])
  let object = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any]
  var byName: [String: [String: Any]] = [:]
  for timer in object?["timers"] as? [[String: Any]] ?? [] { byName[timer["name"] as! String] = timer }
  return byName
}

private func writeFile(_ path: String, _ text: String) throws {
  try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
  try text.write(toFile: path, atomically: true, encoding: .utf8)
}

/// Every second, in calendar syntax.
private let everySecond = "[Timer]\nOnCalendar=*-*-* *:*:*\n"

@Suite("Timers, crontabs and CRON_* as PID 1", .enabled(if: canUnshare, "needs unshare --pid"))
struct TimerTests {
  @Test("a job every second fires once per elapsed second at most, with its output labelled and its user applied")
  func everySecondJob() throws {
    let services = try ServiceRoot([
      "tick.timer": everySecond,
      "tick.service": """
        [Service]
        Type=oneshot
        User=nobody
        ExecStart=/bin/sh -c 'date +%%s >> $OUT/runs; grep ^Uid: /proc/self/status >> $OUT/uid; echo tick-output'
        """,
    ])
    let before = Date().timeIntervalSince1970
    let ibex = try services.start()
    let pid = try #require(services.ibexPID(ibex))
    #expect(waitUntil(timeout: 30) { services.lines("runs").count >= 4 })
    let after = Date().timeIntervalSince1970
    let runs = services.lines("runs").compactMap { Int($0) }
    // Never twice in one second, never before ibex started, never more than the seconds elapsed.
    #expect(Set(runs).count == runs.count)
    #expect(runs.allSatisfy { Double($0) >= before.rounded(.down) && Double($0) <= after })
    #expect(Double(runs.count) <= after.rounded(.up) - before.rounded(.down) + 1)
    #expect(services.lines("uid").allSatisfy { $0.split(whereSeparator: { $0 == "\t" || $0 == " " }).dropFirst().allSatisfy { $0 == "65534" } })
    let status = try timerStatus(services)["tick.timer"]
    #expect(status?["unit"] as? String == "tick")
    #expect((status?["runs"] as? Int ?? 0) >= 4)
    #expect(status?["next_elapse_ms"] as? Int != nil)
    let table = try runCommand([ibexBinary, "status", "--root", services.root])
    #expect(table.stdout.contains("TIMER       UNIT  NEXT"))
    kill(pid, SIGTERM)
    let result = ibex.finish()
    #expect(result.status == 0)
    #expect(result.stdout.contains("tick | tick-output\n"))
  }

  @Test("a run whose previous run is still active is skipped, counted and logged; runs never overlap")
  func overlapSkipped() throws {
    let services = try ServiceRoot([
      "slow.timer": everySecond,
      "slow.service": "[Service]\nType=oneshot\nExecStart=/bin/sh -c 'echo start >> $OUT/log; sleep 2.5; echo end >> $OUT/log'\n",
    ])
    let ibex = try services.start()
    let pid = try #require(services.ibexPID(ibex))
    #expect(waitUntil(timeout: 30) { services.lines("log").filter { $0 == "end" }.count >= 2 })
    let skipped = try timerStatus(services)["slow.timer"]?["skipped"] as? Int ?? 0
    #expect(skipped >= 2)
    kill(pid, SIGTERM)
    let result = ibex.finish()
    #expect(result.stderr.contains("slow.timer: skipped: slow is still running"))
    let log = services.lines("log")
    for (k, line) in log.enumerated() { #expect(line == (k % 2 == 0 ? "start" : "end")) }
  }

  @Test("RuntimeMaxSec= kills a run that takes too long; the run counts as failed and the timer goes on")
  func runtimeMax() throws {
    let services = try ServiceRoot([
      "hang.timer": everySecond,
      "hang.service": "[Service]\nType=oneshot\nRuntimeMaxSec=1s\nExecStart=/bin/sh -c 'echo run >> $OUT/runs; exec sleep 100000'\n",
    ])
    let ibex = try services.start()
    let pid = try #require(services.ibexPID(ibex))
    #expect(waitUntil(timeout: 30) { services.lines("runs").count >= 2 })
    let status = try timerStatus(services)["hang.timer"]
    #expect(status?["last_succeeded"] as? Bool == false)
    kill(pid, SIGTERM)
    #expect(ibex.finish().status == 0)
  }

  @Test("stop NAME.timer disables it, start NAME.timer enables it, start NAME runs the job now")
  func enableDisableRunNow() throws {
    let services = try ServiceRoot([
      "job.timer": "[Timer]\nOnBootSec=1h\n",
      "job.service": "[Service]\nType=oneshot\nExecStart=/bin/sh -c 'echo ran >> $OUT/runs'\n",
    ])
    let ibex = try services.start()
    let pid = try #require(services.ibexPID(ibex))
    #expect(waitUntil(timeout: 10) { (try? timerStatus(services)["job.timer"]) != nil })
    #expect(services.lines("runs").isEmpty)
    #expect(try runCommand([ibexBinary, "start", "job", "--root", services.root]).status == 0)
    #expect(waitUntil(timeout: 10) { services.lines("runs").count == 1 })
    #expect(waitUntil(timeout: 10) { (try? timerStatus(services)["job.timer"]?["last_result"] as? String) == "exited 0" })
    #expect(try runCommand([ibexBinary, "stop", "job.timer", "--root", services.root]).status == 0)
    #expect(try timerStatus(services)["job.timer"]?["enabled"] as? Bool == false)
    #expect(try runCommand([ibexBinary, "start", "job.timer", "--root", services.root]).status == 0)
    #expect(try timerStatus(services)["job.timer"]?["enabled"] as? Bool == true)
    #expect(try runCommand([ibexBinary, "stop", "nope.timer", "--root", services.root]).status == 3)
    kill(pid, SIGTERM)
    #expect(ibex.finish().status == 0)
  }

  @Test("setting the wall clock is noticed at once (TFD_TIMER_CANCEL_ON_SET) and the schedule goes on", .enabled(if: isRoot, "needs CAP_SYS_TIME"))
  func clockSet() throws {
    let services = try ServiceRoot([
      "tick.timer": everySecond,
      "tick.service": "[Service]\nType=oneshot\nExecStart=/bin/sh -c 'echo ran >> $OUT/runs'\n",
    ])
    let ibex = try services.start()
    let pid = try #require(services.ibexPID(ibex))
    #expect(waitUntil(timeout: 20) { services.lines("runs").count >= 1 })
    // The realtime clock is not namespaced: it is set to its own value (a step of a few
    // microseconds), which the kernel reports to CANCEL_ON_SET timers like any other step.
    let step = try runCommand([
      "/usr/bin/python3", "-c", "import time; time.clock_settime_ns(time.CLOCK_REALTIME, time.clock_gettime_ns(time.CLOCK_REALTIME))",
    ])
    #expect(step.status == 0, "\(step.stderr)")
    #expect(waitUntil(timeout: 10) { ibex.stderrSoFar.contains("the wall clock was set: timers recomputed") })
    let count = services.lines("runs").count
    #expect(waitUntil(timeout: 20) { services.lines("runs").count >= count + 2 })
    kill(pid, SIGTERM)
    #expect(ibex.finish().status == 0)
  }

  @Test("CRON_* jobs run by /bin/sh -c byte for byte; =FALSE removes an image's job; scheduling can be turned off")
  func environmentJobs() throws {
    let services = try ServiceRoot([:])
    try writeFile(services.root + "/etc/ibex/crontab.d/imagejob", "@reboot echo image-default >> \(services.dir)/image\n")
    try writeFile(services.root + "/etc/ibex/crontab", "@reboot echo from-crontab >> \(services.dir)/crontab\n")
    let environment = [
      "CRON_HELLO": "@reboot echo a=b 'c d' >> \(services.dir)/h",
      "CRON_IMAGEJOB": "False",
    ]
    let ibex = try services.start(["/bin/sleep", "100000"], environment: environment)
    let pid = try #require(services.ibexPID(ibex))
    #expect(waitUntil(timeout: 10) { services.lines("h") == ["a=b c d"] && services.lines("crontab") == ["from-crontab"] })
    let timers = try timerStatus(services)
    #expect(Set(timers.keys) == ["cron-hello.timer", "cron-crontab-1.timer"])
    #expect(services.lines("image").isEmpty)
    kill(pid, SIGTERM)
    #expect(ibex.finish().status == 143)

    let off = try services.start(["/bin/sh", "-c", "echo cmd-done >> \(services.dir)/cmd"], environment: ["CONTAINER_ENABLE_SCHEDULING": "no"])
    #expect(off.finish().status == 0)
    #expect(services.lines("crontab") == ["from-crontab"])
    #expect(services.lines("cmd") == ["cmd-done"])
  }

  @Test("invalid timers, crontab lines and CRON_* values: exit 100 before anything starts, naming the place")
  func invalidConfiguration() throws {
    let services = try ServiceRoot([
      "early.service": "[Service]\nExecStart=/bin/sh -c 'echo started >> $OUT/early'\n",
    ])
    try writeFile(services.root + "/etc/ibex/crontab", "# jobs\n* * * *\n")
    let crontab = try services.start().finish()
    #expect(crontab.status == 100)
    #expect(crontab.stderr.contains("/etc/ibex/crontab:2: expected five time fields"))
    try FileManager.default.removeItem(atPath: services.root + "/etc/ibex/crontab")
    let variable = try services.start(environment: ["CRON_BAD": "nonsense"]).finish()
    #expect(variable.status == 100)
    #expect(variable.stderr.contains("CRON_BAD: "))
    try services.write("x.timer", "[Timer]\nOnCalendar=daily\n")
    let timer = try services.start().finish()
    #expect(timer.status == 100)
    #expect(timer.stderr.contains("x.timer:1: the timer starts x.service, which does not exist"))
    #expect(services.lines("early").isEmpty)
  }

  @Test("Persistent= makes up a run missed while the container was down, once, across a restart")
  func persistentAcrossRestart() throws {
    let services = try ServiceRoot([
      "nightly.timer": "[Timer]\nOnCalendar=daily\nPersistent=yes\n",
      "nightly.service": "[Service]\nType=oneshot\nExecStart=/bin/sh -c 'echo ran >> $OUT/runs'\n",
    ])
    let stamp = services.root + "/var/lib/ibex/timers/nightly"
    let twoDaysAgo = Int(Date().timeIntervalSince1970) - 2 * 86400
    try writeFile(stamp, "\(twoDaysAgo)\n")
    let first = try services.start()
    let pid = try #require(services.ibexPID(first))
    #expect(waitUntil(timeout: 10) { services.lines("runs").count == 1 })
    #expect(waitUntil(timeout: 10) { (Int(fileContents(stamp).trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0) > twoDaysAgo })
    kill(pid, SIGTERM)
    #expect(first.finish().status == 0)
    // Started again: the last run is recent, nothing to make up.
    let second = try services.start()
    let pid2 = try #require(services.ibexPID(second))
    #expect(waitUntil(timeout: 10) { (try? timerStatus(services)["nightly.timer"]) != nil })
    kill(pid2, SIGTERM)
    #expect(second.finish().status == 0)
    #expect(services.lines("runs").count == 1)
  }
}
