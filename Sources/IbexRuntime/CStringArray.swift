/// A NULL-terminated array of C strings (`char *const argv[]`), owned or borrowed.
public struct CStringArray: ~Copyable {
  public let pointer: UnsafePointer<UnsafeMutablePointer<CChar>?>
  private let ownedCount: Int?

  /// Copies `strings` into newly allocated C strings, freed when the array ends.
  public init(_ strings: [String]) {
    let array = UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>.allocate(capacity: strings.count + 1)
    for (index, string) in strings.enumerated() {
      let utf8 = string.utf8
      let copy = UnsafeMutablePointer<CChar>.allocate(capacity: utf8.count + 1)
      var offset = 0
      for byte in utf8 {
        copy[offset] = CChar(bitPattern: byte)
        offset += 1
      }
      copy[offset] = 0
      array[index] = copy
    }
    array[strings.count] = nil
    pointer = UnsafePointer(array)
    ownedCount = strings.count
  }

  /// Uses an existing array (such as ibex's own argv or environ) without copying it.
  public init(borrowing pointer: UnsafePointer<UnsafeMutablePointer<CChar>?>) {
    self.pointer = pointer
    ownedCount = nil
  }

  deinit {
    guard let count = ownedCount else { return }
    for index in 0..<count { pointer[index]?.deallocate() }
    pointer.deallocate()
  }

  /// The value of `NAME=value` entries, as `getenv` would find it.
  public func value(of name: String) -> String? {
    var index = 0
    let prefix = Array(name.utf8) + [UInt8(ascii: "=")]
    while let entry = pointer[index] {
      var matches = true
      for (offset, byte) in prefix.enumerated() where UInt8(bitPattern: entry[offset]) != byte {
        matches = false
        break
      }
      if matches { return String(cString: entry + prefix.count) }
      index += 1
    }
    return nil
  }
}
