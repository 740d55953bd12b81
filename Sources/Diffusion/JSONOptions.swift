import Foundation

/// Typed reads from a JSON object (``SafeTensors/JSONDocument`` output, the Foundation values
/// `JSONSerialization` would give) that name the key at fault: the
/// one reader of every configuration (the Unet's and the diffusion's keyword arguments, a run's
/// training settings, golden cases). A wrong type, or a key never read
/// (``rejectUnknownKeys()``), is a ``DiffusionError/invalidConfiguration(_:)`` naming
/// `context.key`; callers in other layers map it to their own error.
public struct JSONOptions {
    public let object: [String: Any]
    /// What the object configures, for error messages (e.g. "unet").
    public let context: String
    private(set) var used: Set<String> = []

    public init(_ object: [String: Any], context: String) {
        self.object = object
        self.context = context
    }

    private func fail(_ key: String, _ expected: String) -> DiffusionError {
        .invalidConfiguration("\(context).\(key) must be \(expected), got \(String(describing: object[key]!))")
    }

    /// Whether the key is present and not JSON null.
    public func has(_ key: String) -> Bool { object[key] != nil && !(object[key] is NSNull) }

    public mutating func int(_ key: String) throws -> Int? {
        used.insert(key)
        guard has(key) else { return nil }
        guard let n = object[key] as? NSNumber, !JSONOptions.isBool(n), let v = JSONOptions.exactInteger(n) else {
            throw fail(key, "an integer")
        }
        return v
    }

    public mutating func double(_ key: String) throws -> Double? {
        used.insert(key)
        guard has(key) else { return nil }
        guard let n = object[key] as? NSNumber, !JSONOptions.isBool(n) else { throw fail(key, "a number") }
        return n.doubleValue
    }

    public mutating func bool(_ key: String) throws -> Bool? {
        used.insert(key)
        guard has(key) else { return nil }
        guard let n = object[key] as? NSNumber, JSONOptions.isBool(n) else { throw fail(key, "true or false") }
        return n.boolValue
    }

    public mutating func string(_ key: String) throws -> String? {
        used.insert(key)
        guard has(key) else { return nil }
        guard let s = object[key] as? String else { throw fail(key, "a string") }
        return s
    }

    /// An integer list.
    public mutating func ints(_ key: String) throws -> [Int]? {
        used.insert(key)
        guard has(key) else { return nil }
        guard let list = object[key] as? [Any] else { throw fail(key, "a list of integers") }
        return try list.map { try integer(key, $0, "a list of integers") }
    }

    /// One integer for every stage, or a list of one per stage.
    public mutating func perStageInt(_ key: String) throws -> PerStage<Int>? {
        used.insert(key)
        guard has(key) else { return nil }
        if let list = object[key] as? [Any] {
            return .each(try list.map { try integer(key, $0, "an integer or a list of integers") })
        }
        return .all(try integer(key, object[key]!, "an integer or a list of integers"))
    }

    /// One boolean for every stage, or a list of one per stage.
    public mutating func perStageBool(_ key: String) throws -> PerStage<Bool>? {
        used.insert(key)
        guard has(key) else { return nil }
        if let list = object[key] as? [Any] {
            return .each(try list.map { try boolean(key, $0, "a boolean or a list of booleans") })
        }
        return .all(try boolean(key, object[key]!, "a boolean or a list of booleans"))
    }

    private func integer(_ key: String, _ value: Any, _ expected: String) throws -> Int {
        guard let n = value as? NSNumber, !JSONOptions.isBool(n), let v = JSONOptions.exactInteger(n) else {
            throw fail(key, expected)
        }
        return v
    }

    private func boolean(_ key: String, _ value: Any, _ expected: String) throws -> Bool {
        guard let n = value as? NSNumber, JSONOptions.isBool(n) else { throw fail(key, expected) }
        return n.boolValue
    }

    /// An image size: one integer (square) or `[height, width]`.
    public mutating func imageSize(_ key: String) throws -> (Int, Int)? {
        used.insert(key)
        guard has(key) else { return nil }
        if let list = object[key] as? [Any] {
            let values = try list.map { try integer(key, $0, "an integer or [height, width]") }
            guard values.count == 2 else { throw fail(key, "an integer or [height, width]") }
            return (values[0], values[1])
        }
        let n = try integer(key, object[key]!, "an integer or [height, width]")
        return (n, n)
    }

    public mutating func object(_ key: String) throws -> [String: Any]? {
        used.insert(key)
        guard has(key) else { return nil }
        guard let o = object[key] as? [String: Any] else { throw fail(key, "an object") }
        return o
    }

    /// A 64-bit unsigned integer stored as a decimal string (JSON numbers are doubles, which
    /// would round seeds above 2^53).
    public mutating func unsigned(_ key: String) throws -> UInt64? {
        used.insert(key)
        guard has(key) else { return nil }
        guard let s = object[key] as? String, let v = UInt64(s) else { throw fail(key, "a decimal string of an unsigned integer") }
        return v
    }

    /// Marks a key as understood without reading it (the caller reads it itself).
    public mutating func ignore(_ key: String) { used.insert(key) }

    /// Refuses keys that were never read, so a misspelt option is not silently ignored.
    public func rejectUnknownKeys() throws {
        let unknown = Set(object.keys).subtracting(used).sorted()
        if !unknown.isEmpty {
            throw DiffusionError.invalidConfiguration("\(context): unknown option(s) \(unknown.joined(separator: ", "))")
        }
    }

    /// The number as an `Int` when it is integral: integers beyond 2^53 exactly as written
    /// (the parser keeps them as integers), `3.0` as 3; nil for fractions and out-of-range values.
    static func exactInteger(_ n: NSNumber) -> Int? {
        guard let rounded = Int(exactly: n.doubleValue) else { return nil }
        return Double(n.int64Value) == n.doubleValue ? Int(n.int64Value) : rounded
    }

    /// JSON booleans and numbers both bridge to NSNumber; only a real boolean has this type.
    public static func isBool(_ n: NSNumber) -> Bool {
        #if canImport(Darwin)
        return CFGetTypeID(n) == CFBooleanGetTypeID()
        #else
        return type(of: n) == type(of: NSNumber(value: true))
        #endif
    }
}
