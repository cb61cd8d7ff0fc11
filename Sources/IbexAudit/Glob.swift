/// Shell-style patterns for paths and image names: `*` (not `/`), `**` (anything, also `/`), `?`.
public enum Glob {
  public static func matches(pattern: String, path: String) -> Bool {
    match(Array(pattern), 0, Array(path), 0)
  }

  private static func match(_ p: [Character], _ pi: Int, _ s: [Character], _ si: Int) -> Bool {
    if pi == p.count { return si == s.count }
    if p[pi] == "*" {
      let doubleStar = pi + 1 < p.count && p[pi + 1] == "*"
      var next = doubleStar ? pi + 2 : pi + 1
      // `**/` also matches zero directories.
      if doubleStar, next < p.count, p[next] == "/" {
        if match(p, next + 1, s, si) { return true }
        next += 0
      }
      var k = si
      while true {
        if match(p, next, s, k) { return true }
        if k == s.count { return false }
        if !doubleStar && s[k] == "/" { return false }
        k += 1
      }
    }
    guard si < s.count else { return false }
    if p[pi] == "?" || p[pi] == s[si] {
      return match(p, pi + 1, s, si + 1)
    }
    return false
  }
}
