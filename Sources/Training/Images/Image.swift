/// An 8-bit image in memory: `height` rows of `width` pixels of `channels` interleaved samples
/// (`[H, W, C]`, row-major): 1 gray, 2 gray + alpha, 3 RGB, 4 RGBA.
public struct Image: Sendable, Equatable {
    public let width: Int
    public let height: Int
    public let channels: Int
    /// `width · height · channels` samples, `[H, W, C]`.
    public var pixels: [UInt8]

    /// An image from interleaved samples; the count must be `width · height · channels`.
    public init(width: Int, height: Int, channels: Int, pixels: [UInt8]) {
        precondition(width >= 1 && height >= 1 && (1...4).contains(channels), "invalid image dimensions \(width)x\(height)x\(channels)")
        precondition(pixels.count == width * height * channels, "pixel count does not match \(width)x\(height)x\(channels)")
        self.width = width
        self.height = height
        self.channels = channels
        self.pixels = pixels
    }

    /// The image with `count` channels (1 gray, 3 RGB or 4 RGBA), converted as Pillow's
    /// `Image.convert` does: gray is replicated into RGB, RGB becomes gray by ITU-R 601-2 luma
    /// (`L = (19595·R + 38470·G + 7471·B + 2^15) >> 16`), alpha is dropped (not composited) when
    /// the target has none, and is opaque when the source has none.
    public func converted(toChannels count: Int) -> Image {
        precondition([1, 3, 4].contains(count), "images convert to 1, 3 or 4 channels, not \(count)")
        if count == channels { return self }
        let n = width * height
        var out = [UInt8](repeating: 0, count: n * count)
        let c = channels
        pixels.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                for i in 0..<n {
                    let p = i * c
                    // Gray or RGB view of the source pixel.
                    let (r, g, b): (UInt8, UInt8, UInt8) = c >= 3 ? (src[p], src[p + 1], src[p + 2]) : (src[p], src[p], src[p])
                    let alpha: UInt8 = (c == 2 || c == 4) ? src[p + c - 1] : 255
                    let q = i * count
                    switch count {
                    case 1:
                        dst[q] = c >= 3 ? Image.luma(r, g, b) : r
                    case 3:
                        dst[q] = r; dst[q + 1] = g; dst[q + 2] = b
                    default:
                        dst[q] = r; dst[q + 1] = g; dst[q + 2] = b; dst[q + 3] = alpha
                    }
                }
            }
        }
        return Image(width: width, height: height, channels: count, pixels: out)
    }

    /// ITU-R 601-2 luma in Pillow's fixed-point form.
    static func luma(_ r: UInt8, _ g: UInt8, _ b: UInt8) -> UInt8 {
        let red: UInt32 = 19595 * UInt32(r)
        let green: UInt32 = 38470 * UInt32(g)
        let blue: UInt32 = 7471 * UInt32(b)
        return UInt8((red + green + blue + 0x8000) >> 16)
    }

    /// The image mirrored left to right.
    public func flippedHorizontally() -> Image {
        var out = pixels
        for y in 0..<height {
            for x in 0..<width {
                let s = (y * width + x) * channels, d = (y * width + (width - 1 - x)) * channels
                for k in 0..<channels { out[d + k] = pixels[s + k] }
            }
        }
        return Image(width: width, height: height, channels: channels, pixels: out)
    }

    /// The samples as planes `[C, H, W]` scaled to [0, 1] (`v / 255`), the layout of a batch.
    public func planarFloats() -> [Float] {
        var out = [Float](repeating: 0, count: pixels.count)
        let plane = width * height
        for i in 0..<plane {
            for k in 0..<channels { out[k * plane + i] = Float(pixels[i * channels + k]) / 255 }
        }
        return out
    }

    /// An image from planes `[C, H, W]` of values in [0, 1]; values outside are clamped and
    /// rounded to the nearest of 256 levels (`round(v · 255)`), as `torchvision.utils.save_image` does.
    public init(planarFloats values: [Float], channels: Int, height: Int, width: Int) {
        let plane = width * height
        precondition(values.count == plane * channels, "expected \(channels)x\(height)x\(width) values, got \(values.count)")
        var out = [UInt8](repeating: 0, count: values.count)
        for i in 0..<plane {
            for k in 0..<channels {
                let v = values[k * plane + i]
                // NaN maps to 0 rather than trapping in the conversion.
                let clamped = v.isNaN ? 0 : min(max(v, 0), 1)
                out[i * channels + k] = UInt8((clamped * 255).rounded())
            }
        }
        self.init(width: width, height: height, channels: channels, pixels: out)
    }
}
