import ArgumentParser
import IbexAudit

struct IbexAuditCommand: ParsableCommand {
  static let configuration = CommandConfiguration(commandName: "ibex-audit", abstract: "Policy checks (in progress).")
  func run() throws {}
}
IbexAuditCommand.main()
