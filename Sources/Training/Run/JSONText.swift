import Diffusion
import Foundation
import SafeTensors

/// Parses a JSON object from text with the one parser (``SafeTensors/JSONDocument``).
func parseJSONObject(_ text: String, what: String) throws -> [String: Any] {
    do {
        return try JSONDocument.parseObject(Array(text.utf8))
    } catch let failure as JSONDocument.Failure {
        throw CheckpointError.invalidConfiguration("\(what) is not a valid JSON object: \(failure.message)")
    }
}

/// Compact JSON text with sorted keys (stable across runs, so files diff cleanly).
func jsonText(_ object: Any) -> String {
    let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data("{}".utf8)
    return String(decoding: data, as: UTF8.self)
}
