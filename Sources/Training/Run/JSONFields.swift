import Foundation

/// Typed reads from a JSON object that name the key at fault, and refuse unknown keys.
struct JSONFields {
    let object: [String: Any]
    /// What the object is, for messages (e.g. "training").
    let context: String
    private var used: Set<String> = []

    init(_ object: [String: Any], context: String) {
        self.object = object
        self.context = context
    }

    private func bad(_ key: String, _ expected: String) -> CheckpointError {
        .invalidConfiguration("\(context).\(key) must be \(expected), got \(String(describing: object[key]!))")
    }

    private func present(_ key: String) -> Bool { object[key] != nil && !(object[key] is NSNull) }

    private static func isBool(_ n: NSNumber) -> Bool { type(of: n) == type(of: NSNumber(value: true)) }

    mutating func number(_ key: String) throws -> Double? {
        used.insert(key)
        guard present(key) else { return nil }
        guard let n = object[key] as? NSNumber, !JSONFields.isBool(n) else { throw bad(key, "a number") }
        return n.doubleValue
    }

    mutating func integer(_ key: String) throws -> Int? {
        guard let d = try number(key) else { return nil }
        guard let i = Int(exactly: d) else { throw bad(key, "an integer") }
        return i
    }

    /// A 64-bit unsigned integer, stored as a decimal string so it survives JSON's doubles.
    mutating func unsigned(_ key: String) throws -> UInt64? {
        used.insert(key)
        guard present(key) else { return nil }
        guard let s = object[key] as? String, let v = UInt64(s) else { throw bad(key, "a decimal string of an unsigned integer") }
        return v
    }

    mutating func bool(_ key: String) throws -> Bool? {
        used.insert(key)
        guard present(key) else { return nil }
        guard let n = object[key] as? NSNumber, JSONFields.isBool(n) else { throw bad(key, "true or false") }
        return n.boolValue
    }

    mutating func string(_ key: String) throws -> String? {
        used.insert(key)
        guard present(key) else { return nil }
        guard let s = object[key] as? String else { throw bad(key, "a string") }
        return s
    }

    mutating func object(_ key: String) throws -> [String: Any]? {
        used.insert(key)
        guard present(key) else { return nil }
        guard let o = object[key] as? [String: Any] else { throw bad(key, "an object") }
        return o
    }

    /// Marks a key as understood without reading it.
    mutating func ignore(_ key: String) { used.insert(key) }

    func rejectUnknownKeys() throws {
        let unknown = Set(object.keys).subtracting(used).sorted()
        if !unknown.isEmpty {
            throw CheckpointError.invalidConfiguration("\(context): unknown key(s) \(unknown.joined(separator: ", "))")
        }
    }
}

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
