import Devices

/// A handle to one value of a graph under construction: what the builder's methods take and return.
public struct Tensor: Hashable, Sendable, CustomStringConvertible {
    /// The producing node and result index.
    public let id: ValueID
    /// Shape and element type.
    public let type: TensorType
    /// The builder that made it, so tensors of two graphs are never mixed.
    let owner: ObjectIdentifier

    public var shape: [Int] { type.shape }
    public var dtype: DType { type.dtype }
    public var rank: Int { type.rank }
    public var count: Int { type.count }

    public var description: String { "\(id): \(type)" }
}

/// Builds a ``Graph`` one op at a time, inferring and checking every shape as it goes.
///
/// ```swift
/// let g = GraphBuilder()
/// let x = try g.input("x", [N, 3, 32, 32])
/// let w = try g.parameter("init_conv.weight", [64, 3, 7, 7], initializer: .pytorchDefault(fanIn: 3 * 49))
/// let b = try g.parameter("init_conv.bias", [64], initializer: .pytorchDefault(fanIn: 3 * 49))
/// let y = try g.silu(g.conv2d(x, w, bias: b, padding: 3))
/// ```
///
/// Every method throws ``GraphError`` naming the node (its scope path and op) and its input
/// shapes when the inputs do not fit. Parameter names are prefixed with the current
/// ``scope(_:_:)`` path, so a block builder can name its weights locally (`proj.weight`).
public final class GraphBuilder {
    private(set) var nodes: [Node] = []
    private(set) var parameterList: [ParameterInfo] = []
    private(set) var inputList: [InputInfo] = []
    private var names: Set<String> = []
    private var scopes: [String] = []
    private var nextStream: UInt32 = 0
    private var constantCache: [ConstantData: ValueID] = [:]

    public init() {}

    /// The current scope path, e.g. `downs.0.1`.
    public var scopePath: String { scopes.joined(separator: ".") }

    /// Runs `body` with `name` appended to the scope path; parameters made inside are named `path.name`.
    public func scope<T>(_ name: String, _ body: () throws -> T) rethrows -> T {
        scopes.append(name)
        defer { scopes.removeLast() }
        return try body()
    }

    /// The graph built so far (a snapshot; the builder may continue).
    public var graph: Graph { Graph(nodes: nodes, parameters: parameterList, inputs: inputList) }

    /// The tensor of every parameter, in creation order.
    public var parameters: [Tensor] {
        parameterList.map { tensor(ValueID(node: $0.node)) }
    }

    /// The tensor for a value id of this builder.
    public func tensor(_ id: ValueID) -> Tensor {
        Tensor(id: id, type: nodes[id.node].results[id.index], owner: ObjectIdentifier(self))
    }

    // MARK: Leaves

    /// A host-provided tensor, uploaded before each run under `name` (not scoped).
    public func input(_ name: String, _ shape: [Int], dtype: DType = .float32) throws -> Tensor {
        try checkLeafShape(shape, label: name, op: "input")
        guard names.insert("input:" + name).inserted else { throw GraphError.duplicateName(kind: "input", name: name) }
        let t = append(.input(name: name), [], [TensorType(shape, dtype)], label: name)[0]
        inputList.append(InputInfo(name: name, type: t.type, node: t.id.node))
        return t
    }

    /// A trainable f32 tensor named `scopePath.name` (the reference state_dict key).
    public func parameter(_ name: String, _ shape: [Int], initializer: Initializer) throws -> Tensor {
        let full = scopes.isEmpty ? name : scopePath + "." + name
        try checkLeafShape(shape, label: full, op: "parameter")
        guard names.insert("parameter:" + full).inserted else { throw GraphError.duplicateName(kind: "parameter", name: full) }
        if case let .values(v) = initializer, v.count != shape.reduce(1, *) {
            throw GraphError.invalidNode(label: full, op: "parameter", inputs: [],
                                         reason: "initial values have \(v.count) elements, shape \(shape) has \(shape.reduce(1, *))")
        }
        let t = append(.parameter(name: full), [], [TensorType(shape)], label: full)[0]
        parameterList.append(ParameterInfo(name: full, type: t.type, initializer: initializer, node: t.id.node))
        return t
    }

    /// An f32 constant of `shape`, uploaded once (identical constants share one node).
    public func constant(_ values: [Float], shape: [Int]) throws -> Tensor {
        try constant(.floats(values), shape: shape)
    }

    /// An i32 constant of `shape`, uploaded once (e.g. fixed timesteps).
    public func integerConstant(_ values: [Int32], shape: [Int]) throws -> Tensor {
        try constant(.ints(values), shape: shape)
    }

    /// A scalar f32 constant (shape `[]`).
    public func scalar(_ value: Float) -> Tensor {
        let data = ConstantData.floats([value])
        if let id = constantCache[data], nodes[id.node].results[0].shape == [] { return tensor(id) }
        let t = append(.constant(data), [], [TensorType([])], label: "constant")[0]
        constantCache[data] = t.id
        return t
    }

    private func constant(_ data: ConstantData, shape: [Int]) throws -> Tensor {
        let label = scopePath.isEmpty ? "constant" : scopePath
        try checkLeafShape(shape, label: label, op: "constant")
        guard data.count == shape.reduce(1, *) else {
            throw GraphError.invalidNode(label: label, op: "constant", inputs: [],
                                         reason: "\(data.count) values do not fill shape \(shape)")
        }
        if let id = constantCache[data], nodes[id.node].results[0].shape == shape { return tensor(id) }
        let t = append(.constant(data), [], [TensorType(shape, data.dtype)], label: label)[0]
        constantCache[data] = t.id
        return t
    }

    /// Standard-normal (scaled) f32 noise drawn on the device; fresh every step.
    public func randomNormal(_ shape: [Int], mean: Float = 0, std: Float = 1) throws -> Tensor {
        try random(.normal(mean: mean, std: std), shape, .float32)
    }

    /// Uniform f32 on `[low, high)` drawn on the device; fresh every step.
    public func randomUniform(_ shape: [Int], low: Float = 0, high: Float = 1) throws -> Tensor {
        try random(.uniform(low: low, high: high), shape, .float32)
    }

    /// Uniform i32 on `[low, high)` drawn on the device (e.g. timesteps); fresh every step.
    public func randomIntegers(_ shape: [Int], low: Int32, high: Int32) throws -> Tensor {
        guard high > low else {
            throw GraphError.invalidNode(label: scopePath, op: "random", inputs: [], reason: "integer range [\(low), \(high)) is empty")
        }
        return try random(.integer(low: low, high: high), shape, .int32)
    }

    private func random(_ dist: RandomDistribution, _ shape: [Int], _ dtype: DType) throws -> Tensor {
        try checkLeafShape(shape, label: scopePath, op: "random")
        let stream = nextStream
        nextStream += 1
        return append(.random(dist, stream: stream), [], [TensorType(shape, dtype)], label: scopePath.isEmpty ? "random" : scopePath)[0]
    }

    // MARK: Core

    /// Appends a node after checking its inputs, returning its results.
    @discardableResult
    public func apply(_ op: Op, _ inputs: [Tensor]) throws -> [Tensor] {
        let label = scopePath.isEmpty ? op.name : scopePath + "/" + op.name
        guard !op.isLeaf else {
            throw GraphError.invalidNode(label: label, op: op.name, inputs: [], reason: "leaves are made with input/parameter/constant/random")
        }
        for t in inputs where t.owner != ObjectIdentifier(self) || t.id.node >= nodes.count {
            throw GraphError.foreignTensor(label: label, op: op.name)
        }
        let types = inputs.map(\.type)
        let results: [TensorType]
        do {
            results = try op.inferResults(types)
        } catch let problem as ShapeProblem {
            throw GraphError.invalidNode(label: label, op: op.name, inputs: types.map(\.description), reason: problem.reason)
        }
        for r in results where r.rank > 6 {
            throw GraphError.invalidNode(label: label, op: op.name, inputs: types.map(\.description), reason: "result rank \(r.rank) exceeds 6")
        }
        return append(op, inputs.map(\.id), results, label: label)
    }

    /// Appends a single-result node.
    func apply1(_ op: Op, _ inputs: [Tensor]) throws -> Tensor { try apply(op, inputs)[0] }

    private func append(_ op: Op, _ inputs: [ValueID], _ results: [TensorType], label: String) -> [Tensor] {
        nodes.append(Node(op: op, inputs: inputs, results: results, label: label))
        let n = nodes.count - 1
        return results.indices.map { tensor(ValueID(node: n, index: $0)) }
    }

    private func checkLeafShape(_ shape: [Int], label: String, op: String) throws {
        guard shape.count <= 6, shape.allSatisfy({ $0 > 0 }) else {
            throw GraphError.invalidNode(label: label, op: op, inputs: [], reason: "shape \(shape) must have rank <= 6 and positive extents")
        }
    }

    /// An error for a builder-level check, labelled like a node.
    func problem(_ op: String, _ inputs: [Tensor], _ reason: String) -> GraphError {
        GraphError.invalidNode(label: scopePath.isEmpty ? op : scopePath + "/" + op, op: op,
                               inputs: inputs.map(\.type.description), reason: reason)
    }
}
