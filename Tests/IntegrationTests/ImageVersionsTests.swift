import Foundation
import Testing

/// images/support-status: the support status of each Alpine branch on a date, by SECURITY.md's
/// rules (latest; current; previous for six months after the newest release; Alpine's end of
/// life wins), on a fixture branch list and on the real images/versions.
@Suite(
  "Alpine branch support status (images/support-status)",
  .enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/python3"), "needs python3"))
struct ImageVersionsTests {
  /// Four branches; 3.3 has a short life and 3.2's end of life falls inside its `previous` window.
  static let fixture = """
    # branch  released    end-of-life
    3.1       2020-01-10  2022-01-01
    3.2       2020-07-01  2022-01-15   # a comment
    3.3       2021-01-31  2021-12-01

    3.4       2021-08-31  2023-08-01
    """

  func status(_ arguments: [String], versions: String? = fixture) throws -> CommandResult {
    var command = ["/usr/bin/python3", "\(repositoryRoot)/images/support-status"]
    if let versions {
      let file = makeScratchDirectory() + "/versions"
      try versions.write(toFile: file, atomically: true, encoding: .utf8)
      command += ["--versions", file]
    }
    return try runCommand(command + arguments)
  }

  @Test(
    "the status of every branch on a date",
    arguments: [
      ("2019-12-31", "3.4 unreleased\n3.3 unreleased\n3.2 unreleased\n3.1 unreleased\n"),
      // A branch is the latest from its release day.
      ("2020-01-10", "3.4 unreleased\n3.3 unreleased\n3.2 unreleased\n3.1 latest\n"),
      ("2020-07-01", "3.4 unreleased\n3.3 unreleased\n3.2 latest\n3.1 current\n"),
      // previous: six months after the newest release (Jan 31 + 6 months = Jul 31), exclusive.
      ("2021-01-31", "3.4 unreleased\n3.3 latest\n3.2 current\n3.1 previous until 2021-07-30\n"),
      ("2021-07-30", "3.4 unreleased\n3.3 latest\n3.2 current\n3.1 previous until 2021-07-30\n"),
      ("2021-07-31", "3.4 unreleased\n3.3 latest\n3.2 current\n3.1 unsupported\n"),
      // The window ends at Alpine's end of life when that comes first (Jan 15, not Feb 28).
      ("2021-08-31", "3.4 latest\n3.3 current\n3.2 previous until 2022-01-14\n3.1 unsupported\n"),
      // Alpine's end of life wins over rank: 3.3 is past it although it is the current branch.
      ("2021-12-01", "3.4 latest\n3.3 unsupported\n3.2 previous until 2022-01-14\n3.1 unsupported\n"),
      ("2022-01-15", "3.4 latest\n3.3 unsupported\n3.2 unsupported\n3.1 unsupported\n"),
      ("2023-08-01", "3.4 unsupported\n3.3 unsupported\n3.2 unsupported\n3.1 unsupported\n"),
    ])
  func table(date: String, expected: String) throws {
    let result = try status(["--date", date])
    #expect(result.status == 0, "\(result.stderr)")
    #expect(result.stdout == expected)
  }

  @Test("--format list prints the supported set, newest first: what CI builds")
  func list() throws {
    #expect(try status(["--date", "2021-12-01", "--format", "list"]).stdout == "3.4\n3.2\n")
    #expect(try status(["--date", "2019-01-01", "--format", "list"]).stdout == "")
  }

  @Test("--format json gives CI its matrix and the branch for the latest tag")
  func json() throws {
    let result = try status(["--date", "2021-08-31", "--format", "json"])
    #expect(result.status == 0)
    let object = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
    #expect(object["date"] as? String == "2021-08-31")
    #expect(object["latest"] as? String == "3.4")
    #expect(object["supported"] as? [String] == ["3.4", "3.3", "3.2"])
    let branches = try #require(object["branches"] as? [[String: Any]])
    #expect(branches.count == 4)
    #expect(branches[2]["branch"] as? String == "3.2" && branches[2]["until"] as? String == "2022-01-14")
    #expect(branches[2]["end_of_life"] as? String == "2022-01-15" && branches[2]["released"] as? String == "2020-07-01")
    #expect(branches[0]["until"] is NSNull)
  }

  @Test(
    "a malformed versions file or command line is exit 2 with a message naming the line",
    arguments: [
      ("3.1 2020-01-10\n", "versions:1: expected 'BRANCH RELEASED END-OF-LIFE', found 2 fields"),
      ("3.1 2020-01-10 2022-13-01\n", "versions:1: '2022-13-01' is not a date (YYYY-MM-DD)"),
      ("edge 2020-01-10 2022-01-01\n", "versions:1: 'edge' is not an Alpine branch (MAJOR.MINOR)"),
      ("3.1 2020-01-10 2019-01-01\n", "versions:1: 3.1 ends (2019-01-01) before it is released (2020-01-10)"),
      ("3.2 2020-07-01 2022-01-01\n3.1 2020-01-10 2022-01-01\n", "versions:2: 3.1 is not released after 3.2: list branches oldest first"),
      ("3.1 2020-01-10 2022-01-01\n3.1 2020-07-10 2022-01-01\n", "versions:2: 3.1 is listed twice"),
      ("# nothing\n", "versions: no branches"),
    ])
  func malformed(versions: String, message: String) throws {
    let result = try status(["--date", "2021-01-01"], versions: versions)
    #expect(result.status == 2)
    #expect(result.stderr.hasPrefix("support-status: /") && result.stderr.hasSuffix("/\(message)\n"), "\(result.stderr)")
  }

  @Test("usage errors are exit 2")
  func usage() throws {
    for (arguments, message) in [
      (["--date", "yesterday"], "support-status: --date: 'yesterday' is not a date (YYYY-MM-DD)\n"),
      (["--format", "yaml"], "support-status: --format yaml: expected table, list or json\n"),
      (["--verbose"], "support-status: unknown option '--verbose' (see --help)\n"),
      (["--date"], "support-status: --date needs a value\n"),
    ] {
      let result = try status(arguments)
      #expect(result.status == 2 && result.stderr == message, "\(arguments)")
    }
    #expect(try status(["--help"], versions: nil).stdout.contains("usage: images/support-status"))
  }

  @Test("images/versions itself: on 2026-11-29, 3.24 is latest, 3.23 current, 3.22 previous until December 8")
  func realVersions() throws {
    let result = try status(["--date", "2026-11-29"], versions: nil)
    #expect(result.status == 0, "\(result.stderr)")
    let lines = result.stdout.split(separator: "\n").map(String.init)
    #expect(Array(lines.drop { !$0.hasPrefix("3.24 ") }.prefix(5)) == [
      "3.24 latest", "3.23 current", "3.22 previous until 2026-12-08", "3.21 unsupported", "3.20 unsupported",
    ])
    // Without --date it evaluates today, and always names a latest branch.
    #expect(try status(["--format", "json"], versions: nil).stdout.contains(#""latest":"3."#))
  }
}
