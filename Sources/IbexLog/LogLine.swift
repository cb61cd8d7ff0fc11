/// Which of a process's output streams a line came from.
public enum LogStream: String, Equatable, Sendable {
  case stdout, stderr
}
