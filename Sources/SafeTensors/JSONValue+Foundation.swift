import Foundation

/// The one JSON parser of `ddpm`, for every file it reads: safetensors headers, checkpoint and
/// run configurations, `--config` files, golden cases, metrics lines.
///
/// Configurations are read through `JSONOptions` (Diffusion), which takes the Foundation values
/// this returns (`[String: Any]`, `[Any]`, `String`, `NSNumber`, `NSNull`), as
/// `JSONSerialization` would give them; the parsing itself is ``JSONParser``'s, so every file
/// gets the same strictness: duplicate keys and nesting deeper than ``JSONParser/maxDepth`` are
/// refused rather than resolved silently (last key wins) or followed into a stack overflow.
///
/// ```swift
/// let object = try JSONDocument.parseObject(Array(text.utf8))   // ["steps": 100, ...]
/// ```
public enum JSONDocument {
    /// A parse failure: what was wrong and the byte offset where it was found.
    public struct Failure: Error, CustomStringConvertible {
        public var message: String
        public var description: String { message }
    }

    /// Parses one JSON document into Foundation values.
    public static func parse(_ bytes: [UInt8]) throws -> Any {
        do {
            return try JSONParser.parse(bytes).foundationValue
        } catch let failure as JSONParser.Failure {
            throw Failure(message: failure.description)
        }
    }

    /// Parses one JSON document whose top level must be an object.
    public static func parseObject(_ bytes: [UInt8]) throws -> [String: Any] {
        guard let object = try parse(bytes) as? [String: Any] else {
            throw Failure(message: "the top level is not a JSON object")
        }
        return object
    }
}

extension JSONValue {
    /// The value as `JSONSerialization` represents it: numbers written as integers that fit an
    /// `Int` become integer `NSNumber`s (so they read back exactly), other numbers `Double`s.
    var foundationValue: Any {
        switch self {
        case let .object(members):
            var dictionary: [String: Any] = [:]
            for (key, value) in members { dictionary[key] = value.foundationValue }
            return dictionary
        case let .array(values): return values.map(\.foundationValue)
        case let .string(text): return text
        case let .number(text):
            if let exact = exactInt { return NSNumber(value: exact) }
            return NSNumber(value: Double(text) ?? .nan)
        case let .bool(value): return NSNumber(value: value)
        case .null: return NSNull()
        }
    }
}
