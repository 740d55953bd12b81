import Foundation

/// Every PNG and JPEG under a folder (recursively; `.png`, `.jpg`, `.jpeg` in any letter case;
/// hidden files skipped), each scaled to cover the training size and centre-cropped, never
/// squashed, then converted to the training channel count.
///
/// When the prepared images fit in ``cacheLimitBytes`` they are all decoded up front, in
/// parallel, and kept in memory: every file is checked before training starts and no epoch
/// decodes again. Larger folders are decoded on demand by the data loader.
public final class ImageFolderDataset: ImageDataset, @unchecked Sendable {
    public let root: String
    /// The image files, sorted by path so the order (and so the data order) is reproducible.
    public let files: [String]
    public let channels: Int
    public let height: Int
    public let width: Int
    /// The prepared images when the whole folder fits in the cache budget.
    private let cached: [Image]?
    /// Class subfolder names sorted (torchvision's `ImageFolder`), when every image lies inside one.
    public let classNames: [String]?
    /// The class of each file (indices into ``classNames``; empty when unlabelled).
    private let labels: [Int]
    /// Images directly in the root folder, outside any class subfolder.
    public let unlabelledCount: Int

    /// Prepared images up to this many bytes are decoded once and kept.
    public static let cacheLimitBytes = 1 << 30
    static let extensions: Set<String> = ["png", "jpg", "jpeg"]

    /// Scans `root` and, when the folder fits in the cache, decodes every image.
    ///
    /// - Parameter progress: called from the decoding threads with the number of images done so far.
    /// - Throws: ``DatasetError/notFound(path:)``, ``DatasetError/noImages(path:)``, or the
    ///   ``ImageError`` of the first unreadable image (in path order).
    public init(root: String, channels: Int, height: Int, width: Int, cacheLimitBytes: Int = ImageFolderDataset.cacheLimitBytes,
                progress: (@Sendable (Int, Int) -> Void)? = nil) throws {
        guard [1, 3, 4].contains(channels), height >= 1, width >= 1 else {
            throw DatasetError.invalidShape("\(root): cannot make \(channels)-channel \(height)x\(width) images")
        }
        guard FileBytes.isDirectory(root) else {
            if FileBytes.exists(root) {
                throw DatasetError.invalidShape("\(root): not a folder; --data takes a folder of images (or 'shapes', 'digits')")
            }
            throw DatasetError.notFound(path: root)
        }
        self.root = root
        self.channels = channels
        self.height = height
        self.width = width
        files = ImageFolderDataset.scan(root)
        guard !files.isEmpty else { throw DatasetError.noImages(path: root) }
        (classNames, labels, unlabelledCount) = ImageFolderDataset.classes(of: files, root: root)
        if files.count * height * width * channels <= cacheLimitBytes {
            cached = try ImageFolderDataset.prepareAll(files, channels: channels, height: height, width: width, progress: progress)
        } else {
            cached = nil
        }
    }

    /// The image files under `root`, sorted.
    static func scan(_ root: String) -> [String] {
        let base = URL(fileURLWithPath: root)
        guard let walker = FileManager.default.enumerator(at: base, includingPropertiesForKeys: [.isRegularFileKey],
                                                          options: [.skipsHiddenFiles]) else { return [] }
        var found: [String] = []
        for case let url as URL in walker {
            guard extensions.contains(url.pathExtension.lowercased()) else { continue }
            guard (try? url.resourceValues(forKeys: [.isRegularFileKey]))?.isRegularFile == true else { continue }
            found.append(url.path)
        }
        return found.sorted()
    }

    /// The class of every file: the first folder below `root` on its path, classes sorted by
    /// name as `ImageFolder` sorts them. Unlabelled (nil names) when any image lies in `root` itself.
    static func classes(of files: [String], root: String) -> (names: [String]?, labels: [Int], unlabelled: Int) {
        let base = URL(fileURLWithPath: root).standardizedFileURL.pathComponents.count
        let folders = files.map { path -> String? in
            let parts = URL(fileURLWithPath: path).standardizedFileURL.pathComponents
            return parts.count > base + 1 ? parts[base] : nil
        }
        let unlabelled = folders.filter { $0 == nil }.count
        guard unlabelled == 0 else { return (nil, [], unlabelled) }
        let names = Set(folders.compactMap { $0 }).sorted()
        let index = Dictionary(uniqueKeysWithValues: names.enumerated().map { ($1, $0) })
        return (names, folders.map { index[$0!]! }, 0)
    }

    public func label(at index: Int) -> Int { labels.isEmpty ? 0 : labels[index] }

    /// Decodes and prepares every file in parallel; the first failure in path order is thrown.
    static func prepareAll(_ files: [String], channels: Int, height: Int, width: Int,
                           progress: (@Sendable (Int, Int) -> Void)?) throws -> [Image] {
        let results = ResultSlots<Result<Image, Error>>(count: files.count)
        let done = Counter()
        DispatchQueue.concurrentPerform(iterations: files.count) { i in
            results[i] = Result { try prepare(files[i], channels: channels, height: height, width: width) }
            let n = done.increment()
            progress?(n, files.count)
        }
        return try results.values.map { try $0!.get() }
    }

    static func prepare(_ path: String, channels: Int, height: Int, width: Int) throws -> Image {
        try Image(contentsOf: path).resizedToCover(height: height, width: width).converted(toChannels: channels)
    }

    public var count: Int { files.count }

    public var summary: String {
        "image folder \(root) (\(count) images, scaled to cover \(height)x\(width) and centre-cropped, "
            + "\(channels) channel\(channels == 1 ? "" : "s")\(cached == nil ? ", decoded on demand" : "")"
    }

    public func image(at index: Int) throws -> Image {
        if let cached { return cached[index] }
        return try ImageFolderDataset.prepare(files[index], channels: channels, height: height, width: width)
    }
}

/// Slots written by distinct iterations of `concurrentPerform` (each index by exactly one).
final class ResultSlots<T>: @unchecked Sendable {
    private(set) var values: [T?]
    private let lock = NSLock()

    init(count: Int) { values = Array(repeating: nil, count: count) }

    subscript(i: Int) -> T? {
        get { lock.withLock { values[i] } }
        set { lock.withLock { values[i] = newValue } }
    }
}

/// A thread-safe counter.
final class Counter: @unchecked Sendable {
    private var value = 0
    private let lock = NSLock()

    func increment() -> Int { lock.withLock { value += 1; return value } }
}
