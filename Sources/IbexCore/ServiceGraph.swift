/// The services of a container and the order between them, checked: every dependency exists,
/// no name is defined twice, and the order has no cycle.
public struct ServiceGraph: Sendable {
  public let services: [ServiceDefinition]
  /// For each service, the services it waits for (Requires, Wants, After, and the reverse of
  /// Before), without duplicates.
  public let waitsFor: [[Int]]
  /// For each service, the services that wait for it: they stop before it does.
  public let waitedOnBy: [[Int]]
  /// For each service, the services it Requires=: when one fails for good, it is stopped.
  public let requires: [[Int]]
  /// For each service, the services it Requires= or Wants=: starting it starts them too.
  public let pulls: [[Int]]
  /// Every service after everything it waits for.
  public let startOrder: [Int]

  public init(_ services: [ServiceDefinition]) throws(ConfigError) {
    var errors = ConfigErrorCollector()
    var index: [String: Int] = [:]
    for (i, service) in services.enumerated() {
      if let other = index[service.name] {
        errors.record(ConfigError(
          "service '\(service.name)' is defined twice (also at \(services[other].location.description))",
          at: service.location))
      }
      index[service.name] = i
    }
    var waitsFor = Array(repeating: [Int](), count: services.count)
    var requires = Array(repeating: [Int](), count: services.count)
    var pulls = Array(repeating: [Int](), count: services.count)
    for (i, service) in services.enumerated() {
      for dependency in service.dependencies {
        guard let j = index[dependency.name] else {
          var message = "\(dependency.kind.rawValue)=\(dependency.name): no service named '\(dependency.name)'"
          if let near = closestWord(to: dependency.name, in: services.map { $0.name }) { message += " (did you mean '\(near)'?)" }
          errors.record(ConfigError(message, at: dependency.location))
          continue
        }
        if j == i {
          errors.record(ConfigError("\(dependency.kind.rawValue)=\(dependency.name): a service cannot depend on itself", at: dependency.location))
          continue
        }
        if dependency.kind == .requires || dependency.kind == .wants, !pulls[i].contains(j) { pulls[i].append(j) }
        switch dependency.kind {
        case .requires:
          if !requires[i].contains(j) { requires[i].append(j) }
          if !waitsFor[i].contains(j) { waitsFor[i].append(j) }
        case .wants, .after:
          if !waitsFor[i].contains(j) { waitsFor[i].append(j) }
        case .before:
          if !waitsFor[j].contains(i) { waitsFor[j].append(i) }
        }
      }
    }
    // A pipeline's consumer starts before its producers and stops after them.
    for (i, service) in services.enumerated() {
      guard let consumer = service.outputConsumer else { continue }
      guard let j = index[consumer], j != i else {
        errors.record(ConfigError("the output of '\(service.name)' goes to '\(consumer)', which is not a service", at: service.location))
        continue
      }
      if !waitsFor[i].contains(j) { waitsFor[i].append(j) }
    }
    // A cycle is looked for only in a graph whose names are all right.
    try errors.check()
    var waitedOnBy = Array(repeating: [Int](), count: services.count)
    for (i, dependencies) in waitsFor.enumerated() {
      for j in dependencies { waitedOnBy[j].append(i) }
    }
    self.services = services
    self.waitsFor = waitsFor
    self.waitedOnBy = waitedOnBy
    self.requires = requires
    self.pulls = pulls
    self.startOrder = try ServiceGraph.topologicalOrder(services, waitsFor)
  }

  /// The line that makes `service` wait for `other`: its own `Requires=`, `Wants=` or
  /// `After=`, else the other's `Before=`, else (a pipeline) the service's file.
  private static func edgeLocation(from service: ServiceDefinition, to other: ServiceDefinition) -> SourceLocation {
    if let own = service.dependencies.first(where: { $0.name == other.name && $0.kind != .before }) { return own.location }
    return other.dependencies.first { $0.name == service.name && $0.kind == .before }?.location ?? service.location
  }

  /// Depth-first order; a back edge is a cycle, reported with every service on it.
  private static func topologicalOrder(_ services: [ServiceDefinition], _ waitsFor: [[Int]]) throws(ConfigError) -> [Int] {
    enum Mark { case unvisited, inProgress, done }
    var marks = Array(repeating: Mark.unvisited, count: services.count)
    var order: [Int] = []
    var path: [Int] = []
    // An explicit stack instead of recursion: (service, next dependency to look at).
    for root in 0..<services.count where marks[root] == .unvisited {
      var stack: [(Int, Int)] = [(root, 0)]
      marks[root] = .inProgress
      path.append(root)
      while let (node, next) = stack.last {
        if next < waitsFor[node].count {
          stack[stack.count - 1].1 += 1
          let dependency = waitsFor[node][next]
          switch marks[dependency] {
          case .done: continue
          case .inProgress:
            let start = path.firstIndex(of: dependency)!
            let cycle = (path[start...] + [dependency]).map { services[$0].name }
            var text = ""
            for (k, name) in cycle.enumerated() { text += (k == 0 ? "" : " -> ") + name }
            throw ConfigError("dependency cycle: \(text)", at: edgeLocation(from: services[node], to: services[dependency]))
          case .unvisited:
            marks[dependency] = .inProgress
            path.append(dependency)
            stack.append((dependency, 0))
          }
        } else {
          marks[node] = .done
          order.append(node)
          path.removeLast()
          stack.removeLast()
        }
      }
    }
    return order
  }
}
