import Foundation

/// The UCI handwritten digits shipped inside the binary (1797 8x8 gray images): a dataset that
/// needs no download. Images are resized (bilinear) to the training size, replicated to RGB
/// when three channels are asked for.
public final class DigitsDataset: ImageDataset, @unchecked Sendable {
    public let channels: Int
    public let height: Int
    public let width: Int
    /// Every image, prepared once at construction (they are tiny).
    private let images: [Image]

    public init(channels: Int, height: Int, width: Int) throws {
        guard [1, 3, 4].contains(channels), height >= 1, width >= 1 else {
            throw DatasetError.invalidShape("digits: cannot make \(channels)-channel \(height)x\(width) images")
        }
        self.channels = channels
        self.height = height
        self.width = width
        let raw = DigitsDataset.rawImages()
        images = raw.map { $0.resizedToCover(height: height, width: width).converted(toChannels: channels) }
    }

    /// The embedded 8x8 gray images in their original order.
    static func rawImages() -> [Image] {
        guard let data = Data(base64Encoded: DigitsData.pixelsBase64, options: .ignoreUnknownCharacters) else {
            preconditionFailure("the embedded digits data is not valid base64")
        }
        let bytes = [UInt8](data)
        let side = DigitsData.side, size = side * side
        precondition(bytes.count == DigitsData.count * size, "the embedded digits data has the wrong length")
        return (0..<DigitsData.count).map {
            Image(width: side, height: side, channels: 1, pixels: Array(bytes[($0 * size)..<(($0 + 1) * size)]))
        }
    }

    public var count: Int { images.count }

    public var summary: String {
        "built-in digits (UCI handwritten digits, \(count) images of 8x8, resized to \(height)x\(width), \(channels) channel\(channels == 1 ? "" : "s"))"
    }

    public func image(at index: Int) throws -> Image { images[index] }

    /// The digits `0`…`9`, labelled by the embedded labels.
    public var classNames: [String]? { (0...9).map(String.init) }
    public func label(at index: Int) -> Int { Int(DigitsData.labels[index]) }
}
