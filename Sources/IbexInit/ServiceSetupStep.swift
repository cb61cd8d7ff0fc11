import IbexCore
import IbexRuntime

/// Carries out `ServiceSetup` steps: directories and credentials of a service.
enum ServiceSetupStep {
  /// Runs the steps in order; the first failure is returned as a reason (no secret in it).
  static func run(_ steps: [ServiceSetup.Step]) -> String? {
    for step in steps {
      do throws(Errno) {
        switch step {
        case .directory(let path, let uid, let gid, let mode):
          let existing = FileSystem.linkInfo(path)
          if let existing, !existing.isDirectory { return "\(path) exists and is not a directory" }
          if existing == nil {
            let parent = String(path[..<(path.lastIndex(of: "/") ?? path.startIndex)])
            if !parent.isEmpty { try FileSystem.makeDirectories(parent) }
            try LogFiles.makeDirectory(path, mode: 0o700)
          } else if existing!.uid != uid || existing!.gid != gid {
            // After a uid change (PUID, CONTAINER_USER_*): what the service left is its again.
            try FileSystem.setOwnerRecursively(path, uid: uid, gid: gid)
          }
          try FileSystem.setOwner(path, uid: uid, gid: gid)
          try FileSystem.setMode(path, mode)
        case .remove(let path):
          try FileSystem.removeTree(path)
        case .credential(let path, let source, let uid, let gid):
          let contents: [UInt8]
          switch source {
          case .value(let value): contents = Array(value.utf8)
          case .file(let file):
            do {
              contents = try FileSystem.read(file, limit: 1 << 20)
            } catch {
              return "LoadCredential: unable to read \(file): \(error.description)"
            }
          }
          try FileSystem.replaceAtomically(path, with: contents, mode: 0o400)
          try FileSystem.setOwner(path, uid: uid, gid: gid)
        case .seal(let path, let uid, let gid):
          try FileSystem.setOwner(path, uid: uid, gid: gid)
          try FileSystem.setMode(path, 0o500)
        }
      } catch {
        return "unable to prepare \(stepPath(step)): \(error.description)"
      }
    }
    return nil
  }

  private static func stepPath(_ step: ServiceSetup.Step) -> String {
    switch step {
    case .directory(let path, _, _, _), .remove(let path), .credential(let path, _, _, _), .seal(let path, _, _): return path
    }
  }
}
