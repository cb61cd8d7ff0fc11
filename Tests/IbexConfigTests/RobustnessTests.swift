import IbexConfig
import IbexCore
import Testing

/// A small deterministic generator (xorshift), so a failure can be replayed from its seed.
struct SeededRandom {
  var state: UInt64
  mutating func next() -> UInt64 {
    state ^= state << 13
    state ^= state >> 7
    state ^= state << 17
    return state
  }
  mutating func below(_ n: Int) -> Int { Int(next() % UInt64(n)) }
}

/// Random text biased towards the characters the parsers care about.
func randomText(_ random: inout SeededRandom, length: Int) -> String {
  let alphabet = Array("[]=\\\"' \t\n#;%$-@+:~/.0123456789abcxyzExecStartServiceUnitHealth{}\u{0}\u{7f}é€".unicodeScalars)
  var text = ""
  for _ in 0..<length { text.unicodeScalars.append(alphabet[random.below(alphabet.count)]) }
  return text
}

@Suite("Parsers never crash or hang on garbage")
struct RobustnessTests {
  @Test("unit files and service definitions: 3000 random inputs either parse or give a positioned error", arguments: [1, 2, 3] as [UInt64])
  func serviceFiles(seed: UInt64) {
    var random = SeededRandom(state: 0x9E37_79B9_7F4A_7C15 &* seed)
    for _ in 0..<1000 {
      var text = randomText(&random, length: random.below(300))
      if random.below(2) == 0 { text = "[Service]\nExecStart=/bin/true\n" + text }
      do {
        let entries = try UnitFile.parse(text, file: "fuzz.service")
        _ = try ServiceFileParser.parse(name: "fuzz", entries: entries, location: SourceLocation(file: "fuzz.service", line: 1))
      } catch {
        #expect(error.description.hasPrefix("fuzz.service:"), "unpositioned error: \(error.description)")
      }
    }
  }

  @Test("crontabs: 3000 random inputs either parse or give a positioned error")
  func crontabs() {
    var random = SeededRandom(state: 7)
    for _ in 0..<3000 {
      var text = randomText(&random, length: random.below(120))
      if random.below(2) == 0 { text = "* * * * * " + text }
      do {
        _ = try Crontab.parse(text, file: "crontab", isUser: { $0 == "root" })
      } catch {
        #expect(error.description.hasPrefix("crontab:"), "unpositioned error: \(error.description)")
      }
    }
  }

  @Test("words, time spans, signals, environment files and command lines survive random input")
  func smallParsers() {
    var random = SeededRandom(state: 42)
    for _ in 0..<3000 {
      let text = randomText(&random, length: random.below(40))
      _ = try? UnitFile.words(text)
      _ = try? TimeSpan(parsing: text)
      _ = Signal(parsing: text)
      _ = Environment.parseFile(text)
      _ = Environment.expand(text.split(separator: " ").map(String.init), in: ["A=1", "B=x y"])
    }
  }
}
