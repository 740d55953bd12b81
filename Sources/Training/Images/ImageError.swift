/// Why an image file could not be read or written; every case names the file.
public enum ImageError: Error, CustomStringConvertible, Equatable {
    /// The file could not be opened or read.
    case unreadable(path: String, reason: String)
    /// The bytes are not a valid PNG or JPEG (corrupt, truncated, or another format).
    case corrupt(path: String, reason: String)
    /// A valid file this project does not handle (e.g. a CMYK JPEG, an unknown format).
    case unsupported(path: String, reason: String)
    /// The file, or the image its header describes, exceeds a size limit (checked before allocating).
    case tooLarge(path: String, reason: String)
    /// The image could not be encoded or written.
    case writeFailed(path: String, reason: String)

    public var description: String {
        switch self {
        case let .unreadable(path, reason): return "\(path): cannot read the image: \(reason)"
        case let .corrupt(path, reason): return "\(path): corrupt image: \(reason)"
        case let .unsupported(path, reason): return "\(path): unsupported image: \(reason)"
        case let .tooLarge(path, reason): return "\(path): image too large: \(reason)"
        case let .writeFailed(path, reason): return "\(path): cannot write the image: \(reason)"
        }
    }
}
