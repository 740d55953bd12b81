/// The tile transforms of Winograd's F(2×2, 3×3) convolution (Lavin & Gray, "Fast Algorithms for
/// Convolutional Neural Networks", 2016).
///
/// A 2×2 output tile is `Y = Aᵀ [(G g Gᵀ) ⊙ (Bᵀ d B)] A` for the 3×3 filter g and the 4×4 input
/// patch d around it (16 multiplies instead of 36), with
///
///     Bᵀ = [1 0 −1 0; 0 1 1 0; 0 −1 1 0; 0 1 0 −1]
///     G  = [1 0 0; ½ ½ ½; ½ −½ ½; 0 0 1]
///     Aᵀ = [1 1 1 0; 0 1 −1 −1]
///
/// Transformed tensors are stored as 16 planes, one per position ξ = 4a + b of the 4×4 tile,
/// each a row-major `[channels, tiles]` matrix, so the products over channels become 16 GEMMs.
/// Tiles are numbered `image·T + ti·tW + tj` within a chunk of images, T = tH·tW tiles per image,
/// tH = ⌈H/2⌉, tW = ⌈W/2⌉; tiles at the bottom/right edge of an odd-sized map reach past it and
/// read zeros (the padding) or drop the outputs beyond it.
///
/// Every loop over tiles runs along contiguous memory (rows are first split into their even and
/// odd columns) in explicit 8-lane SIMD blocks: with 16 output planes per loop the compiler
/// does not vectorise the scalar form itself (measured 4.3x slower).
struct WinogradGeometry {
    let height: Int
    let width: Int

    var tileRows: Int { (height + 1) / 2 }
    var tileColumns: Int { (width + 1) / 2 }
    var tilesPerImage: Int { tileRows * tileColumns }

    /// Floats between two rows of the split planes: `tW + 1` columns, rounded up and padded so
    /// that 8-wide loads at `tj + 1` never leave the row (the extra lanes are discarded).
    var splitStride: Int { (tileColumns + 1 + 7) / 8 * 8 + 8 }

    /// Floats of per-plane scratch ``splitPadded(_:into:)`` needs.
    var paddedScratch: Int { 2 * (2 * tileRows + 2) * splitStride }

    /// Floats of per-plane scratch the output and gradient transforms need.
    var rowScratch: Int { 4 * splitStride }

    /// Extra floats a transformed tensor needs after its last tile, for the 8-wide loads of the
    /// last tiles.
    static let slack = 8

    /// Splits one `[H, W]` plane, padded by one zero row/column on every side, into even and odd
    /// padded columns: `even[k][j] = padded[k][2j]`, `odd[k][j] = padded[k][2j + 1]`, for padded
    /// rows k < 2·tH + 2 and j < tW + 1 (zeros past the image). `scratch` holds `paddedScratch`
    /// floats: the even rows, then the odd rows, ``splitStride`` apart.
    func splitPadded(_ plane: UnsafePointer<Float>, into scratch: UnsafeMutablePointer<Float>) {
        let stride = splitStride
        let rows = 2 * tileRows + 2
        let odd = scratch + rows * stride
        // Only the padding is zeroed (clearing the whole scratch first cost as much as the split):
        // padded row 0, the rows below the image, and each row's columns outside the image.
        scratch.update(repeating: 0, count: stride)
        odd.update(repeating: 0, count: stride)
        for k in (height + 1)..<rows {
            (scratch + k * stride).update(repeating: 0, count: stride)
            (odd + k * stride).update(repeating: 0, count: stride)
        }
        // Padded column c is input column c − 1: even c = 2j reads 2j − 1 (j ≥ 1), odd c reads 2j.
        let evens = width / 2, odds = (width + 1) / 2
        for h in 0..<height {
            let (row, e, o) = (plane + h * width, scratch + (h + 1) * stride, odd + (h + 1) * stride)
            e[0] = 0
            for j in 0..<evens { e[j + 1] = row[2 * j + 1] }
            (e + evens + 1).update(repeating: 0, count: stride - evens - 1)
            for j in 0..<odds { o[j] = row[2 * j] }
            (o + odds).update(repeating: 0, count: stride - odds)
        }
    }

    /// `V[ξ][channel][tile] = (Bᵀ d B)[ξ]` for every tile of one plane whose tiles start at
    /// `firstTile`; `split` is the plane after ``splitPadded(_:into:)``. `planeStride` is the
    /// distance between two ξ planes of `v` (channels · tiles), `row` the offset of this channel's
    /// row in a plane (channel · tiles).
    func inputTransform(split: UnsafePointer<Float>, v: UnsafeMutablePointer<Float>, planeStride: Int,
                        row: Int, firstTile: Int) {
        let stride = splitStride
        let odd = split + (2 * tileRows + 2) * stride
        let n = tileColumns
        let s = planeStride
        for ti in 0..<tileRows {
            let e0 = split + (2 * ti) * stride, e1 = e0 + stride, e2 = e1 + stride, e3 = e2 + stride
            let o0 = odd + (2 * ti) * stride, o1 = o0 + stride, o2 = o1 + stride, o3 = o2 + stride
            let out = v + row + firstTile + ti * n
            Self.forEachBlock(n) { tj, lanes in
                // The four padded columns 2tj … 2tj + 3 of each row are E, O, E', O'.
                let (a0, a1, a2, a3) = (load(e0 + tj), load(o0 + tj), load(e0 + tj + 1), load(o0 + tj + 1))
                let (b0, b1, b2, b3) = (load(e1 + tj), load(o1 + tj), load(e1 + tj + 1), load(o1 + tj + 1))
                let (c0, c1, c2, c3) = (load(e2 + tj), load(o2 + tj), load(e2 + tj + 1), load(o2 + tj + 1))
                let (d0, d1, d2, d3) = (load(e3 + tj), load(o3 + tj), load(e3 + tj + 1), load(o3 + tj + 1))
                // Bᵀ d over the rows, then B on the columns of each resulting row a.
                let p = out + tj
                columns(a0 - c0, a1 - c1, a2 - c2, a3 - c3, p, s, lanes)
                columns(b0 + c0, b1 + c1, b2 + c2, b3 + c3, p + 4 * s, s, lanes)
                columns(c0 - b0, c1 - b1, c2 - b2, c3 - b3, p + 8 * s, s, lanes)
                columns(b0 - d0, b1 - d1, b2 - d2, b3 - d3, p + 12 * s, s, lanes)
            }
        }
    }

    /// One `[H, W]` output plane from `M[ξ][channel][tile]`: `Y = Aᵀ M A (+ bias)` per tile.
    /// `scratch` holds ``rowScratch`` floats.
    func outputTransform(m: UnsafePointer<Float>, planeStride: Int, row: Int, firstTile: Int, bias: Float,
                         plane: UnsafeMutablePointer<Float>, scratch: UnsafeMutablePointer<Float>) {
        let n = tileColumns
        let stride = splitStride
        let (y0e, y0o, y1e, y1o) = (scratch, scratch + stride, scratch + 2 * stride, scratch + 3 * stride)
        let s = planeStride
        let b = SIMD8<Float>(repeating: bias)
        for ti in 0..<tileRows {
            let p = m + row + firstTile + ti * n
            Self.forEachBlock(n) { tj, _ in
                // Aᵀ over the columns of each tile row a: (m0 + m1 + m2, m1 − m2 − m3) …
                let (e0, o0) = outputColumns(p + tj, s)
                let (e1, o1) = outputColumns(p + tj + 4 * s, s)
                let (e2, o2) = outputColumns(p + tj + 8 * s, s)
                let (e3, o3) = outputColumns(p + tj + 12 * s, s)
                // … then over the rows.
                store(e0 + e1 + e2 + b, y0e + tj, 8)
                store(o0 + o1 + o2 + b, y0o + tj, 8)
                store(e1 - e2 - e3 + b, y1e + tj, 8)
                store(o1 - o2 - o3 + b, y1o + tj, 8)
            }
            interleave(y0e, y0o, into: plane + (2 * ti) * width)
            if 2 * ti + 1 < height { interleave(y1e, y1o, into: plane + (2 * ti + 1) * width) }
        }
    }

    /// `Ŷ[ξ][channel][tile] = (A dY Aᵀ)[ξ]` for the 2×2 output-gradient tiles of one plane (zeros
    /// past the map), the transform the weight gradient needs. `scratch` holds ``rowScratch`` floats.
    func gradientTransform(plane: UnsafePointer<Float>, v: UnsafeMutablePointer<Float>, planeStride: Int, row: Int,
                           firstTile: Int, scratch: UnsafeMutablePointer<Float>) {
        let n = tileColumns
        let stride = splitStride
        let (r0e, r0o, r1e, r1o) = (scratch, scratch + stride, scratch + 2 * stride, scratch + 3 * stride)
        let s = planeStride
        for ti in 0..<tileRows {
            deinterleave(plane + (2 * ti) * width, even: r0e, odd: r0o)
            if 2 * ti + 1 < height {
                deinterleave(plane + (2 * ti + 1) * width, even: r1e, odd: r1o)
            } else {
                r1e.update(repeating: 0, count: stride)
                r1o.update(repeating: 0, count: stride)
            }
            let out = v + row + firstTile + ti * n
            Self.forEachBlock(n) { tj, lanes in
                let (e0, o0, e1, o1) = (load(r0e + tj), load(r0o + tj), load(r1e + tj), load(r1o + tj))
                // A y = (y0, y0 + y1, y0 − y1, −y1) over the columns of each row (p, q) …
                let (p0, p1, p2, p3) = (e0, e0 + o0, e0 - o0, -o0)
                let (q0, q1, q2, q3) = (e1, e1 + o1, e1 - o1, -o1)
                // … then over the rows: (p, p + q, p − q, −q).
                let dst = out + tj
                store(p0, dst, lanes)
                store(p1, dst + s, lanes)
                store(p2, dst + 2 * s, lanes)
                store(p3, dst + 3 * s, lanes)
                store(p0 + q0, dst + 4 * s, lanes)
                store(p1 + q1, dst + 5 * s, lanes)
                store(p2 + q2, dst + 6 * s, lanes)
                store(p3 + q3, dst + 7 * s, lanes)
                store(p0 - q0, dst + 8 * s, lanes)
                store(p1 - q1, dst + 9 * s, lanes)
                store(p2 - q2, dst + 10 * s, lanes)
                store(p3 - q3, dst + 11 * s, lanes)
                store(-q0, dst + 12 * s, lanes)
                store(-q1, dst + 13 * s, lanes)
                store(-q2, dst + 14 * s, lanes)
                store(-q3, dst + 15 * s, lanes)
            }
        }
    }

    /// B applied to one row (d0, d1, d2, d3) of `Bᵀ d`: its four entries ξ = 4a + b, b = 0…3,
    /// stored `s` apart from `p`.
    @inline(__always)
    private func columns(_ d0: SIMD8<Float>, _ d1: SIMD8<Float>, _ d2: SIMD8<Float>, _ d3: SIMD8<Float>,
                         _ p: UnsafeMutablePointer<Float>, _ s: Int, _ lanes: Int) {
        store(d0 - d2, p, lanes)
        store(d1 + d2, p + s, lanes)
        store(d2 - d1, p + 2 * s, lanes)
        store(d1 - d3, p + 3 * s, lanes)
    }

    /// Aᵀ applied to the four entries (m0 … m3, `s` apart from `p`) of one tile row: the row's
    /// contributions to the even and odd output columns.
    @inline(__always)
    private func outputColumns(_ p: UnsafePointer<Float>, _ s: Int) -> (SIMD8<Float>, SIMD8<Float>) {
        let (m0, m1, m2, m3) = (load(p), load(p + s), load(p + 2 * s), load(p + 3 * s))
        return (m0 + m1 + m2, m1 - m2 - m3)
    }

    /// Runs `body(tj, lanes)` for tj = 0, 8, 16, … < n, with `lanes` = min(8, n − tj) valid lanes.
    @inline(__always)
    private static func forEachBlock(_ n: Int, _ body: (Int, Int) -> Void) {
        var tj = 0
        while tj < n {
            body(tj, Swift.min(8, n - tj))
            tj += 8
        }
    }

    /// 8 floats from `p` (the caller guarantees they are allocated; lanes past the data are unused).
    @inline(__always)
    private func load(_ p: UnsafePointer<Float>) -> SIMD8<Float> {
        UnsafeRawPointer(p).loadUnaligned(as: SIMD8<Float>.self)
    }

    /// The first `lanes` floats of `v` to `p`.
    @inline(__always)
    private func store(_ v: SIMD8<Float>, _ p: UnsafeMutablePointer<Float>, _ lanes: Int) {
        if lanes == 8 {
            UnsafeMutableRawPointer(p).storeBytes(of: v, as: SIMD8<Float>.self)
        } else {
            for k in 0..<lanes { p[k] = v[k] }
        }
    }

    /// `out[2j] = even[j]`, `out[2j + 1] = odd[j]`, for the `width` columns of one row.
    private func interleave(_ even: UnsafePointer<Float>, _ odd: UnsafePointer<Float>, into out: UnsafeMutablePointer<Float>) {
        let pairs = width / 2
        for j in 0..<pairs {
            out[2 * j] = even[j]
            out[2 * j + 1] = odd[j]
        }
        if width % 2 == 1 { out[width - 1] = even[pairs] }
    }

    /// The even and odd columns of one row of `width`, zero past its end.
    private func deinterleave(_ row: UnsafePointer<Float>, even: UnsafeMutablePointer<Float>, odd: UnsafeMutablePointer<Float>) {
        let pairs = width / 2
        for j in 0..<pairs {
            even[j] = row[2 * j]
            odd[j] = row[2 * j + 1]
        }
        if width % 2 == 1 {
            even[pairs] = row[width - 1]
            odd[pairs] = 0
        }
    }
}

/// F(2×2, 3×3) as a ``WinogradTiling``: the per-plane transforms above, image by image, and the
/// filter transforms on 8 filters at once.
extension WinogradGeometry: WinogradTiling {
    typealias Vector = WinogradLanes.Vector
    static let positions = 16
    static func minimumChunkTiles(channels: Int) -> Int { CPUFast.winogradMinimumTiles }

    func scratchCount(images: Int) -> Int { Swift.max(paddedScratch, rowScratch) }

    func inputTransform(_ x: UnsafePointer<Float>, imageStride: Int, images: Int, v: UnsafeMutablePointer<Float>,
                        planeStride: Int, row: Int, scratch: UnsafeMutablePointer<Float>) {
        for s in 0..<images {
            splitPadded(x + s * imageStride, into: scratch)
            inputTransform(split: scratch, v: v, planeStride: planeStride, row: row, firstTile: s * tilesPerImage)
        }
    }

    func outputTransform(m: UnsafePointer<Float>, planeStride: Int, row: Int, images: Int, bias: Float,
                         y: UnsafeMutablePointer<Float>, imageStride: Int, scratch: UnsafeMutablePointer<Float>) {
        for s in 0..<images {
            outputTransform(m: m, planeStride: planeStride, row: row, firstTile: s * tilesPerImage, bias: bias,
                            plane: y + s * imageStride, scratch: scratch)
        }
    }

    func gradientTransform(_ dy: UnsafePointer<Float>, imageStride: Int, images: Int, v: UnsafeMutablePointer<Float>,
                           planeStride: Int, row: Int, scratch: UnsafeMutablePointer<Float>) {
        for s in 0..<images {
            gradientTransform(plane: dy + s * imageStride, v: v, planeStride: planeStride, row: row,
                              firstTile: s * tilesPerImage, scratch: scratch)
        }
    }

    /// `G g` for one column (or row) of a 3×3 filter: g0, (g0 + g1 + g2)/2, (g0 − g1 + g2)/2, g2.
    @inline(__always)
    private static func filterColumn(_ g0: Vector, _ g1: Vector, _ g2: Vector) -> (Vector, Vector, Vector, Vector) {
        let outer = g0 + g2
        return (g0, (outer + g1) * 0.5, (outer - g1) * 0.5, g2)
    }

    /// `Gᵀ u` for one column (or row) of a 4×4 filter gradient: u0 + (u1 + u2)/2, (u1 − u2)/2,
    /// (u1 + u2)/2 + u3.
    @inline(__always)
    private static func filterGradientColumn(_ u0: Vector, _ u1: Vector, _ u2: Vector, _ u3: Vector)
        -> (Vector, Vector, Vector) {
        let half = (u1 + u2) * 0.5
        return (u0 + half, (u1 - u2) * 0.5, half + u3)
    }

    static func transformFilters(_ w: UnsafePointer<Float>, count: Int, filterStride: Int, flipped: Bool,
                                 into u: UnsafeMutablePointer<Float>, stride: Int) {
        withUnsafeTemporaryAllocation(of: Vector.self, capacity: 21) { buffer in
            let taps = buffer.baseAddress!, q = taps + 9
            WinogradLanes.forEachBlock(count) { k, lanes in
                WinogradLanes.gatherTaps(w + k * filterStride, filterStride: filterStride, flipped: flipped, lanes: lanes,
                                         into: taps)
                for j in 0..<3 {
                    let r = filterColumn(taps[j], taps[3 + j], taps[6 + j])
                    q[j] = r.0; q[3 + j] = r.1; q[6 + j] = r.2; q[9 + j] = r.3
                }
                for a in 0..<4 {
                    let r = filterColumn(q[3 * a], q[3 * a + 1], q[3 * a + 2])
                    let out = u + 4 * a * stride + k
                    WinogradLanes.store(r.0, out, lanes)
                    WinogradLanes.store(r.1, out + stride, lanes)
                    WinogradLanes.store(r.2, out + 2 * stride, lanes)
                    WinogradLanes.store(r.3, out + 3 * stride, lanes)
                }
            }
        }
    }

    static func filterGradients(_ du: UnsafePointer<Float>, count: Int, stride: Int, into dg: UnsafeMutablePointer<Float>) {
        withUnsafeTemporaryAllocation(of: Vector.self, capacity: 12) { buffer in
            let h = buffer.baseAddress!
            WinogradLanes.forEachBlock(count) { k, lanes in
                for a in 0..<4 {
                    let p = du + 4 * a * stride + k
                    let r = filterGradientColumn(
                        WinogradLanes.load(p, lanes: lanes), WinogradLanes.load(p + stride, lanes: lanes),
                        WinogradLanes.load(p + 2 * stride, lanes: lanes), WinogradLanes.load(p + 3 * stride, lanes: lanes))
                    h[3 * a] = r.0; h[3 * a + 1] = r.1; h[3 * a + 2] = r.2
                }
                for j in 0..<3 {
                    let r = filterGradientColumn(h[j], h[3 + j], h[6 + j], h[9 + j])
                    let out = dg + 9 * k + j
                    WinogradLanes.scatter(r.0, out, stride: 9, lanes: lanes)
                    WinogradLanes.scatter(r.1, out + 3, stride: 9, lanes: lanes)
                    WinogradLanes.scatter(r.2, out + 6, stride: 9, lanes: lanes)
                }
            }
        }
    }
}
