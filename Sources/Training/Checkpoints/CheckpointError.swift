/// Why a checkpoint or a run configuration could not be used; every case names the file.
public enum CheckpointError: Error, CustomStringConvertible, Equatable {
    /// No checkpoint at the path, or none in the folder.
    case notFound(path: String)
    /// The file is damaged: cut short, or its tensors disagree with its configuration.
    case damaged(path: String, reason: String)
    /// A valid safetensors file that is not a `ddpm` checkpoint (e.g. a plain state_dict).
    case foreign(path: String, reason: String)
    /// The checkpoint's run differs from the requested one in settings a resume must keep.
    case configurationMismatch(path: String, differences: [String])
    /// A configuration (JSON) is malformed.
    case invalidConfiguration(String)

    public var description: String {
        switch self {
        case let .notFound(path):
            return "\(path): no checkpoint found"
        case let .damaged(path, reason):
            return "\(path): damaged checkpoint: \(reason)"
        case let .foreign(path, reason):
            return "\(path): not a ddpm checkpoint: \(reason)"
        case let .configurationMismatch(path, differences):
            return "\(path): the checkpoint was trained with different settings; a resumed run must keep them "
                + "(drop these options to use the checkpoint's values, or start a new --output):\n  "
                + differences.joined(separator: "\n  ")
        case let .invalidConfiguration(message):
            return "invalid configuration: \(message)"
        }
    }
}
