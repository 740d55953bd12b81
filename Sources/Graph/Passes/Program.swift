/// A graph together with the values that must survive a run: what the passes transform.
///
/// `outputs` are read by the host (the loss, a model prediction); `gradients` are written into the
/// persistent gradient buffer at their parameter's offset. Every pass maps these through its rewrite.
public struct Program: Sendable {
    public var graph: Graph
    public var outputs: [(name: String, value: ValueID)]
    public var gradients: [(parameter: String, value: ValueID)]

    public init(graph: Graph, outputs: [(name: String, value: ValueID)], gradients: [(parameter: String, value: ValueID)] = []) {
        self.graph = graph
        self.outputs = outputs
        self.gradients = gradients
    }

    /// Every value that must be computed.
    var roots: [ValueID] { outputs.map(\.value) + gradients.map(\.value) }

    /// How many times each value is read (by nodes, plus once per root).
    func useCounts() -> [ValueID: Int] {
        var uses: [ValueID: Int] = [:]
        for node in graph.nodes { for v in node.inputs { uses[v, default: 0] += 1 } }
        for r in roots { uses[r, default: 0] += 1 }
        return uses
    }
}

/// Builds a new node list from an old one, remapping value ids; the shared machinery of the passes.
struct GraphRewriter {
    private(set) var nodes: [Node] = []
    /// Old value → new value.
    var map: [ValueID: ValueID] = [:]

    /// Appends `node` (whose inputs are already new ids) and returns its new index.
    @discardableResult
    mutating func emit(_ node: Node) -> Int {
        nodes.append(node)
        return nodes.count - 1
    }

    /// Appends a single-result node and returns its value.
    mutating func emit1(_ op: Op, _ inputs: [ValueID], _ type: TensorType, label: String) -> ValueID {
        ValueID(node: emit(Node(op: op, inputs: inputs, results: [type], label: label)))
    }

    /// Re-emits an old node with its inputs mapped, and maps its results.
    mutating func copy(_ node: Node, oldIndex: Int) {
        var n = node
        n.inputs = node.inputs.map { map[$0]! }
        let index = emit(n)
        for r in node.results.indices { map[ValueID(node: oldIndex, index: r)] = ValueID(node: index, index: r) }
    }

    func type(_ v: ValueID) -> TensorType { nodes[v.node].results[v.index] }

    /// The rewritten program, with parameter, input and root ids mapped.
    func finish(_ old: Program) -> Program {
        var graph = old.graph
        graph.nodes = nodes
        graph.parameters = old.graph.parameters.compactMap { p in
            guard let v = map[ValueID(node: p.node)] else { return nil }
            var q = p
            q.node = v.node
            return q
        }
        graph.inputs = old.graph.inputs.compactMap { i in
            guard let v = map[ValueID(node: i.node)] else { return nil }
            var j = i
            j.node = v.node
            return j
        }
        return Program(graph: graph,
                       outputs: old.outputs.map { ($0.name, map[$0.value]!) },
                       gradients: old.gradients.map { ($0.parameter, map[$0.value]!) })
    }
}
