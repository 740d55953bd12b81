/// Every way a safetensors file can be refused, each naming the file and, where there is one,
/// the tensor at fault.
public enum SafeTensorsError: Error, CustomStringConvertible, Equatable {
    /// The file could not be opened, read, written or renamed.
    case io(file: String, operation: String, reason: String)
    /// The header (length prefix or JSON) is malformed or lies about the file.
    case invalidHeader(file: String, reason: String)
    /// One tensor entry of the header is malformed (dtype, shape or data offsets).
    case invalidTensor(file: String, tensor: String, reason: String)
    /// The file has no tensor of that name.
    case missingTensor(file: String, tensor: String, available: [String])
    /// The tensor's dtype cannot be converted to the requested element type.
    case unsupportedConversion(file: String, tensor: String, from: String, to: String)
    /// A tensor handed to the writer is inconsistent (name, shape or byte count).
    case invalidInput(tensor: String, reason: String)

    public var description: String {
        switch self {
        case let .io(file, operation, reason):
            return "\(file): cannot \(operation): \(reason)"
        case let .invalidHeader(file, reason):
            return "\(file): invalid safetensors header: \(reason)"
        case let .invalidTensor(file, tensor, reason):
            return "\(file): tensor '\(tensor)': \(reason)"
        case let .missingTensor(file, tensor, available):
            let shown = available.prefix(8).joined(separator: ", ")
            let more = available.count > 8 ? ", … (\(available.count) in all)" : ""
            return "\(file): no tensor named '\(tensor)' (the file has: \(shown)\(more))"
        case let .unsupportedConversion(file, tensor, from, to):
            return "\(file): tensor '\(tensor)' has dtype \(from), which cannot be read as \(to)"
        case let .invalidInput(tensor, reason):
            return "cannot write tensor '\(tensor)': \(reason)"
        }
    }
}
