import Foundation

/// The checkpoints of one run's output folder, `checkpoint-<step>.safetensors`.
public struct CheckpointDirectory: Sendable {
    public let path: String

    public init(path: String) { self.path = path }

    /// Every checkpoint file as (step, path), oldest first; temporary files of interrupted
    /// writes (`.checkpoint-….tmp-…`) are not listed.
    public func checkpoints() -> [(step: Int, path: String)] {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: path) else { return [] }
        var found: [(Int, String)] = []
        for name in names where name.hasPrefix("checkpoint-") && name.hasSuffix(".safetensors") {
            let digits = name.dropFirst("checkpoint-".count).dropLast(".safetensors".count)
            if let step = Int(digits), step >= 0 { found.append((step, "\(path)/\(name)")) }
        }
        return found.sorted { $0.0 < $1.0 }.map { (step: $0.0, path: $0.1) }
    }

    /// The newest checkpoint, if any.
    public var newest: (step: Int, path: String)? { checkpoints().last }

    /// `read` applied to the newest checkpoint it accepts, newest first: checkpoints it finds
    /// damaged (``CheckpointError/damaged(path:reason:)``: cut short by a crash, bit rot) are
    /// skipped and described in `skipped`, so `--resume` falls back to the newest intact one.
    /// Nil when the folder holds no checkpoint; when every one is damaged, the newest's error,
    /// listing the others.
    public func newestIntact<T>(_ read: (String) throws -> T) throws -> (value: T, step: Int, path: String, skipped: [String])? {
        let all = checkpoints()
        var skipped: [String] = []
        for entry in all.reversed() {
            do {
                return (try read(entry.path), entry.step, entry.path, skipped)
            } catch let error as CheckpointError {
                guard case .damaged = error else { throw error }
                skipped.append("\(error)")
            }
        }
        guard let newest = all.last else { return nil }
        throw CheckpointError.damaged(path: newest.path, reason: "every checkpoint in \(path) is damaged:\n  "
            + skipped.joined(separator: "\n  "))
    }

    /// Deletes all but the newest `keep` checkpoints; returns the deleted paths.
    @discardableResult
    public func prune(keep: Int) -> [String] {
        let all = checkpoints()
        guard all.count > keep else { return [] }
        let doomed = all.prefix(all.count - keep).map(\.path)
        for p in doomed { try? FileManager.default.removeItem(atPath: p) }
        return doomed
    }

    /// A checkpoint path given as a file, or the newest checkpoint of a run folder.
    public static func resolve(_ path: String) throws -> String {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw CheckpointError.notFound(path: path)
        }
        if !isDirectory.boolValue { return path }
        guard let newest = CheckpointDirectory(path: path).newest else {
            throw CheckpointError.notFound(path: "\(path)/checkpoint-*.safetensors")
        }
        return newest.path
    }
}
