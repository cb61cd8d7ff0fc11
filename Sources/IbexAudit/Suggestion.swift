/// ` (did you mean 'fail_on'?)` when a candidate is within edit distance 2, else "".
func didYouMean(_ word: String, among candidates: [String]) -> String {
  // Rule ids: `ibx-df-15` and `IBX-DF-0015` mean IBX-DF-015.
  let parts = word.uppercased().split(separator: "-")
  if parts.count == 3, let number = Int(parts[2]) {
    let digits = String(number)
    let normalized = "\(parts[0])-\(parts[1])-" + String(repeating: "0", count: max(0, 3 - digits.count)) + digits
    if normalized != word, candidates.contains(normalized) { return " (did you mean '\(normalized)'?)" }
  }
  let scored = candidates.map { ($0, editDistance(word.lowercased(), $0.lowercased())) }.min { $0.1 < $1.1 }
  guard let (best, distance) = scored, distance <= max(2, word.count / 4) else { return "" }
  return " (did you mean '\(best)'?)"
}

func editDistance(_ a: String, _ b: String) -> Int {
  let a = Array(a)
  let b = Array(b)
  if a.isEmpty { return b.count }
  if b.isEmpty { return a.count }
  var previous = Array(0...b.count)
  for i in 1...a.count {
    var current = [i] + Array(repeating: 0, count: b.count)
    for j in 1...b.count {
      current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
    }
    previous = current
  }
  return previous[b.count]
}
