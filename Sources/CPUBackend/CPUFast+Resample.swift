import Devices

/// Fast pixel (un)shuffle and nearest upsampling; `r` describes the large `[N, C, H, W]` side.
///
/// Work items are rows of the large tensor (one `(n, c, h)`), so every item touches a disjoint
/// row of its output.
extension CPUFast {
    /// `y[n, c·f² + f·dy + dx, i, j] = x[n, c, i·f + dy, j·f + dx]`.
    func pixelUnshuffle(_ r: Resample, x: Pointer, y: Pointer) {
        shuffle(r, large: x, small: y, toSmall: true)
    }

    /// The inverse of ``pixelUnshuffle(_:x:y:)``: `y[n, c, i·f + dy, j·f + dx] = x[n, c·f² + f·dy + dx, i, j]`.
    func pixelShuffle(_ r: Resample, x: Pointer, y: Pointer) {
        shuffle(r, large: y, small: x, toSmall: false)
    }

    /// `y[n, c, h, w] = x[n, c, h / f, w / f]`: each small row is widened once, then copied
    /// to the `f − 1` rows below it.
    func upsampleNearest(_ r: Resample, x: Pointer, y: Pointer) {
        let f = r.factor
        let (sh, sw) = (r.height / f, r.width / f)
        Parallel.forEachItem(r.batch * r.channels * sh, itemCost: f * r.width) { row in
            let (src, out) = (x + row * sw, y + row * f * r.width)
            if f == 2 {
                for j in 0..<sw {
                    let v = src[j]
                    out[2 * j] = v
                    out[2 * j + 1] = v
                }
            } else {
                for j in 0..<sw {
                    let v = src[j]
                    for d in 0..<f { out[j * f + d] = v }
                }
            }
            for d in 1..<Swift.max(f, 1) { (out + d * r.width).update(from: out, count: r.width) }
        }
    }

    /// `dx[n, c, i, j] = Σ_{dy, dx < f} dy[n, c, i·f + dy, j·f + dx]`: the `f` rows are summed
    /// first (a unit-stride sweep), then adjacent pairs (or groups of `f`) of the sum.
    func upsampleNearestBackward(_ r: Resample, dy: Pointer, dx: Pointer) {
        let f = r.factor
        let (sh, sw) = (r.height / f, r.width / f)
        Parallel.forEachItem(r.batch * r.channels * sh, itemCost: f * r.width) { row in
            let (src, out) = (dy + row * f * r.width, dx + row * sw)
            withUnsafeTemporaryAllocation(of: Float.self, capacity: r.width) { buffer in
                let rows = buffer.baseAddress!
                rows.update(from: src, count: r.width)
                for d in 1..<Swift.max(f, 1) {
                    let next = src + d * r.width
                    for w in 0..<r.width { rows[w] += next[w] }
                }
                if f == 2 {
                    for j in 0..<sw { out[j] = rows[2 * j] + rows[2 * j + 1] }
                } else {
                    for j in 0..<sw {
                        var sum: Float = 0
                        for d in 0..<f { sum += rows[j * f + d] }
                        out[j] = sum
                    }
                }
            }
        }
    }

    /// Moves every row `(n, c, h)` of the large tensor to or from its place in the
    /// space-to-depth tensor `[N, C·f², H/f, W/f]` (channel `c·f² + f·(h % f) + dx`).
    private func shuffle(_ r: Resample, large: Pointer, small: Pointer, toSmall: Bool) {
        let f = r.factor
        let (sh, sw) = (r.height / f, r.width / f)
        Parallel.forEachItem(r.batch * r.channels * r.height, itemCost: r.width) { row in
            let (nc, h) = row.quotientAndRemainder(dividingBy: r.height)
            let (n, c) = nc.quotientAndRemainder(dividingBy: r.channels)
            let line = large + row * r.width
            for dx in 0..<f {
                let channel = c * f * f + f * (h % f) + dx
                let target = small + ((n * r.channels * f * f + channel) * sh + h / f) * sw
                if toSmall {
                    for j in 0..<sw { target[j] = line[j * f + dx] }
                } else {
                    for j in 0..<sw { line[j * f + dx] = target[j] }
                }
            }
        }
    }
}
