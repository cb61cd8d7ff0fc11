extension Array {
  /// The elements ordered by `areInIncreasingOrder`, equal ones kept in their order (a bottom-up
  /// merge sort, O(n log n)). ibex sorts with this instead of the standard library's `sorted`:
  /// in Embedded Swift that is specialized anew for every call site, 3-5 KB of the binary each.
  public func stablySorted(by areInIncreasingOrder: (Element, Element) -> Bool) -> [Element] {
    var source = self
    var target = self
    var width = 1
    while width < count {
      var start = 0
      while start < count {
        let middle = Swift.min(start + width, count)
        let end = Swift.min(start + 2 * width, count)
        var left = start
        var right = middle
        for index in start..<end {
          // The left run's element goes first unless the right one is strictly smaller: stable.
          if left < middle && (right == end || !areInIncreasingOrder(source[right], source[left])) {
            target[index] = source[left]
            left += 1
          } else {
            target[index] = source[right]
            right += 1
          }
        }
        start = end
      }
      swap(&source, &target)
      width *= 2
    }
    return source
  }
}
