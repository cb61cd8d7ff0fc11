import Foundation
import Testing

@Suite("ibex run: exit codes")
struct ExitCodeTests {
  @Test("every exit code from 0 to 255 passes through (subreaper mode)", arguments: 0...255)
  func passesThrough(code: Int) throws {
    let result = try runCommand([ibexBinary, "run", "/bin/sh", "-c", "exit \(code)"])
    #expect(result.status == Int32(code))
    #expect(result.stderr == "")
  }

  @Test(
    "as PID 1, the child's code or 128+N for death by signal N",
    .enabled(if: canUnshare, "needs unshare --pid"),
    arguments: [("exit 0", 0), ("exit 42", 42), ("exit 255", 255), ("kill -KILL $$", 137), ("kill -SEGV $$", 139)] as [(String, Int32)])
  func codesAsPID1(script: String, status: Int32) throws {
    let result = try runCommand(asPID1 + [ibexBinary, "run", "/bin/sh", "-c", script])
    #expect(result.status == status)
  }

  @Test("a missing program exits 127 with one line naming it")
  func missingProgram() throws {
    let result = try runCommand([ibexBinary, "run", "/nonexistent/server", "--flag"])
    #expect(result.status == 127)
    #expect(result.stderr == "ibex: fatal: unable to exec /nonexistent/server: No such file or directory\n")
    let searched = try runCommand([ibexBinary, "run", "no-such-program-anywhere"])
    #expect(searched.status == 127)
    #expect(searched.stderr == "ibex: fatal: unable to exec no-such-program-anywhere: No such file or directory\n")
  }

  @Test("a file that cannot be executed exits 126 with one line naming it")
  func notExecutable() throws {
    let dir = makeScratchDirectory()
    #expect(FileManager.default.createFile(atPath: "\(dir)/script", contents: Data("#!/bin/sh\n".utf8)))
    let result = try runCommand([ibexBinary, "run", "\(dir)/script"])
    #expect(result.status == 126)
    #expect(result.stderr == "ibex: fatal: unable to exec \(dir)/script: Permission denied\n")
    let directory = try runCommand([ibexBinary, "run", dir])
    #expect(directory.status == 126)
  }
}

@Suite("ibex: command line")
struct CommandLineTests {
  @Test("help and version exit 0 and print to stdout")
  func helpAndVersion() throws {
    let help = try runCommand([ibexBinary, "help"])
    #expect(help.status == 0)
    #expect(help.stdout.hasPrefix("Usage: ibex COMMAND"))
    let runHelp = try runCommand([ibexBinary, "run", "--help"])
    #expect(runHelp.status == 0)
    #expect(runHelp.stdout.hasPrefix("Usage: ibex run [--grace DURATION] [--pgroup] [--] PROGRAM [ARGS...]"))
    #expect(try runCommand([ibexBinary, "help", "run"]).stdout == runHelp.stdout)
    let version = try runCommand([ibexBinary, "version"])
    #expect(version.status == 0)
    #expect(version.stdout.hasPrefix("ibex "))
  }

  @Test("ibex version prints the version, the commit it was built from and the build (issue 19)")
  func versionDetails() throws {
    let lines = try runCommand([ibexBinary, "version"]).stdout.split(separator: "\n").map(String.init)
    #expect(lines.count == 3, "\(lines)")
    guard lines.count == 3 else { return }
    #expect(lines[0].hasPrefix("ibex 0."))
    #expect(lines[1].hasPrefix("commit: "))
    let commit = String(lines[1].dropFirst("commit: ".count))
    let hex = commit.hasSuffix("-dirty") ? String(commit.dropLast("-dirty".count)) : commit
    if ProcessInfo.processInfo.environment["IBEX_BIN"] != nil {
      // The shipped build: scripts/build-release.sh embedded the commit of this repository.
      #expect(lines[2] == "build: Embedded Swift, static-PIE, musl")
      #expect(hex.count == 12 && hex.allSatisfy(\.isHexDigit), "\(commit)")
      let known = try runCommand(["/usr/bin/git", "-C", repositoryRoot, "cat-file", "-e", hex + "^{commit}"])
      #expect(known.status == 0, "\(commit) is not a commit of \(repositoryRoot)")
    } else {
      #expect(commit == "unknown")
      #expect(lines[2] == "build: Swift, SwiftPM build, glibc")
    }
  }

  @Test("without git the commit is 'unknown' (a Docker build context has no .git)")
  func commitWithoutGit() throws {
    let script = repositoryRoot + "/scripts/commit-id.sh"
    let outside = try runCommand(["/usr/bin/env", "GIT_DIR=/nonexistent", script])
    #expect(outside.stdout == "unknown\n")
    let noGit = try runCommand(["/usr/bin/env", "PATH=/nonexistent", "/bin/bash", script])
    #expect(noGit.stdout == "unknown\n")
    let inside = try runCommand([script])
    #expect(inside.stdout.count >= 13 && inside.stdout.prefix(12).allSatisfy(\.isHexDigit), "\(inside.stdout)")
  }

  @Test(
    "usage errors exit 2 with a message and where to find help",
    arguments: [
      (["run"], "ibex: usage error: missing PROGRAM to run (see 'ibex run --help')\n"),
      (["run", "--bogus", "true"], "ibex: usage error: unknown option '--bogus' (see 'ibex run --help')\n"),
      (["run", "--grace", "soon", "true"],
       "ibex: usage error: invalid duration 'soon' for --grace: 'soon' is not a number (see 'ibex run --help')\n"),
      (["frobnicate"], "ibex: usage error: unknown command 'frobnicate' (see 'ibex help')\n"),
    ] as [([String], String)])
  func usageErrors(arguments: [String], message: String) throws {
    let result = try runCommand([ibexBinary] + arguments)
    #expect(result.status == 2)
    #expect(result.stderr == message)
  }

  @Test("without a command, ibex prints its usage and exits 2")
  func noCommand() throws {
    let result = try runCommand([ibexBinary])
    #expect(result.status == 2)
    #expect(result.stdout.hasPrefix("Usage: ibex COMMAND"))
  }
}

@Suite("ibex audit")
struct AuditForwardingTests {
  @Test("forwards to ibex-audit on PATH, like git subcommands; says what is missing otherwise")
  func forwarding() throws {
    let products = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().deletingLastPathComponent().path
    let listed = try runCommand([ibexBinary, "audit", "--list-rules"], environment: ["PATH": products + ":/usr/bin:/bin"])
    #expect(listed.status == 0)
    #expect(listed.stdout.contains("IBX-DF-"))
    let missing = try runCommand([ibexBinary, "audit", "Dockerfile"], environment: ["PATH": "/nonexistent"])
    #expect(missing.status == 127)
    #expect(missing.stderr == "ibex: fatal: unable to run ibex-audit: No such file or directory (ibex audit needs the ibex-audit program on PATH)\n")
  }
}
