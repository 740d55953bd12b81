import Devices

/// Reference pixel (un)shuffle and nearest upsampling; `r` always describes the large `[N, C, H, W]` side.
extension CPUReference {
    /// `y[n, c·f² + f·dy + dx, i, j] = x[n, c, i·f + dy, j·f + dx]`.
    func pixelUnshuffle(_ r: Resample, x: Pointer, y: Pointer) {
        forEachBlockElement(r) { large, small in y[small] = x[large] }
    }

    /// The inverse of ``pixelUnshuffle(_:x:y:)``: `y[n, c, i·f + dy, j·f + dx] = x[n, c·f² + f·dy + dx, i, j]`.
    func pixelShuffle(_ r: Resample, x: Pointer, y: Pointer) {
        forEachBlockElement(r) { large, small in y[large] = x[small] }
    }

    /// `y[n, c, h, w] = x[n, c, h / f, w / f]`.
    func upsampleNearest(_ r: Resample, x: Pointer, y: Pointer) {
        let (sh, sw) = (r.height / r.factor, r.width / r.factor)
        for plane in 0..<(r.batch * r.channels) {
            for h in 0..<r.height {
                for w in 0..<r.width {
                    y[(plane * r.height + h) * r.width + w] = x[(plane * sh + h / r.factor) * sw + w / r.factor]
                }
            }
        }
    }

    /// `dx[n, c, i, j] = Σ_{dy, dx < f} dy[n, c, i·f + dy, j·f + dx]`.
    func upsampleNearestBackward(_ r: Resample, dy: Pointer, dx: Pointer) {
        let f = r.factor
        let (sh, sw) = (r.height / f, r.width / f)
        for plane in 0..<(r.batch * r.channels) {
            for i in 0..<sh {
                for j in 0..<sw {
                    var sum = 0.0
                    for a in 0..<f {
                        for b in 0..<f { sum += Double(dy[(plane * r.height + i * f + a) * r.width + j * f + b]) }
                    }
                    dx[(plane * sh + i) * sw + j] = Float(sum)
                }
            }
        }
    }

    /// Visits every element of the large tensor with its index in the space-to-depth tensor
    /// `[N, C·f², H/f, W/f]` (channel `c·f² + f·dy + dx`).
    private func forEachBlockElement(_ r: Resample, _ body: (_ large: Int, _ small: Int) -> Void) {
        let f = r.factor
        let (sh, sw) = (r.height / f, r.width / f)
        for n in 0..<r.batch {
            for c in 0..<r.channels {
                for h in 0..<r.height {
                    for w in 0..<r.width {
                        let large = ((n * r.channels + c) * r.height + h) * r.width + w
                        let channel = c * f * f + f * (h % f) + w % f
                        let small = ((n * r.channels * f * f + channel) * sh + h / f) * sw + w / f
                        body(large, small)
                    }
                }
            }
        }
    }
}
