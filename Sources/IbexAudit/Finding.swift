/// One rule violation found in a file.
public struct Finding: Equatable, Sendable {
  public var ruleID: String
  public var file: String
  public var line: Int
  public var column: Int
  public var message: String

  public init(ruleID: String, file: String, line: Int, column: Int, message: String) {
    self.ruleID = ruleID
    self.file = file
    self.line = line
    self.column = column
    self.message = message
  }
}
