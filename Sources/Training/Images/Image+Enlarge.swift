extension Image {
    /// The image scaled to exactly `width` × `height` by nearest neighbour (each output pixel
    /// takes the input pixel its centre falls in): small images become viewable without blur.
    public func enlarged(width newWidth: Int, height newHeight: Int) -> Image {
        precondition(newWidth >= 1 && newHeight >= 1, "an image needs at least one pixel")
        var out = [UInt8](repeating: 0, count: newWidth * newHeight * channels)
        for y in 0..<newHeight {
            let sy = min(height - 1, (2 * y + 1) * height / (2 * newHeight))
            for x in 0..<newWidth {
                let sx = min(width - 1, (2 * x + 1) * width / (2 * newWidth))
                for c in 0..<channels { out[(y * newWidth + x) * channels + c] = pixels[(sy * width + sx) * channels + c] }
            }
        }
        return Image(width: newWidth, height: newHeight, channels: channels, pixels: out)
    }

    /// The long side a viewing image is enlarged to at least: a 64-image grid of 8×8 digits
    /// (82 pixels) becomes 328, big enough to see on any screen without a viewer's blurry zoom.
    public static let viewingSide = 256

    /// The image enlarged by the smallest whole factor that makes its long side at least
    /// ``viewingSide`` (itself when it already is), so every source pixel becomes a square block.
    public func enlargedForViewing() -> Image {
        let factor = max(1, (Image.viewingSide + max(width, height) - 1) / max(width, height))
        return factor == 1 ? self : enlarged(width: width * factor, height: height * factor)
    }
}
