/// One result of one node: the unit that a ``Tensor`` refers to.
public struct ValueID: Hashable, Sendable, Comparable, CustomStringConvertible {
    /// Index of the producing node in ``Graph/nodes``.
    public var node: Int
    /// Which result of that node (0 for every single-result op).
    public var index: Int

    public init(node: Int, index: Int = 0) {
        self.node = node
        self.index = index
    }

    public static func < (a: ValueID, b: ValueID) -> Bool {
        (a.node, a.index) < (b.node, b.index)
    }

    public var description: String { index == 0 ? "%\(node)" : "%\(node).\(index)" }
}

/// One operation of a graph: what it computes, from which values, and what it produces.
public struct Node: Hashable, Sendable {
    public var op: Op
    public var inputs: [ValueID]
    /// One type per result (several only for the fused backward ops).
    public var results: [TensorType]
    /// Where the node was built (`downs.0.0.block1/conv2d`), for messages.
    public var label: String

    public init(op: Op, inputs: [ValueID], results: [TensorType], label: String) {
        self.op = op
        self.inputs = inputs
        self.results = results
        self.label = label
    }
}

/// How a parameter's initial values are drawn on the host (deterministically from a seed).
public enum Initializer: Hashable, Sendable {
    case zeros
    case ones
    /// Every element the same value.
    case constant(Float)
    /// `U(-bound, bound)`.
    case uniform(bound: Float)
    /// `N(0, std²)`.
    case normal(std: Float)
    /// PyTorch's default for conv and linear weights and biases: `U(±1/√fanIn)` (kaiming-uniform with a = √5).
    case pytorchDefault(fanIn: Int)
    /// Exactly these values.
    case values([Float])
}

/// A trainable tensor of a graph, named by its reference state_dict key.
public struct ParameterInfo: Hashable, Sendable {
    public var name: String
    public var type: TensorType
    public var initializer: Initializer
    /// The node that stands for it in the graph.
    public var node: Int
}

/// A host-provided tensor of a graph (e.g. the image batch).
public struct InputInfo: Hashable, Sendable {
    public var name: String
    public var type: TensorType
    public var node: Int
}

/// An immutable dataflow graph: nodes in topological order (every input precedes its user).
///
/// Built with ``GraphBuilder``; differentiated with ``Graph/gradients(of:withRespectTo:)``;
/// lowered with ``Lowering``.
public struct Graph: Sendable {
    public internal(set) var nodes: [Node]
    public internal(set) var parameters: [ParameterInfo]
    public internal(set) var inputs: [InputInfo]

    init(nodes: [Node], parameters: [ParameterInfo], inputs: [InputInfo]) {
        self.nodes = nodes
        self.parameters = parameters
        self.inputs = inputs
    }

    /// The type of a value.
    public func type(of value: ValueID) -> TensorType { nodes[value.node].results[value.index] }

    /// The parameter with this name, if any.
    public func parameter(named name: String) -> ParameterInfo? { parameters.first { $0.name == name } }
}

extension Graph: CustomStringConvertible {
    /// One line per node: `%12 = conv2d(%3, %4, %5) : f32[2, 64, 32, 32]   // downs.0.0.block1`.
    public var description: String {
        var lines: [String] = []
        for (i, node) in nodes.enumerated() {
            let results = node.results.map(\.description).joined(separator: ", ")
            let args = node.inputs.map(\.description).joined(separator: ", ")
            lines.append("%\(i) = \(node.op.name)(\(args)) : \(results)   // \(node.label)")
        }
        return lines.joined(separator: "\n")
    }
}
