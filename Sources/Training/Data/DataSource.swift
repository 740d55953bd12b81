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

    /// The class names of the data in label order, read without decoding any image: `0`…`9`
    /// for the digits, the sorted class subfolders of a folder. Throws when the data is unlabelled.
    public func classNames() throws -> [String] {
        switch self {
        case .shapes:
            throw DatasetError.unlabelled(source: description, reason: "the built-in shapes have no class labels")
        case .digits:
            return (0...9).map(String.init)
        case let .folder(path):
            guard FileBytes.isDirectory(path) else { throw DatasetError.notFound(path: path) }
            let files = ImageFolderDataset.scan(path)
            guard !files.isEmpty else { throw DatasetError.noImages(path: path) }
            let (names, _, unlabelled) = ImageFolderDataset.classes(of: files, root: path)
            guard let names else {
                throw DatasetError.unlabelled(source: path, reason: "\(unlabelled) image(s) lie directly in the folder, outside any class subfolder")
            }
            return names
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
