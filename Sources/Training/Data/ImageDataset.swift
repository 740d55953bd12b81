/// A finite, indexable set of training images, delivered at the training size and channel count.
///
/// Implementations are read from the data loader's background thread while the trainer owns
/// the main one, so `image(at:)` must be safe to call concurrently.
public protocol ImageDataset: AnyObject, Sendable {
    /// Number of images.
    var count: Int { get }
    /// Channels, height and width of every image `image(at:)` returns.
    var channels: Int { get }
    var height: Int { get }
    var width: Int { get }
    /// One line for logs: what the data is and where it comes from.
    var summary: String { get }
    /// The image at `index` (`0..<count`), `height × width × channels`.
    func image(at index: Int) throws -> Image
    /// The class names in label order when every image has a class label (nil otherwise).
    var classNames: [String]? { get }
    /// The class label of image `index` (an index into ``classNames``); 0 when unlabelled.
    func label(at index: Int) -> Int
}

extension ImageDataset {
    public var classNames: [String]? { nil }
    public func label(at index: Int) -> Int { 0 }
}

/// Why a dataset could not be opened or read; every case names the path or built-in at fault.
public enum DatasetError: Error, CustomStringConvertible, Equatable {
    /// `--data` names nothing that exists (and no built-in).
    case notFound(path: String)
    /// The folder holds no file with an image extension.
    case noImages(path: String)
    /// Fewer images than one batch.
    case tooFewImages(source: String, count: Int, batchSize: Int)
    /// A size or channel count the dataset cannot produce.
    case invalidShape(String)
    /// The data loader was stopped while a batch was awaited.
    case loaderStopped
    /// A class-conditional model was asked to train on data without class labels.
    case unlabelled(source: String, reason: String)

    public var description: String {
        switch self {
        case let .notFound(path):
            return "\(path): no such file or directory (give an image folder, or the built-in 'shapes' or 'digits')"
        case let .noImages(path):
            return "\(path): no images found (looked for .png, .jpg and .jpeg files, recursively, in any letter case)"
        case let .tooFewImages(source, count, batchSize):
            return "\(source): \(count) image\(count == 1 ? "" : "s"), fewer than one batch of \(batchSize); "
                + "add images or lower --batch-size"
        case let .invalidShape(message):
            return message
        case .loaderStopped:
            return "the data loader was stopped"
        case let .unlabelled(source, reason):
            return "\(source): a class-conditional model needs labelled images: \(reason) "
                + "(give a folder of class subfolders, or the built-in 'digits')"
        }
    }
}
