/// What `--data` names: a built-in dataset or an image folder.
public enum DataSource: Equatable, Sendable, CustomStringConvertible {
    /// Procedural shapes (the default).
    case shapes
    /// The embedded UCI digits.
    case digits
    /// A folder of PNG/JPEG images.
    case folder(String)

    /// Parses `--data`: `shapes` and `digits` are the built-ins (a folder of that name can be
    /// given as `./digits`); anything else is a path.
    public init(argument: String?) {
        switch argument {
        case nil, "shapes": self = .shapes
        case "digits": self = .digits
        case let path?: self = .folder(path)
        }
    }

    /// The form stored in checkpoints and accepted back by ``init(argument:)``.
    public var description: String {
        switch self {
        case .shapes: return "shapes"
        case .digits: return "digits"
        case let .folder(path): return path
        }
    }

    /// Opens the dataset at the training size.
    public func open(channels: Int, height: Int, width: Int, progress: (@Sendable (Int, Int) -> Void)? = nil) throws -> ImageDataset {
        switch self {
        case .shapes: return try ShapesDataset(channels: channels, height: height, width: width)
        case .digits: return try DigitsDataset(channels: channels, height: height, width: width)
        case let .folder(path):
            return try ImageFolderDataset(root: path, channels: channels, height: height, width: width, progress: progress)
        }
    }
}
