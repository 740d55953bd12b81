/// Separable resampling weights for one axis with a triangle (bilinear) filter whose support
/// widens by the reduction factor when shrinking, so downscaling averages every source pixel
/// (antialiasing, like Pillow's `BILINEAR` resize and torchvision's `antialias=True`) while
/// upscaling is plain bilinear interpolation.
struct ResampleAxis: Equatable {
    /// First source index of each output sample.
    let first: [Int]
    /// Normalised weights of each output sample, starting at `first`.
    let weights: [[Float]]

    /// Maps the source interval `[start, start + length)` (in pixels, fractional allowed) of an
    /// axis of `sourceSize` pixels onto `outputSize` samples; samples at pixel centres.
    init(sourceSize: Int, start: Double, length: Double, outputSize: Int) {
        precondition(sourceSize >= 1 && outputSize >= 1 && length > 0, "invalid resampling axis")
        let scale = length / Double(outputSize)           // source pixels per output sample
        let stretch = max(scale, 1)                       // filter widening when shrinking
        let support = stretch                             // the triangle's half-width is 1 (× stretch)
        var first: [Int] = []
        var weights: [[Float]] = []
        first.reserveCapacity(outputSize)
        weights.reserveCapacity(outputSize)
        for i in 0..<outputSize {
            let center = start + (Double(i) + 0.5) * scale
            var lo = Int((center - support).rounded(.down))
            var hi = Int((center + support).rounded(.up))
            lo = min(max(lo, 0), sourceSize - 1)
            hi = min(max(hi, lo + 1), sourceSize)
            var w: [Double] = []
            for j in lo..<hi {
                let x = (Double(j) + 0.5 - center) / stretch
                w.append(max(0, 1 - abs(x)))
            }
            var total = w.reduce(0, +)
            if total <= 0 {
                // The window fell between pixel centres at an edge: take the nearest pixel.
                let nearest = min(max(Int(center.rounded(.down)), 0), sourceSize - 1)
                lo = nearest
                w = [1]
                total = 1
            }
            // Trim zero weights at the ends so the inner loops stay short.
            var a = 0, b = w.count
            while a < b - 1, w[a] == 0 { a += 1 }
            while b > a + 1, w[b - 1] == 0 { b -= 1 }
            first.append(lo + a)
            weights.append(w[a..<b].map { Float($0 / total) })
        }
        self.first = first
        self.weights = weights
    }
}

extension Image {
    /// The image scaled so that it covers `height × width`, then centre-cropped to exactly that
    /// size: the short side (relative to the target's aspect) is fitted and the excess of the other
    /// side is cut equally from both ends. The aspect ratio is never changed (no squashing).
    ///
    /// Computed in one pass: the centred source window of the target's aspect is resampled to the
    /// target, which equals resize-then-crop without rounding the intermediate size.
    public func resizedToCover(height targetHeight: Int, width targetWidth: Int) -> Image {
        precondition(targetHeight >= 1 && targetWidth >= 1, "invalid target size")
        if targetHeight == height && targetWidth == width { return self }
        // Output pixels per source pixel, chosen so that both target sides fit inside the image.
        let s = max(Double(targetHeight) / Double(height), Double(targetWidth) / Double(width))
        let windowH = Double(targetHeight) / s, windowW = Double(targetWidth) / s
        let rows = ResampleAxis(sourceSize: height, start: (Double(height) - windowH) / 2, length: windowH, outputSize: targetHeight)
        let cols = ResampleAxis(sourceSize: width, start: (Double(width) - windowW) / 2, length: windowW, outputSize: targetWidth)
        let c = channels
        // Horizontal pass: [height, targetWidth, c] in Float.
        var horizontal = [Float](repeating: 0, count: height * targetWidth * c)
        pixels.withUnsafeBufferPointer { src in
            for y in 0..<height {
                let rowBase = y * width * c
                for x in 0..<targetWidth {
                    let f = cols.first[x], w = cols.weights[x]
                    for k in 0..<c {
                        var acc: Float = 0
                        for (j, weight) in w.enumerated() { acc += weight * Float(src[rowBase + (f + j) * c + k]) }
                        horizontal[(y * targetWidth + x) * c + k] = acc
                    }
                }
            }
        }
        // Vertical pass, rounded to 8 bits.
        var out = [UInt8](repeating: 0, count: targetHeight * targetWidth * c)
        let rowStride = targetWidth * c
        for y in 0..<targetHeight {
            let f = rows.first[y], w = rows.weights[y]
            for i in 0..<rowStride {
                var acc: Float = 0
                for (j, weight) in w.enumerated() { acc += weight * horizontal[(f + j) * rowStride + i] }
                out[y * rowStride + i] = UInt8(min(max(acc.rounded(), 0), 255))
            }
        }
        return Image(width: targetWidth, height: targetHeight, channels: c, pixels: out)
    }
}
