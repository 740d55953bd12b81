/// Tiles a batch of images into one picture, as `torchvision.utils.save_image(nrow:)` does for
/// the reference Trainer's `sample-N.png`: rows of `columns` tiles separated and framed by a
/// `padding`-pixel border of value 0.
public enum ImageGrid {
    /// The grid image of `batch` `[N, C, H, W]` in [0, 1] (clamped when written).
    ///
    /// - Parameter columns: tiles per row; default `⌈√N⌉`, a square for a square count.
    public static func make(_ batch: [Float], count: Int, channels: Int, height: Int, width: Int,
                            columns: Int? = nil, padding: Int = 2) -> Image {
        precondition(count >= 1 && batch.count == count * channels * height * width, "the batch does not match its shape")
        let cols = max(1, min(columns ?? Int(Double(count).squareRoot().rounded(.up)), count))
        let rows = (count + cols - 1) / cols
        let gridW = cols * (width + padding) + padding
        let gridH = rows * (height + padding) + padding
        let c = channels
        var pixels = [UInt8](repeating: 0, count: gridW * gridH * c)
        let tileCount = channels * height * width
        for n in 0..<count {
            let tile = Image(planarFloats: Array(batch[(n * tileCount)..<((n + 1) * tileCount)]),
                             channels: channels, height: height, width: width)
            let x0 = padding + (n % cols) * (width + padding)
            let y0 = padding + (n / cols) * (height + padding)
            for y in 0..<height {
                let dst = ((y0 + y) * gridW + x0) * c
                let src = y * width * c
                pixels.replaceSubrange(dst..<(dst + width * c), with: tile.pixels[src..<(src + width * c)])
            }
        }
        return Image(width: gridW, height: gridH, channels: c, pixels: pixels)
    }
}
