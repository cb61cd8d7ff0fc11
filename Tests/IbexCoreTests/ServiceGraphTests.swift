import IbexCore
import Testing

/// A dependency written on `line` of `from`'s file.
private func dependency(_ name: String, _ kind: Dependency.Kind, line: Int, in from: String) -> Dependency {
  Dependency(name: name, kind: kind, location: SourceLocation(file: "\(from).service", line: line))
}

@Suite("Service graph: order and validation")
struct ServiceGraphTests {
  @Test("every service starts after what it waits for; Before= is the reverse edge")
  func order() throws {
    let graph = try ServiceGraph([
      service("web", requires: ["db"]),
      service("db") { $0.dependencies = [dependency("web", .before, line: 2, in: "db")] },
      service("cache", wants: ["db"]),
    ])
    let position = Dictionary(uniqueKeysWithValues: graph.startOrder.enumerated().map { (graph.services[$1].name, $0) })
    #expect(position["db"]! < position["web"]! && position["db"]! < position["cache"]!)
    #expect(graph.requires[0] == [1] && graph.pulls[2] == [1] && graph.requires[2].isEmpty)
  }

  @Test("all unknown names are reported at their lines, sorted, with a suggestion")
  func everyError() {
    do {
      _ = try ServiceGraph([
        service("web") { $0.dependencies = [dependency("ghost", .after, line: 7, in: "web"), dependency("databse", .requires, line: 3, in: "web")] },
        service("database"),
        service("api") { $0.dependencies = [dependency("api", .wants, line: 4, in: "api")] },
      ])
      Issue.record("unknown names were accepted")
    } catch {
      #expect(error.all.map { $0.location?.description ?? "" } == ["api.service:4", "web.service:3", "web.service:7"])
      #expect(error.all[1].message == "Requires=databse: no service named 'databse' (did you mean 'database'?)")
      #expect(error.all[0].message == "Wants=api: a service cannot depend on itself")
      #expect(error.description.split(separator: "\n").count == 3)
    }
  }

  @Test("a cycle is reported at the line that closes it", arguments: [false, true])
  func cycle(viaBefore: Bool) {
    // a waits for b (a's line 2); b waits for a: b's own After= (line 5), or a's Before= (line 6).
    let a = service("a") {
      $0.dependencies = [dependency("b", .after, line: 2, in: "a")] + (viaBefore ? [dependency("b", .before, line: 6, in: "a")] : [])
    }
    let b = service("b") { $0.dependencies = viaBefore ? [] : [dependency("a", .after, line: 5, in: "b")] }
    do {
      _ = try ServiceGraph([a, b])
      Issue.record("a cycle was accepted")
    } catch {
      #expect(error.message.hasPrefix("dependency cycle: "))
      #expect(error.location?.description == (viaBefore ? "a.service:6" : "b.service:5"))
    }
  }

  @Test("a dependency cycle is named, service by service")
  func cycle() {
    #expect(throws: ConfigError("dependency cycle: a -> b -> c -> a", at: SourceLocation(file: "c.service", line: 1))) {
      try ServiceGraph([service("a", requires: ["b"]), service("b", after: ["c"]), service("c", wants: ["a"])])
    }
  }

  @Test("an unknown dependency names the directive and its line")
  func unknown() {
    var web = service("web")
    web.dependencies = [Dependency(name: "dbb", kind: .requires, location: SourceLocation(file: "web.service", line: 4))]
    #expect(throws: ConfigError("Requires=dbb: no service named 'dbb' (did you mean 'db'?)", at: SourceLocation(file: "web.service", line: 4))) {
      try ServiceGraph([web, service("db")])
    }
  }

  @Test("a name defined twice is an error naming both places")
  func duplicate() {
    var second = service("web")
    second.location = SourceLocation(file: "other/web.service", line: 1)
    #expect(throws: ConfigError("service 'web' is defined twice (also at web.service:1)", at: second.location)) {
      try ServiceGraph([service("web"), second])
    }
  }

  @Test("self-dependency is refused")
  func selfDependency() {
    #expect(throws: ConfigError.self) { try ServiceGraph([service("a", after: ["a"])]) }
  }
}
