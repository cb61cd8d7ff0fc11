import IbexAudit
import Testing

@Suite("Dockerfile parser")
struct DockerfileParserTests {
  @Test("an unknown instruction is an error at its line and column, with a hint")
  func unknownInstructionMessage() {
    #expect(throws: ParseError("unknown instruction 'FORM'; is a heredoc or continuation line missing above?", at: SourcePosition(line: 2, column: 3))) {
      try DockerfileParser.parse("FROM alpine:3.20\n  FORM x\n")
    }
  }

  @Test("a heredoc without its terminator is an error at the marker")
  func unterminatedHeredocMessage() {
    #expect(throws: ParseError("heredoc <<EOT is not terminated; add a line containing only 'EOT'", at: SourcePosition(line: 2, column: 5))) {
      try DockerfileParser.parse("FROM alpine:3.20\nRUN <<EOT\necho hi\n")
    }
  }

  @Test("an escape directive other than backslash or backtick is an error")
  func invalidEscapeMessage() {
    #expect(throws: ParseError("invalid escape directive '%': use \\ or `", at: .start)) {
      try DockerfileParser.parse("# escape=%\nFROM alpine:3.20\n")
    }
  }

  @Test("a file without instructions is an error")
  func emptyFileMessage() {
    #expect(throws: ParseError("the file has no instructions; a Dockerfile needs at least a FROM", at: .start)) {
      try DockerfileParser.parse("# only a comment\n\n")
    }
  }

  @Test("only ARG may come before the first FROM")
  func instructionBeforeFrom() {
    #expect(throws: ParseError("RUN before the first FROM; only ARG may come before FROM", at: SourcePosition(line: 2, column: 1))) {
      try DockerfileParser.parse("ARG V=1\nRUN echo $V\nFROM alpine:3.20\n")
    }
  }

  @Test("directives are read only before the first comment, blank line or instruction; keys are case-insensitive")
  func directivesOnlyAtTheTop() throws {
    let file = try DockerfileParser.parse("# SYNTAX=docker/dockerfile:1\n#escape=`\n\n# escape=\\\nFROM alpine:3.20\n")
    #expect(file.directives == ["syntax": "docker/dockerfile:1", "escape": "`"])
    #expect(file.escape == "`")
    let late = try DockerfileParser.parse("# hello\n# escape=`\nFROM alpine:3.20\n")
    #expect(late.escape == "\\")
    #expect(late.comments.map(\.text) == ["hello", "escape=`"])
  }

  @Test("continuation lines keep a map back to physical lines; comments and empty lines inside are dropped")
  func continuationPositions() throws {
    let file = try DockerfileParser.parse("FROM alpine:3.20\nRUN apk add \\  \n  # comment\n\n  curl\n")
    let run = file.instructions[1]
    #expect(run.argumentString == "apk add   curl")
    #expect(run.lines == 2...5)
    let curl = run.argumentString.distance(from: run.argumentString.startIndex, to: run.argumentString.range(of: "curl")!.lowerBound)
    #expect(run.arguments.position(at: curl) == SourcePosition(line: 5, column: 3))
    #expect(file.comments.map(\.line) == [3])
  }

  @Test("with a backtick escape a trailing backslash is literal")
  func windowsEscape() throws {
    let file = try DockerfileParser.parse("# escape=`\nFROM mcr.microsoft.com/windows/nanoserver:ltsc2022\nRUN dir C:\\\nRUN echo a `\n  b\n")
    #expect(file.instructions.map(\.argumentString) == ["mcr.microsoft.com/windows/nanoserver:ltsc2022", "dir C:\\", "echo a   b"])
  }

  @Test("several heredocs on one line, quoted delimiters and <<- are read in order; bodies are never instructions")
  func heredocs() throws {
    let source = "FROM alpine:3.20\nRUN <<A <<-'B' cat\nFROM x\nA\n\tline\n\tB\n# comment right after\nCOPY --chmod=755 <<\"EOF\" /bin/start\n#!/bin/sh\nEOF\n"
    let file = try DockerfileParser.parse(source)
    #expect(file.instructions.map(\.keyword) == ["FROM", "RUN", "COPY"])
    let run = file.instructions[1]
    #expect(run.heredocs.map(\.delimiter) == ["A", "B"])
    #expect(run.heredocs.map(\.quoted) == [false, true])
    #expect(run.heredocs.map(\.stripsTabs) == [false, true])
    #expect(run.heredocs[0].body.string == "FROM x")
    #expect(run.heredocs[1].body.string == "line")
    #expect(run.heredocs[1].body.position(at: 0) == SourcePosition(line: 5, column: 2))
    #expect(file.instructions[2].flag("chmod")?.value == "755")
    #expect(file.instructions[2].heredocs.first?.body.string == "#!/bin/sh")
    #expect(file.comments.map(\.line) == [7])
  }

  @Test("exec form must be a JSON array of double-quoted strings; anything else falls back to shell form")
  func execForm() {
    #expect(DockerfileParser.execForm("[\"a\", \"b c\"]").0 == ["a", "b c"])
    #expect(DockerfileParser.execForm("['a']").1 == true)
    #expect(DockerfileParser.execForm("[\"a\",]").1 == true)
    #expect(DockerfileParser.execForm("[\"a\" \"b\"]").1 == true)
    #expect(DockerfileParser.execForm("echo [x]").0 == nil)
    #expect(DockerfileParser.execForm("echo [x]").1 == false)
    #expect(DockerfileParser.execForm("[\"\\u0041\\n\"]").0 == ["A\n"])
  }

  @Test("flags are stripped before the arguments, and ONBUILD wraps a parsed instruction")
  func flagsAndOnbuild() throws {
    let file = try DockerfileParser.parse("FROM --platform=$BUILDPLATFORM golang:1.23 AS build\nRUN --mount=type=cache,target=/root/.cache --network=none go build\nONBUILD COPY --from=build /a /b\n")
    #expect(file.instructions[0].flag("platform")?.value == "$BUILDPLATFORM")
    #expect(file.instructions[0].argumentString == "golang:1.23 AS build")
    #expect(file.instructions[1].flags.map(\.name) == ["mount", "network"])
    #expect(file.instructions[1].argumentString == "go build")
    #expect(file.instructions[2].onbuild?.value.keyword == "COPY")
    #expect(file.instructions[2].onbuild?.value.flag("from")?.value == "build")
  }

  @Test("a UTF-8 BOM, CRLF line ends and lowercase keywords are accepted")
  func encoding() throws {
    let file = try DockerfileParser.parse("\u{FEFF}from alpine:3.20\r\nrun echo \\\r\n  hi\r\n")
    #expect(file.instructions.map(\.keyword) == ["FROM", "RUN"])
    #expect(file.instructions[1].argumentString == "echo   hi")
  }
}
