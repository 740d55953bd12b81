import Graph
import Devices
import SafeTensors

extension ReferenceModel {
    /// Reads a reference state_dict from `file` (keys `prefix + <reference key>`), checking every
    /// key against the model before anything is uploaded.
    ///
    /// Every missing, unexpected and mis-shaped key is reported at once, by name, in a
    /// ``DiffusionError/stateDictMismatch(file:missing:unexpected:misshaped:)``. Keys outside
    /// `prefix` are ignored (a checkpoint also holds EMA weights and optimizer state). F16, BF16
    /// and F64 tensors are converted to float32.
    public func readStateDict(_ file: SafeTensorsFile, prefix: String = "") throws -> [String: [Float]] {
        let expected = Dictionary(uniqueKeysWithValues: parameterSpecs.map { ($0.name, $0.shape) })
        var missing: [String] = []
        var misshaped: [String] = []
        var unexpected: [String] = []
        var values: [String: [Float]] = [:]
        var present = Set<String>()
        for name in file.names where name.hasPrefix(prefix) {
            let key = String(name.dropFirst(prefix.count))
            guard let shape = expected[key] else { unexpected.append(name); continue }
            present.insert(key)
            let info = try file.info(name)
            guard info.shape == shape else {
                misshaped.append("\(name) is \(info.shape), the model needs \(shape)")
                continue
            }
            guard info.dtype.isFloatingPoint else {
                misshaped.append("\(name) has dtype \(info.dtype.rawValue), the model needs a floating-point tensor")
                continue
            }
            values[key] = try file.floats(name)
        }
        for spec in parameterSpecs where !present.contains(spec.name) {
            missing.append(prefix + spec.name)
        }
        if !missing.isEmpty || !unexpected.isEmpty || !misshaped.isEmpty {
            throw DiffusionError.stateDictMismatch(file: file.path, missing: missing, unexpected: unexpected, misshaped: misshaped)
        }
        return values
    }

    /// Loads a reference state_dict into `store` (see ``readStateDict(_:prefix:)``): one upload per tensor.
    public func loadStateDict(_ file: SafeTensorsFile, prefix: String = "", into store: ParameterStore, queue: Queue) throws {
        let values = try readStateDict(file, prefix: prefix)
        try store.load(values, queue: queue)
    }

    /// The weights in `store` as safetensors tensors under `prefix + <reference key>`, in
    /// state_dict order (a plain `prefix: ""` export loads into the reference with `load_state_dict`).
    public func stateDictTensors(from store: ParameterStore, queue: Queue, prefix: String = "") throws -> [SafeTensor] {
        let all = try store.read(queue: queue)
        return try parameterSpecs.map { spec in
            guard let v = all[spec.name] else {
                throw DiffusionError.invalidConfiguration("the parameter store has no '\(spec.name)'")
            }
            return SafeTensor(name: prefix + spec.name, shape: spec.shape, floats: v)
        }
    }
}
