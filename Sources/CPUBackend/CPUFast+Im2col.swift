#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Devices

/// Column buffers for convolution as GEMM.
///
/// Each function takes `serial`: true when the caller already runs one chunk per core, so the
/// loop stays on the calling thread instead of fanning out again.
///
/// A column buffer for `samples` images is `[Cin·KH·KW, samples·OH·OW]`: row `(ci, kh, kw)`
/// holds, for every sample and output position, the input pixel that tap multiplies (0 in the
/// padding). One GEMM with the `[Cout, Cin·KH·KW]` weight matrix then convolves the whole chunk.
extension CPUFast {
    /// Whether a convolution's column buffer of one sample is the input itself (1×1, no padding).
    static func isPointwise(_ c: Conv2d) -> Bool {
        c.kernelHeight == 1 && c.kernelWidth == 1 && c.padHeight == 0 && c.padWidth == 0
    }

    /// Fills `col` `[Cin·KH·KW, samples·OH·OW]` from images `first ..< first + samples` of `x`.
    func im2col(_ c: Conv2d, x: Pointer, first: Int, samples: Int, col: Pointer, serial: Bool = false) {
        let (oh, ow) = (c.outHeight, c.outWidth)
        let positions = oh * ow
        let rows = c.inChannels * c.kernelHeight * c.kernelWidth
        Parallel.forEachItem(rows * samples, itemCost: positions, serial: serial) { item in
            let (row, s) = item.quotientAndRemainder(dividingBy: samples)
            let (ci, tap) = row.quotientAndRemainder(dividingBy: c.kernelHeight * c.kernelWidth)
            let (kh, kw) = tap.quotientAndRemainder(dividingBy: c.kernelWidth)
            let plane = x + ((first + s) * c.inChannels + ci) * c.height * c.width
            let out = col + row * samples * positions + s * positions
            // Output columns whose input column ow + kw − pw lies inside the image.
            let lo = Swift.min(Swift.max(c.padWidth - kw, 0), ow)
            let hi = Swift.max(Swift.min(c.width + c.padWidth - kw, ow), lo)
            for i in 0..<oh {
                let h = i + kh - c.padHeight
                let line = out + i * ow
                guard h >= 0, h < c.height else {
                    line.update(repeating: 0, count: ow)
                    continue
                }
                if lo > 0 { line.update(repeating: 0, count: lo) }
                if hi > lo { memcpy(line + lo, plane + h * c.width + (lo + kw - c.padWidth), (hi - lo) * 4) }
                if ow > hi { (line + hi).update(repeating: 0, count: ow - hi) }
            }
        }
    }

    /// The adjoint of ``im2col(_:x:first:samples:col:)``: overwrites images `first ..< first + samples`
    /// of `dx` with the sums of their column-buffer entries. Each (sample, channel) plane is one
    /// work item that only reads its own rows, so planes run in parallel without races.
    func col2im(_ c: Conv2d, col: Pointer, first: Int, samples: Int, dx: Pointer, serial: Bool = false) {
        let (oh, ow) = (c.outHeight, c.outWidth)
        let positions = oh * ow
        let taps = c.kernelHeight * c.kernelWidth
        Parallel.forEachItem(samples * c.inChannels, itemCost: taps * positions, serial: serial) { item in
            let (s, ci) = item.quotientAndRemainder(dividingBy: c.inChannels)
            let plane = dx + ((first + s) * c.inChannels + ci) * c.height * c.width
            plane.update(repeating: 0, count: c.height * c.width)
            for tap in 0..<taps {
                let (kh, kw) = tap.quotientAndRemainder(dividingBy: c.kernelWidth)
                let source = col + (ci * taps + tap) * samples * positions + s * positions
                let lo = Swift.min(Swift.max(c.padWidth - kw, 0), ow)
                let hi = Swift.max(Swift.min(c.width + c.padWidth - kw, ow), lo)
                for i in 0..<oh {
                    let h = i + kh - c.padHeight
                    guard h >= 0, h < c.height else { continue }
                    let (from, to) = (source + i * ow, plane + h * c.width + kw - c.padWidth)
                    for j in lo..<hi { to[j] += from[j] }
                }
            }
        }
    }

    /// Copies `[samples, rows, length]` (images `first...` of an NCHW tensor) into
    /// `[rows, samples·length]`, or back with `reverse`, adding `bias[row]` when given.
    func interleave(_ nchw: Pointer, first: Int, samples: Int, rows: Int, length: Int,
                    packed: Pointer, reverse: Bool, bias: Pointer? = nil, serial: Bool = false) {
        Parallel.forEachItem(samples * rows, itemCost: length, serial: serial) { item in
            let (s, r) = item.quotientAndRemainder(dividingBy: rows)
            let image = nchw + ((first + s) * rows + r) * length
            let matrix = packed + r * samples * length + s * length
            if reverse {
                if let bias {
                    let b = bias[r]
                    for k in 0..<length { image[k] = matrix[k] + b }
                } else {
                    memcpy(image, matrix, length * 4)
                }
            } else {
                memcpy(matrix, image, length * 4)
            }
        }
    }
}
