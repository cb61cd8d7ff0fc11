import IbexCore
import Testing

@Test func stablySortedOrdersAsTheStandardLibrary() {
  var generator = SystemRandomNumberGenerator()
  for count in [0, 1, 2, 3, 7, 8, 9, 100, 1000] {
    let numbers = (0..<count).map { _ in Int.random(in: -50...50, using: &generator) }
    #expect(numbers.stablySorted(by: <) == numbers.sorted())
    #expect(numbers.stablySorted(by: >) == numbers.sorted(by: >))
  }
}

@Test func stablySortedKeepsEqualElementsInOrder() {
  // Pairs (key, original position) sorted by key alone: positions stay increasing per key.
  let pairs = (0..<500).map { (key: ($0 * 7919) % 13, position: $0) }
  let sorted = pairs.stablySorted { $0.key < $1.key }
  for (a, b) in zip(sorted, sorted.dropFirst()) {
    #expect(a.key < b.key || (a.key == b.key && a.position < b.position))
  }
}

@Test func bytewiseOrderIsTheUTF8Order() {
  let names = ["b", "B", "a.timer", "a", "é", "z", "_x", "a-b"]
  #expect(names.stablySorted(by: String.bytewiseLess) == ["B", "_x", "a", "a-b", "a.timer", "b", "z", "é"])
}
