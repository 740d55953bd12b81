/// Every way building, differentiating, planning or running a graph can fail, each naming the culprit.
public enum GraphError: Error, CustomStringConvertible, Equatable {
    /// A node's inputs or attributes are inconsistent (shapes, dtypes, axes).
    case invalidNode(label: String, op: String, inputs: [String], reason: String)
    /// A tensor from another builder was passed in.
    case foreignTensor(label: String, op: String)
    /// Two parameters or inputs share a name.
    case duplicateName(kind: String, name: String)
    /// No parameter or input has this name.
    case unknownName(kind: String, name: String, available: [String])
    /// Reverse mode reached an op without a derivative on a path that needs one.
    case notDifferentiable(label: String, op: String, reason: String)
    /// Host data does not fit what the graph expects.
    case hostDataMismatch(name: String, expected: Int, got: Int)
    /// The device cannot run a kernel the schedule needs.
    case unsupportedKernel(device: String, kernel: String, node: String)
    /// A schedule was misused (wrong device, wrong state).
    case invalidUse(String)

    public var description: String {
        switch self {
        case let .invalidNode(label, op, inputs, reason):
            let args = inputs.isEmpty ? "" : " with inputs \(inputs.joined(separator: ", "))"
            return "\(op) at '\(label)'\(args): \(reason)"
        case let .foreignTensor(label, op):
            return "\(op) at '\(label)': a tensor from another GraphBuilder was passed in"
        case let .duplicateName(kind, name):
            return "\(kind) '\(name)' is defined twice"
        case let .unknownName(kind, name, available):
            let list = available.prefix(20).joined(separator: ", ")
            return "no \(kind) named '\(name)'; known: \(list)\(available.count > 20 ? ", ..." : "")"
        case let .notDifferentiable(label, op, reason):
            return "cannot differentiate \(op) at '\(label)': \(reason)"
        case let .hostDataMismatch(name, expected, got):
            return "'\(name)' expects \(expected) elements, got \(got)"
        case let .unsupportedKernel(device, kernel, node):
            return "device '\(device)' does not support \(kernel), needed by '\(node)'"
        case let .invalidUse(message):
            return message
        }
    }
}
