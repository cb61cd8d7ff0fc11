/// The stage graph of a parsed Dockerfile with variables resolved: which image each stage starts
/// from, which earlier stage it inherits from, and the variable scope before every instruction.
struct DockerfileModel {
  struct Stage {
    var index: Int
    /// Lower-cased `AS` name.
    var name: String?
    var from: Instruction
    /// The base image after ARG substitution; nil when it depends on build-time values.
    var image: String?
    /// Index of the earlier stage this one is built `FROM`.
    var parent: Int?
    /// Instructions after `FROM`, each with the variables in scope before it.
    var instructions: [(instruction: Instruction, expander: VariableExpander)] = []
    /// The stage's SHELL instructions in order, and whether each sets pipefail.
    var shells: [(position: SourcePosition, pipefail: Bool)] = []
    /// Position of the stage's first instruction of each keyword.
    var firstOf: [String: SourcePosition] = [:]
    /// POSIX shell rules do not apply (Windows image, `cmd`/`powershell` SHELL, backtick escape).
    var isWindows = false

    var label: String { name ?? String(index) }
    /// For messages: `"runtime"` or `#0`.
    var displayName: String { name.map { "\"\($0)\"" } ?? "#\(index)" }
    var object: String { "stage/\(label)" }
  }

  var file: Dockerfile
  var stages: [Stage] = []
  /// ARGs declared before the first FROM.
  var globalArgs: [String: VariableExpander.Value] = [:]
  var finalIndex: Int

  init(_ file: Dockerfile, target: String? = nil) {
    self.file = file
    var globals = VariableExpander(escape: file.escape)
    var stages: [Stage] = []
    var finalScopes: [Int: VariableExpander] = [:]
    var stageNames: [String: Int] = [:]
    for instruction in file.instructions {
      if instruction.keyword == "FROM" {
        let words = DockerfileWords.split(instruction.arguments.characters, escape: file.escape)
        let imageWord = words.first?.raw ?? ""
        let expanded = globals.expand(imageWord)
        var name: String?
        if words.count >= 3, words[1].raw.lowercased() == "as" { name = words[2].raw.lowercased() }
        var stage = Stage(index: stages.count, name: name, from: instruction, image: expanded.isUnknown ? nil : expanded.text)
        if let image = stage.image?.lowercased(), let parent = stageNames[image] {
          stage.parent = parent
          stage.isWindows = stages[parent].isWindows
        }
        let lowerImage = (stage.image ?? imageWord).lowercased()
        if file.escape == "`" || ["windows", "nanoserver", "servercore"].contains(where: { lowerImage.contains($0) }) {
          stage.isWindows = true
        }
        if let name { stageNames[name] = stage.index }
        stages.append(stage)
        continue
      }
      guard !stages.isEmpty else {
        if instruction.keyword == "ARG" {
          for pair in DockerfileWords.pairs(instruction, escape: file.escape) {
            if let value = pair.value {
              let result = globals.expand(value)
              globals.set(pair.name, result.isUnknown ? .overridable : .set(result.text), byENV: false)
            } else {
              globals.set(pair.name, .overridable, byENV: false)
            }
          }
        }
        continue
      }
      let index = stages.count - 1
      var scope = stages[index].instructions.last.map { Self.apply($0.instruction, to: $0.expander, globals: globals) }
      if scope == nil {
        // Start of a stage: ENV is inherited from the parent stage, ARG is not.
        var fresh = VariableExpander(escape: file.escape)
        if let parent = stages[index].parent, let last = stages[parent].instructions.last {
          // The parent's scope after its last instruction, computed once per parent.
          let final = finalScopes[parent] ?? Self.apply(last.instruction, to: last.expander, globals: globals)
          finalScopes[parent] = final
          fresh = VariableExpander.inheriting(from: final)
        }
        scope = fresh
      }
      if instruction.keyword == "SHELL", let shell = instruction.execForm?.first?.lowercased(),
        ["cmd", "powershell", "pwsh"].contains(where: { shell.contains($0) })
      {
        stages[index].isWindows = true
      }
      if instruction.keyword == "SHELL" {
        stages[index].shells.append((instruction.position, instruction.execForm?.contains("pipefail") ?? false))
      }
      if stages[index].firstOf[instruction.keyword] == nil { stages[index].firstOf[instruction.keyword] = instruction.position }
      stages[index].instructions.append((instruction, scope!))
    }
    self.stages = stages
    self.globalArgs = globals.variables
    if let target, let named = stages.firstIndex(where: { $0.name == target.lowercased() }) {
      finalIndex = named
    } else {
      finalIndex = max(stages.count - 1, 0)
    }
  }

  /// The variable scope after `instruction`.
  static func apply(_ instruction: Instruction, to expander: VariableExpander, globals: VariableExpander) -> VariableExpander {
    var next = expander
    switch instruction.keyword {
    case "ARG":
      for pair in DockerfileWords.pairs(instruction, escape: expander.escape) {
        if let value = pair.value {
          let result = expander.expand(value)
          next.set(pair.name, result.isUnknown ? .overridable : .set(result.text), byENV: false)
        } else {
          next.set(pair.name, globals[pair.name] ?? .overridable, byENV: false)
        }
      }
    case "ENV":
      // All values of one ENV are expanded with the scope from before it: `ENV A=1 B=$A` uses the old A.
      for pair in DockerfileWords.pairs(instruction, escape: expander.escape) {
        let result = expander.expand(pair.value ?? "")
        next.set(pair.name, result.isUnknown ? .overridable : .set(result.text), byENV: true)
      }
    default:
      break
    }
    return next
  }

  /// The final stage and the stages it inherits from, final first.
  var finalChain: [Stage] { chain(from: finalIndex) }

  func chain(from index: Int) -> [Stage] {
    guard stages.indices.contains(index) else { return [] }
    var result = [stages[index]]
    var current = stages[index]
    while let parent = current.parent, result.count <= stages.count {
      result.append(stages[parent])
      current = stages[parent]
    }
    return result
  }
}
