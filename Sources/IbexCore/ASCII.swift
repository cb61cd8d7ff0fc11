/// String helpers that work on the UTF-8 bytes: Embedded Swift's standard library lacks some,
/// and the Unicode-aware ones (`lowercased()`, `<`) pull tables into the binary.
extension String {
  /// Whether `part` occurs in the string, bytewise.
  public func hasInfix(_ part: String) -> Bool {
    let bytes = Array(utf8)
    let needle = Array(part.utf8)
    if needle.isEmpty { return true }
    if needle.count > bytes.count { return false }
    for start in 0...(bytes.count - needle.count) where bytes[start..<(start + needle.count)].elementsEqual(needle) {
      return true
    }
    return false
  }

  /// ASCII letters lowered, every other byte kept.
  public var lowercasedASCII: String { shiftingASCII(from: 0x41, by: 0x20) }

  /// ASCII letters raised, every other byte kept.
  public var uppercasedASCII: String { shiftingASCII(from: 0x61, by: -0x20) }

  /// One loop for both cases (each `map` with its own closure is a specialization of its own).
  private func shiftingASCII(from first: UInt8, by offset: Int8) -> String {
    var bytes = Array(utf8)
    for index in bytes.indices where bytes[index] >= first && bytes[index] < first + 26 {
      bytes[index] = UInt8(Int8(bitPattern: bytes[index]) + offset)
    }
    return String(decoding: bytes, as: UTF8.self)
  }

  /// Byte order of the UTF-8 forms (the C locale's order, as `ls` lists files).
  public static func bytewiseLess(_ a: String, _ b: String) -> Bool { a.utf8.lexicographicallyPrecedes(b.utf8) }
}
