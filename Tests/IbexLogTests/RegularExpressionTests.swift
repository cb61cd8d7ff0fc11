import IbexLog
import Testing

// The expected answers are musl 1.2.3's regcomp(REG_EXTENDED | REG_NOSUB) and regexec, which
// s6-log selections used before RegularExpression replaced them (generated with a small C
// program linked against musl): the same lines must still be selected.

private let matching: [(pattern: String, line: String, matches: Bool)] = [
  ("error", "an error here", true),
  ("error", "all fine", false),
  ("^error", "error at start", true),
  ("^error", "an error", false),
  ("done$", "all done", true),
  ("done$", "done here", false),
  ("^$", "", true),
  ("^$", "x", false),
  ("a|b|c", "xxc", true),
  ("a|b|c", "xyz", false),
  ("(foo|bar)baz", "barbaz", true),
  ("(foo|bar)baz", "foobar", false),
  ("ab*c", "ac", true),
  ("ab*c", "abbbc", true),
  ("ab+c", "ac", false),
  ("ab+c", "abc", true),
  ("ab?c", "abbc", false),
  ("ab?c", "xacx", true),
  ("a{2}", "a", false),
  ("a{2}", "baab", true),
  ("a{2,}", "aaa", true),
  ("a{2,3}b", "aab", true),
  ("a{2,3}b", "ab", false),
  ("a{0}b", "b", true),
  ("(ab){2}", "abab", true),
  ("(ab){2}", "abxab", false),
  ("[abc]", "xbx", true),
  ("[^abc]", "abc", false),
  ("[^abc]", "abcd", true),
  ("[a-c]+z", "bbz", true),
  ("[]a]", "]", true),
  ("[^]a]", "]", false),
  ("[a-]", "-", true),
  ("[-a]", "-", true),
  ("[a-z--@]", "-", true),
  ("[a-z--@]", "5", true),
  ("[[:digit:]]+", "abc123", true),
  ("[[:digit:]]+", "abc", false),
  ("[[:alpha:]_][[:alnum:]_]*", "9_x", true),
  ("[[:space:]]", "a b", true),
  ("[[:upper:]]", "abc", false),
  ("[[:upper:]]", "aBc", true),
  ("[[:punct:]]", "a.b", true),
  ("[[:xdigit:]]", "g", false),
  ("[[:xdigit:]]", "F", true),
  ("[^[:digit:]]", "123", false),
  ("[^[:digit:]]", "12a", true),
  (".", "x", true),
  ("a.c", "abc", true),
  ("a.c", "ac", false),
  ("\\.", "a.b", true),
  ("\\.", "ab", false),
  ("\\w+", "foo", true),
  ("\\W", "foo", false),
  ("\\W", "foo bar", true),
  ("\\s", "ab", false),
  ("\\s", "a b", true),
  ("\\S", "   ", false),
  ("\\d", "abc", false),
  ("\\d", "a1", true),
  ("\\D", "123", false),
  ("\\bfoo\\b", "a foo b", true),
  ("\\bfoo\\b", "afoob", false),
  ("\\Bfoo", "afoo", true),
  ("\\Bfoo", "foo", false),
  ("foo\\B", "foox", true),
  ("foo\\B", "foo", false),
  ("\\<foo", "a foo", true),
  ("\\<foo", "afoo", false),
  ("foo\\>", "foo bar", true),
  ("foo\\>", "foobar", false),
  ("\\b", "", true),
  ("\\B", "", false),
  ("\\B", "a", false),
  ("\\b", "a", true),
  ("x\\b", "x", true),
  ("\\bx", "x", true),
  ("\\x41", "A", true),
  ("\\x{41}", "A", true),
  ("\\x4", "x", false),
  ("a\\xb", "ab", false),
  ("\\q", "q", true),
  ("\\{", "{", true),
  ("\\|", "|", true),
  ("a**", "aaa", true),
  ("(a*)*", "b", true),
  ("(a|)b", "b", true),
  ("(|a)", "x", true),
  ("()", "x", true),
  ("a)", "a)", true),
  ("(a))", "a)", true),
  (")", ")", true),
  ("a{255}", "a", false),
  ("^*a", "a", true),
  ("a$b", "a$b", false),
  ("a^b", "a^b", false),
  ("(^a)", "ba", false),
  ("(a$)", "ab", false),
  ("x*", "", true),
  ("caf.", "café", true),
  ("é", "café", true),
  ("[é]", "é", true),
  ("[^a]", "é", true),
  ("[[:alpha:]]", "é", false),
  (".*", "", true),
  ("a+$", "baaa", true),
  ("(a|b)*c", "ababc", true),
  ("(a|b)*c", "abab", false),
  ("((a|b)c)+d", "acbcd", true),
  ("[]-a]", "^", true),
  ("a\\tb", "a\tb", true),
]

private let invalid: [(pattern: String, line: String, message: String)] = [
  ("a(", "a", "Missing ')'"),
  ("(a", "a", "Missing ')'"),
  ("*a", "a", "Repetition not preceded by valid expression"),
  ("+a", "a", "Repetition not preceded by valid expression"),
  ("?a", "a", "Repetition not preceded by valid expression"),
  ("{a", "a", "Repetition not preceded by valid expression"),
  ("a{", "a{", "Invalid contents of {}"),
  ("a{1", "a", "Invalid contents of {}"),
  ("a{,2}", "a", "Invalid contents of {}"),
  ("a{3,2}", "a", "Invalid contents of {}"),
  ("a{256}", "a", "Invalid contents of {}"),
  ("[a", "a", "Missing ']'"),
  ("[[:foo:]]", "a", "Unknown character class name"),
  ("[[.a.]]", "a", "Unknown collating element"),
  ("[[=a=]]", "a", "Unknown collating element"),
  ("[z-a]", "a", "Invalid character range"),
  ("[a-", "a", "Invalid character range"),
  ("a\\", "a", "Trailing backslash"),
  ("a|*", "a", "Repetition not preceded by valid expression"),
  ("[[:alpha:]-z]", "a", "Invalid character range"),
  ("[a-[]", "[", "Invalid character range"),
  ("[a-[]", "b", "Invalid character range"),
]

/// The message `RegularExpression` refuses `pattern` with, or nil if it compiles.
private func refusal(_ pattern: String) -> String? {
  do {
    _ = try RegularExpression(pattern)
    return nil
  } catch {
    return error.message
  }
}

@Test(arguments: matching.indices)
func matchesAsMuslDid(_ index: Int) throws {
  let (pattern, line, expected) = matching[index]
  let expression = try RegularExpression(pattern)
  #expect(expression.matches(Array(line.utf8)) == expected, "\(pattern) on '\(line)'")
}

@Test(arguments: invalid.indices)
func rejectsWithMuslsMessage(_ index: Int) {
  let (pattern, _, message) = invalid[index]
  #expect(refusal(pattern) == message, "\(pattern)")
}

@Test func lineEndsAtItsFirstNul() throws {
  let expression = try RegularExpression("b")
  #expect(!expression.matches([0x61, 0x00, 0x62]))
  #expect(try RegularExpression("a$").matches([0x61, 0x00, 0x62]))
}

@Test func repetitionsAreBounded() throws {
  // musl accepts (a{255}){255}; a pattern that expands past the bound is refused, not run.
  #expect(refusal("((a{255}){255}){2}") == "Out of memory")
  #expect(refusal(String(repeating: "(", count: 300) + String(repeating: ")", count: 300)) == "Out of memory")
  let long = try RegularExpression("(a|aa)*b")
  #expect(!long.matches(Array(repeating: 0x61, count: 100_000)))
}
