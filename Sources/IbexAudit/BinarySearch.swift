extension RandomAccessCollection where Index == Int {
  /// The index of the first element for which `isBefore` is false, by binary search; the
  /// elements must be partitioned (every `isBefore` element first). `endIndex` if none.
  func partitionPoint(where isBefore: (Element) -> Bool) -> Int {
    var low = startIndex
    var high = endIndex
    while low < high {
      let middle = low + (high - low) / 2
      if isBefore(self[middle]) { low = middle + 1 } else { high = middle }
    }
    return low
  }
}
