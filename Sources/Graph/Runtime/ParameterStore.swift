import Devices

/// Where each parameter lives in the one contiguous parameter buffer (creation order, no gaps),
/// which the gradient, Adam-moment and EMA buffers share, so the optimizer is one kernel each
/// and the global gradient norm one `reduce.sumOfSquares`.
public struct ParameterLayout: Sendable, Equatable {
    public struct Entry: Sendable, Equatable {
        public var name: String
        public var shape: [Int]
        public var offset: Int
        public var count: Int
        public var initializer: Initializer
    }

    public let entries: [Entry]
    /// Total elements.
    public let count: Int
    private let index: [String: Int]

    public init(_ parameters: [ParameterInfo]) {
        var entries: [Entry] = []
        var offset = 0
        for p in parameters {
            entries.append(Entry(name: p.name, shape: p.type.shape, offset: offset, count: p.type.count, initializer: p.initializer))
            offset += p.type.count
        }
        self.entries = entries
        self.count = offset
        self.index = Dictionary(uniqueKeysWithValues: entries.enumerated().map { ($1.name, $0) })
    }

    public func entry(named name: String) -> Entry? { index[name].map { entries[$0] } }

    public var names: [String] { entries.map(\.name) }
}

/// A device buffer holding every parameter of a ``ParameterLayout`` (weights, or their EMA).
///
/// Graphs compiled against the same store (a training step and a sampling forward) share the
/// weights without copies; names are matched, so their parameter order need not agree.
public final class ParameterStore {
    public let layout: ParameterLayout
    public let buffer: Buffer

    public init(layout: ParameterLayout, device: Device) throws {
        self.layout = layout
        self.buffer = try device.allocate(bytes: max(layout.count, 1) * 4)
    }

    /// A slice at a parameter's first element.
    func slice(elementOffset: Int) -> BufferSlice { buffer.slice(offset: elementOffset * 4) }

    /// Fills every parameter from its ``Initializer`` with a host Philox stream (stream = parameter
    /// index, key = `seed`), so the same seed gives the same weights on every device. One upload.
    public func initialize(seed: UInt64, queue: Queue) throws {
        var all = [Float](repeating: 0, count: layout.count)
        for (i, e) in layout.entries.enumerated() {
            let values = ParameterStore.initialValues(e.initializer, count: e.count, seed: seed, stream: UInt32(i))
            all.replaceSubrange(e.offset..<(e.offset + e.count), with: values)
        }
        if !all.isEmpty { try queue.upload(all, to: buffer.slice()) }
    }

    /// Uploads named tensors (e.g. from a safetensors file); unnamed parameters keep their values.
    public func load(_ tensors: [String: [Float]], queue: Queue) throws {
        for (name, values) in tensors {
            guard let e = layout.entry(named: name) else {
                throw GraphError.unknownName(kind: "parameter", name: name, available: layout.names)
            }
            guard values.count == e.count else { throw GraphError.hostDataMismatch(name: name, expected: e.count, got: values.count) }
            try queue.upload(values, to: slice(elementOffset: e.offset))
        }
    }

    /// Every parameter by name (one download and one host synchronisation).
    public func read(queue: Queue) throws -> [String: [Float]] {
        let all = try queue.readFloats(buffer.slice(), count: layout.count)
        var out: [String: [Float]] = [:]
        for e in layout.entries { out[e.name] = Array(all[e.offset..<(e.offset + e.count)]) }
        return out
    }

    /// The whole buffer in layout order (one download, one synchronisation).
    public func readFlat(queue: Queue) throws -> [Float] {
        try queue.readFloats(buffer.slice(), count: layout.count)
    }

    static func initialValues(_ initializer: Initializer, count: Int, seed: UInt64, stream: UInt32) -> [Float] {
        let state = [UInt32(truncatingIfNeeded: seed), UInt32(truncatingIfNeeded: seed >> 32), 0, 0]
        func draw(_ d: RandomDistribution) -> [Float] {
            Philox.generate(d, count: count, stream: stream, state: state).map { Float(bitPattern: $0) }
        }
        switch initializer {
        case .zeros: return [Float](repeating: 0, count: count)
        case .ones: return [Float](repeating: 1, count: count)
        case let .constant(v): return [Float](repeating: v, count: count)
        case let .uniform(bound): return draw(.uniform(low: -bound, high: bound))
        case let .normal(std): return draw(.normal(mean: 0, std: std))
        case let .pytorchDefault(fanIn):
            let bound = 1 / Float(max(fanIn, 1)).squareRoot()
            return draw(.uniform(low: -bound, high: bound))
        case let .values(v): return v
        }
    }
}
