import Diffusion
import Foundation

/// Parses a JSON object from text.
func parseJSONObject(_ text: String, what: String) throws -> [String: Any] {
    guard let data = text.data(using: .utf8),
          let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
        throw CheckpointError.invalidConfiguration("\(what) is not a JSON object")
    }
    return object
}

/// Compact JSON text with sorted keys (stable across runs, so files diff cleanly).
func jsonText(_ object: Any) -> String {
    let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data("{}".utf8)
    return String(decoding: data, as: UTF8.self)
}
