/// Winograd's F(4×4, 3×3) (Lavin & Gray 2016, interpolation points 0, ±1, ±2, ∞): a 4×4 output
/// tile from a 6×6 input patch in 36 multiplies instead of 144, 4x fewer than im2col + GEMM
/// (F(2×2, 3×3) saves 2.25x).
///
///     Bᵀ = [4  0 −5  0 1 0;  0 −4 −4  1 1 0;  0 4 −4 −1 1 0;
///           0 −2 −1  2 1 0;  0  2 −1 −2 1 0;  0 4  0 −5 0 1]
///     G  = [¼ 0 0;  −⅙ −⅙ −⅙;  −⅙ ⅙ −⅙;  1⁄24 1⁄12 ⅙;  1⁄24 −1⁄12 ⅙;  0 0 1]
///     Aᵀ = [1 1 1 1 1 0;  0 1 −1 2 −2 0;  0 1 1 4 4 0;  0 1 −1 8 −8 1]
///
/// Each transform gathers one channel's tiles of a whole chunk of images into tile-major rows
/// (`d[a·6 + b][tile]`), then runs the 1-D transforms over columns and rows on 8 tiles at a
/// time: the tile count of a chunk is long and contiguous whatever the map size, so even 8×8
/// maps (4 tiles per image) fill the vectors.
struct Winograd4x4Tiling: WinogradTiling {
    typealias Vector = WinogradLanes.Vector
    static let positions = 36
    static let slack = 8
    /// 128 tiles (two 32×32 images), or 8192 channel·tiles per plane for narrower convolutions
    /// (256 tiles at 32 channels), so the products' `[channels × tiles]` operands hold at least
    /// 32 KiB. Measured on the 32×32 convolutions of the Unets (Zen 4, 1 MiB L2): at 64
    /// channels 128 tiles ran 15-25% faster than 256; at 32 channels 256 tiles ran 15-25%
    /// faster than 128 and 512. Wider channels measured within noise of 128.
    static func minimumChunkTiles(channels: Int) -> Int {
        Swift.max(128, 8192 / Swift.max(channels, 1))
    }

    let height: Int
    let width: Int

    init(height: Int, width: Int) {
        self.height = height
        self.width = width
    }

    var tileRows: Int { (height + 3) / 4 }
    var tileColumns: Int { (width + 3) / 4 }
    var tilesPerImage: Int { tileRows * tileColumns }

    /// Floats per row of a phase plane: `tW + 1` entries (the last tile reads one entry past its
    /// own), rounded up to whole vectors.
    private var phaseStride: Int { (tileColumns + 1 + 7) / 8 * 8 }
    /// Rows of a phase plane: the padded rows −1 … 4·tH.
    private var phaseRows: Int { 4 * tileRows + 2 }
    /// Floats of the four phase planes together.
    private var phaseCount: Int { 4 * phaseRows * phaseStride }

    /// Floats per gathered row: a chunk's tiles rounded up to whole vectors.
    private func rowLength(images: Int) -> Int { (images * tilesPerImage + 7) / 8 * 8 }

    func scratchCount(images: Int) -> Int { phaseCount + 36 * rowLength(images: images) + 24 * 8 }

    /// Splits one `[H, W]` plane, padded by one zero row and column before it (and zeros after),
    /// into its four column phases: `phase[k][r][j] = padded[r][4j + k]`, so the six columns
    /// `4tj … 4tj + 5` a tile reads are `phase[b % 4][r][tj + b / 4]`: contiguous over `tj`.
    /// Only the entries the image covers are written; the caller zeroes the planes once.
    private func splitPhases(_ plane: UnsafePointer<Float>, into phases: UnsafeMutablePointer<Float>) {
        let (stride, planeSize) = (phaseStride, phaseRows * phaseStride)
        let whole = width / 4
        for h in 0..<height {
            let row = plane + h * width
            let r = (h + 1) * stride
            // Input column c is padded column c + 1: phase (c + 1) % 4, entry (c + 1) / 4.
            let (p0, p1, p2, p3) = (phases + r, phases + planeSize + r, phases + 2 * planeSize + r,
                                    phases + 3 * planeSize + r)
            var j = 0
            // 8 tiles' columns at a time: a 32-float load split by phase (vector shuffles).
            while j + 8 <= whole {
                let q = UnsafeRawPointer(row + 4 * j).loadUnaligned(as: SIMD32<Float>.self)
                let (even, odd) = (q.evenHalf, q.oddHalf)
                UnsafeMutableRawPointer(p1 + j).storeBytes(of: even.evenHalf, as: Vector.self)
                UnsafeMutableRawPointer(p2 + j).storeBytes(of: odd.evenHalf, as: Vector.self)
                UnsafeMutableRawPointer(p3 + j).storeBytes(of: even.oddHalf, as: Vector.self)
                UnsafeMutableRawPointer(p0 + j + 1).storeBytes(of: odd.oddHalf, as: Vector.self)
                j += 8
            }
            for j in j..<whole {
                p1[j] = row[4 * j]
                p2[j] = row[4 * j + 1]
                p3[j] = row[4 * j + 2]
                p0[j + 1] = row[4 * j + 3]
            }
            for c in (4 * whole)..<width {
                phases[((c + 1) % 4) * planeSize + r + (c + 1) / 4] = row[c]
            }
        }
    }

    // MARK: 1-D transforms, on 8 tiles at once

    /// `Bᵀ d` for one column (or row) of a 6×6 patch.
    @inline(__always)
    private static func inputColumn(_ d0: Vector, _ d1: Vector, _ d2: Vector, _ d3: Vector, _ d4: Vector,
                                    _ d5: Vector) -> (Vector, Vector, Vector, Vector, Vector, Vector) {
        let four: Vector = .init(repeating: 4), five: Vector = .init(repeating: 5), two: Vector = .init(repeating: 2)
        let s12 = d1 + d2, d12 = d1 - d2, d42 = d4 - d2, d31 = d3 - d1
        return (four * d0 - five * d2 + d4,
                d4 + d3 - four * s12,
                d4 - d3 + four * d12,
                d42 + two * d31,
                d42 - two * d31,
                four * d1 - five * d3 + d5)
    }

    /// `Aᵀ m` for one column (or row) of a 6×6 product tile: four outputs.
    @inline(__always)
    private static func outputColumn(_ m0: Vector, _ m1: Vector, _ m2: Vector, _ m3: Vector, _ m4: Vector,
                                     _ m5: Vector) -> (Vector, Vector, Vector, Vector) {
        let s12 = m1 + m2, d12 = m1 - m2, s34 = m3 + m4, d34 = m3 - m4
        return (m0 + s12 + s34,
                d12 + 2 * d34,
                s12 + 4 * s34,
                d12 + 8 * d34 + m5)
    }

    /// `A y` for one column (or row) of a 4×4 gradient tile: six outputs.
    @inline(__always)
    private static func gradientColumn(_ y0: Vector, _ y1: Vector, _ y2: Vector, _ y3: Vector)
        -> (Vector, Vector, Vector, Vector, Vector, Vector) {
        let even = y0 + y2, odd = y1 + y3
        let even4 = y0 + 4 * y2, odd2 = 2 * y1 + 8 * y3
        return (y0, even + odd, even - odd, even4 + odd2, even4 - odd2, y3)
    }

    /// `G g` for one column (or row) of a 3×3 filter: six outputs.
    @inline(__always)
    private static func filterColumn(_ g0: Vector, _ g1: Vector, _ g2: Vector)
        -> (Vector, Vector, Vector, Vector, Vector, Vector) {
        let sixth: Vector = .init(repeating: 1.0 / 6), quarter: Vector = .init(repeating: 0.25)
        let outer = g0 * 0.25 + g2            // (g0/4 + g2)
        return (g0 * quarter,
                -(g0 + g1 + g2) * sixth,
                -(g0 - g1 + g2) * sixth,
                (outer + g1 * 0.5) * sixth,      // g0/24 + g1/12 + g2/6
                (outer - g1 * 0.5) * sixth,      // g0/24 − g1/12 + g2/6
                g2)
    }

    /// `Gᵀ u` for one column (or row) of a 6×6 filter gradient: three outputs.
    @inline(__always)
    private static func filterGradientColumn(_ u0: Vector, _ u1: Vector, _ u2: Vector, _ u3: Vector, _ u4: Vector,
                                             _ u5: Vector) -> (Vector, Vector, Vector) {
        let sixth: Vector = .init(repeating: 1.0 / 6)
        let s12 = u1 + u2, d21 = u2 - u1, s34 = u3 + u4, d34 = u3 - u4
        return (u0 * 0.25 + (s34 * 0.25 - s12) * sixth,
                (d21 + d34 * 0.5) * sixth,
                (s34 - s12) * sixth + u5)
    }

    /// `(a0, b0, c0, d0, a1, b1, …)`: four vectors interleaved into 32 floats.
    @inline(__always)
    private static func interleave(_ a: Vector, _ b: Vector, _ c: Vector, _ d: Vector) -> SIMD32<Float> {
        var out = SIMD32<Float>()
        for l in 0..<8 {
            out[4 * l] = a[l]
            out[4 * l + 1] = b[l]
            out[4 * l + 2] = c[l]
            out[4 * l + 3] = d[l]
        }
        return out
    }

    // MARK: Tile transforms

    func inputTransform(_ x: UnsafePointer<Float>, imageStride: Int, images: Int, v: UnsafeMutablePointer<Float>,
                        planeStride: Int, row: Int, scratch: UnsafeMutablePointer<Float>) {
        let (tW, perImage, stride, planeSize) = (tileColumns, tilesPerImage, phaseStride, phaseRows * phaseStride)
        let length = rowLength(images: images)
        let phases = scratch, d = scratch + phaseCount
        // The padding stays zero: each image only overwrites the entries it covers.
        phases.update(repeating: 0, count: phaseCount)
        for s in 0..<images {
            splitPhases(x + s * imageStride, into: phases)
            if tW % 8 == 0 {
                // Wide maps: whole vectors of 8 tiles straight from the phase planes, no gather.
                transformRows(phases, v: v + row + s * perImage, planeStride: planeStride, scratch: d)
                continue
            }
            // d[a·6 + b][tile] = padded[4ti + a][4tj + b]: one contiguous run of tW per (ti, a, b).
            for ti in 0..<tileRows {
                for a in 0..<6 {
                    for b in 0..<6 {
                        let source = phases + (b % 4) * planeSize + (4 * ti + a) * stride + b / 4
                        let target = d + (6 * a + b) * length + s * perImage + ti * tW
                        for tj in 0..<tW { target[tj] = source[tj] }
                    }
                }
            }
        }
        if tW % 8 == 0 { return }
        WinogradLanes.forEachBlock(images * perImage) { t, lanes in
            let p = d + t
            // Bᵀ over each column b (in place), then B over each row a into the 36 planes.
            for b in 0..<6 {
                let c = p + b * length, step = 6 * length
                let r = Self.inputColumn(load(c), load(c + step), load(c + 2 * step), load(c + 3 * step),
                                         load(c + 4 * step), load(c + 5 * step))
                store(r.0, c); store(r.1, c + step); store(r.2, c + 2 * step)
                store(r.3, c + 3 * step); store(r.4, c + 4 * step); store(r.5, c + 5 * step)
            }
            for a in 0..<6 {
                let c = p + 6 * a * length
                let r = Self.inputColumn(load(c), load(c + length), load(c + 2 * length), load(c + 3 * length),
                                         load(c + 4 * length), load(c + 5 * length))
                let out = v + 6 * a * planeStride + row + t
                WinogradLanes.store(r, out, stride: planeStride, lanes: lanes)
            }
        }
    }

    /// The input transform of one image whose tile rows are whole vectors (`tW` a multiple of 8),
    /// read straight from its phase planes; `v` points at the image's first tile in plane 0.
    /// `scratch` holds 36 vectors.
    private func transformRows(_ phases: UnsafePointer<Float>, v: UnsafeMutablePointer<Float>, planeStride: Int,
                               scratch: UnsafeMutablePointer<Float>) {
        let (stride, planeSize) = (phaseStride, phaseRows * phaseStride)
        for ti in 0..<tileRows {
            for tj in Swift.stride(from: 0, to: tileColumns, by: 8) {
                // B over each row a: columns b = 0 … 5 are phases 0 … 3 at tj, then 0 and 1 at tj + 1.
                for a in 0..<6 {
                    let p = phases + (4 * ti + a) * stride + tj
                    let r = Self.inputColumn(load(p), load(p + planeSize), load(p + 2 * planeSize), load(p + 3 * planeSize),
                                             load(p + 1), load(p + planeSize + 1))
                    let t = scratch + 48 * a
                    store(r.0, t); store(r.1, t + 8); store(r.2, t + 16); store(r.3, t + 24); store(r.4, t + 32); store(r.5, t + 40)
                }
                // Bᵀ over each column b into the planes ξ = 6a + b.
                let out = v + ti * tileColumns + tj
                for b in 0..<6 {
                    let c = scratch + 8 * b
                    let r = Self.inputColumn(load(c), load(c + 48), load(c + 96), load(c + 144), load(c + 192), load(c + 240))
                    let o = out + b * planeStride
                    store(r.0, o); store(r.1, o + 6 * planeStride); store(r.2, o + 12 * planeStride)
                    store(r.3, o + 18 * planeStride); store(r.4, o + 24 * planeStride); store(r.5, o + 30 * planeStride)
                }
            }
        }
    }

    func outputTransform(m: UnsafePointer<Float>, planeStride: Int, row: Int, images: Int, bias: Float,
                         y: UnsafeMutablePointer<Float>, imageStride: Int, scratch: UnsafeMutablePointer<Float>) {
        let (tW, perImage) = (tileColumns, tilesPerImage)
        let length = rowLength(images: images)
        let out = scratch, rows = scratch + 16 * length
        let b = Vector(repeating: bias)
        // Wide maps: every block of 8 tiles lies in one tile row, and its four output rows are
        // written straight to the plane, interleaved by vector shuffles.
        let direct = tW % 8 == 0 && width % 4 == 0
        WinogradLanes.forEachBlock(images * perImage) { t, _ in
            let p = m + row + t
            // Aᵀ over each column b of the 6×6 products: rows[i·6 + b], i < 4 …
            for column in 0..<6 {
                let c = p + column * planeStride, step = 6 * planeStride
                let r = Self.outputColumn(load(c), load(c + step), load(c + 2 * step), load(c + 3 * step),
                                          load(c + 4 * step), load(c + 5 * step))
                store(r.0, rows + 8 * column); store(r.1, rows + 8 * (6 + column))
                store(r.2, rows + 8 * (12 + column)); store(r.3, rows + 8 * (18 + column))
            }
            if direct {
                let (image, tile) = t.quotientAndRemainder(dividingBy: perImage)
                let (ti, tj) = tile.quotientAndRemainder(dividingBy: tW)
                for i in 0..<Swift.min(4, height - 4 * ti) {
                    let c = rows + 48 * i
                    let r = Self.outputColumn(load(c), load(c + 8), load(c + 16), load(c + 24), load(c + 32), load(c + 40))
                    let target = y + image * imageStride + (4 * ti + i) * width + 4 * tj
                    UnsafeMutableRawPointer(target).storeBytes(of: Self.interleave(r.0 + b, r.1 + b, r.2 + b, r.3 + b),
                                                               as: SIMD32<Float>.self)
                }
                return
            }
            // … then over each row i: out[i·4 + j][tile].
            for i in 0..<4 {
                let c = rows + 48 * i
                let r = Self.outputColumn(load(c), load(c + 8), load(c + 16), load(c + 24), load(c + 32), load(c + 40))
                let o = out + 4 * i * length + t
                store(r.0 + b, o); store(r.1 + b, o + length); store(r.2 + b, o + 2 * length); store(r.3 + b, o + 3 * length)
            }
        }
        if direct { return }
        for s in 0..<images {
            let plane = y + s * imageStride
            for ti in 0..<tileRows {
                for i in 0..<Swift.min(4, height - 4 * ti) {
                    let target = plane + (4 * ti + i) * width
                    let source = out + 4 * i * length + s * perImage + ti * tW
                    if width % 4 == 0 {
                        for tj in 0..<tW {
                            for j in 0..<4 { target[4 * tj + j] = source[j * length + tj] }
                        }
                    } else {
                        for col in 0..<width { target[col] = source[(col % 4) * length + col / 4] }
                    }
                }
            }
        }
    }

    func gradientTransform(_ dy: UnsafePointer<Float>, imageStride: Int, images: Int, v: UnsafeMutablePointer<Float>,
                           planeStride: Int, row: Int, scratch: UnsafeMutablePointer<Float>) {
        let (tW, perImage) = (tileColumns, tilesPerImage)
        let length = rowLength(images: images)
        let g = scratch, rows = scratch + 16 * length
        // g[i·4 + j][tile] = dY[4ti + i][4tj + j], zero past the map.
        for s in 0..<images {
            let plane = dy + s * imageStride
            for ti in 0..<tileRows {
                for i in 0..<4 {
                    let h = 4 * ti + i
                    var first = 0
                    if h < height, width % 4 == 0 {
                        // 8 tiles at a time: a 32-float row split by column phase (vector shuffles).
                        let source = plane + h * width
                        let target = g + 4 * i * length + s * perImage + ti * tW
                        while first + 8 <= tW {
                            let q = UnsafeRawPointer(source + 4 * first).loadUnaligned(as: SIMD32<Float>.self)
                            let (even, odd) = (q.evenHalf, q.oddHalf)
                            store(even.evenHalf, target + first)
                            store(odd.evenHalf, target + length + first)
                            store(even.oddHalf, target + 2 * length + first)
                            store(odd.oddHalf, target + 3 * length + first)
                            first += 8
                        }
                    }
                    for j in 0..<4 {
                        let target = g + (4 * i + j) * length + s * perImage + ti * tW + first
                        let rest = tW - first
                        if h < height {
                            let source = plane + h * width + 4 * first
                            for tj in 0..<rest {
                                let col = 4 * (first + tj) + j
                                target[tj] = col < width ? source[4 * tj + j] : 0
                            }
                        } else {
                            target.update(repeating: 0, count: rest)
                        }
                    }
                }
            }
        }
        WinogradLanes.forEachBlock(images * perImage) { t, lanes in
            let p = g + t
            // A over each column j: rows[a·4 + j], a < 6 …
            for j in 0..<4 {
                let c = p + j * length, step = 4 * length
                let r = Self.gradientColumn(load(c), load(c + step), load(c + 2 * step), load(c + 3 * step))
                store(r.0, rows + 8 * j); store(r.1, rows + 8 * (4 + j)); store(r.2, rows + 8 * (8 + j))
                store(r.3, rows + 8 * (12 + j)); store(r.4, rows + 8 * (16 + j)); store(r.5, rows + 8 * (20 + j))
            }
            // … then over each row a into the 36 planes.
            for a in 0..<6 {
                let c = rows + 32 * a
                let r = Self.gradientColumn(load(c), load(c + 8), load(c + 16), load(c + 24))
                let out = v + 6 * a * planeStride + row + t
                WinogradLanes.store(r, out, stride: planeStride, lanes: lanes)
            }
        }
    }

    // MARK: Filter transforms, on 8 filters at once

    static func transformFilters(_ w: UnsafePointer<Float>, count: Int, filterStride: Int, flipped: Bool,
                                 into u: UnsafeMutablePointer<Float>, stride: Int) {
        withUnsafeTemporaryAllocation(of: Vector.self, capacity: 27) { buffer in
            let taps = buffer.baseAddress!, q = taps + 9
            WinogradLanes.forEachBlock(count) { k, lanes in
                WinogradLanes.gatherTaps(w + k * filterStride, filterStride: filterStride, flipped: flipped, lanes: lanes,
                                         into: taps)
                // G g over the columns j (q[a·3 + j]), then Gᵀ over each row a.
                for j in 0..<3 {
                    let r = filterColumn(taps[j], taps[3 + j], taps[6 + j])
                    q[j] = r.0; q[3 + j] = r.1; q[6 + j] = r.2; q[9 + j] = r.3; q[12 + j] = r.4; q[15 + j] = r.5
                }
                for a in 0..<6 {
                    let r = filterColumn(q[3 * a], q[3 * a + 1], q[3 * a + 2])
                    let out = u + 6 * a * stride + k
                    WinogradLanes.store(r, out, stride: stride, lanes: lanes)
                }
            }
        }
    }

    static func filterGradients(_ du: UnsafePointer<Float>, count: Int, stride: Int, into dg: UnsafeMutablePointer<Float>) {
        withUnsafeTemporaryAllocation(of: Vector.self, capacity: 18) { buffer in
            let h = buffer.baseAddress!
            WinogradLanes.forEachBlock(count) { k, lanes in
                // Gᵀ over each row a (h[a·3 + j]) …
                for a in 0..<6 {
                    let p = du + 6 * a * stride + k
                    let r = filterGradientColumn(
                        WinogradLanes.load(p, lanes: lanes), WinogradLanes.load(p + stride, lanes: lanes),
                        WinogradLanes.load(p + 2 * stride, lanes: lanes), WinogradLanes.load(p + 3 * stride, lanes: lanes),
                        WinogradLanes.load(p + 4 * stride, lanes: lanes), WinogradLanes.load(p + 5 * stride, lanes: lanes))
                    h[3 * a] = r.0; h[3 * a + 1] = r.1; h[3 * a + 2] = r.2
                }
                // … then over each column j into the 3×3 gradients.
                for j in 0..<3 {
                    let r = filterGradientColumn(h[j], h[3 + j], h[6 + j], h[9 + j], h[12 + j], h[15 + j])
                    let out = dg + 9 * k + j
                    WinogradLanes.scatter(r.0, out, stride: 9, lanes: lanes)
                    WinogradLanes.scatter(r.1, out + 3, stride: 9, lanes: lanes)
                    WinogradLanes.scatter(r.2, out + 6, stride: 9, lanes: lanes)
                }
            }
        }
    }

    @inline(__always) private func load(_ p: UnsafePointer<Float>) -> Vector { WinogradLanes.load(p) }
    @inline(__always) private func store(_ v: Vector, _ p: UnsafeMutablePointer<Float>) { WinogradLanes.store(v, p, 8) }
}
