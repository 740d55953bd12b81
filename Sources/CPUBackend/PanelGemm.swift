/// A small single-threaded GEMM for the Winograd products: `C[m × n] = A · B`, with `A` already
/// laid out in 8-row panels and `B`, `C` plain row-major.
///
/// The Winograd products are many narrow GEMMs (`[Cout × Cin] × [Cin × tiles]`, 16 or 36 per
/// chunk of tiles). Through OpenBLAS each call repacks both operands and clears `C` before it
/// accumulates: at 64 channels and 256 tiles the packing and clearing were ~15% of a sampling
/// step. Here the filter transform writes `A` straight into the panel layout (so a cached filter
/// bank is packed once for the life of the weights), `B` is read where the input transform put
/// it, and each block of `C` is stored once from registers. Measured single-threaded on Zen 4
/// (AVX-512), against OpenBLAS's Haswell kernels on the same operands:
/// `[64 × 64] × [64 × 256]` 108 vs 81-88 GFLOP/s, `[512 × 512] × [512 × 64]` 99-104 vs 72-78.
/// With AVX2 (a Zen without AVX-512, best of 40 single-threaded runs, OpenBLAS packing
/// included): the narrow products of small models gain most, `[16 × 16] × [16 × 128]` 70 vs
/// 50 GFLOP/s, `[32 × 48] × [48 × 128]` 85 vs 70; from 64 channels up the two are within
/// about 10% of each other either way.
///
/// Layout of `A` (`m × k`, `m` a multiple of ``rows``): panel `p` holds rows `8p ..< 8p + 8`,
/// column by column, so `A[i][j]` is at `(i / 8) · 8k + 8j + i % 8`. With AVX-512 the
/// micro-kernel keeps a `[8 × 32]` block of `C` in 16 vector registers; per step of `k` it loads
/// two vectors of a row of `B` and broadcasts the eight values of a column of the panel (16 fused
/// multiply-adds per 10 loads, so the multiply units, not the loads, set the pace). AVX2 has 16
/// registers of 8 floats: there a `[4 × 16]` quarter of that block (8 accumulators, two vectors
/// of `B`, one broadcast: 11 registers, 8 fused multiply-adds per 6 loads) runs over the panel's
/// upper and lower four rows in turn.
///
/// Every entry of `C` is the same chain on both: `c ← fma(a[i][p], b[p][j], c)` for `p = 0 ..< k`
/// in order, from 0 (or from `C` when accumulating). So AVX2 and AVX-512 builds give the same
/// bits, and the products' only difference from a textbook loop is one rounding per step.
///
/// ```swift
/// // U packed by the filter transform, V[cin × 64] from the input transform:
/// PanelGemm.multiply(m: 512, n: 64, k: 512, a: u, b: v, ldb: 64, c: m, ldc: 64)
/// ```
enum PanelGemm {
    /// Rows of `A` (and `C`) per panel.
    static let rows = 8
    /// Columns of the narrowest micro-kernel: 16 floats (one AVX-512 vector, two AVX2 ones).
    static let columnStep = 16

    /// Whether this build has fused multiply-adds in vector registers: AVX-512 (the `[8 × 32]`
    /// micro-kernel) or AVX2 + FMA (`[4 × 16]` quarters of it). A portable build has no FMA
    /// instruction (each `addingProduct` would be a libm call), so OpenBLAS does its products.
    static var isAvailable: Bool {
        #if DDPM_CPU_TARGET_AVX512 || DDPM_CPU_TARGET_AVX2
        return true
        #else
        return false
        #endif
    }

    /// Whether an `A` of `m` rows can be laid out in panels.
    static func canPack(rows m: Int) -> Bool { m > 0 && m % rows == 0 }

    /// Offset of the first of 8 consecutive rows' entries in one column: lanes `l` of rows
    /// `firstRow + l` (with `firstRow` a multiple of 8) of column `column` are at this offset + `l`.
    static func panelOffset(firstRow: Int, column: Int, columns: Int) -> Int {
        firstRow * columns + column * rows
    }

    /// Floats of a packed `m × k` matrix: `m` rounded up to whole panels (extra rows are zero).
    static func packedCount(m: Int, k: Int) -> Int { (m + rows - 1) / rows * rows * k }

    /// `α · op(A)` (`m × k`; `op(A) = Aᵀ` with `transposed`, rows `lda` apart as stored) into
    /// panels at `p` (``packedCount(m:k:)`` floats); rows past `m` are zero.
    static func pack(_ a: UnsafePointer<Float>, lda: Int, transposed: Bool, m: Int, k: Int, alpha: Float = 1,
                     into p: UnsafeMutablePointer<Float>) {
        for panel in 0..<((m + rows - 1) / rows) {
            let first = panel * rows
            let valid = Swift.min(rows, m - first)
            let out = p + first * k
            if transposed {
                // op(A)[i][j] = A[j][i]: a panel's column j is 8 consecutive floats of A's row j.
                for j in 0..<k {
                    let source = a + j * lda + first
                    for r in 0..<rows { out[j * rows + r] = r < valid ? alpha * source[r] : 0 }
                }
            } else {
                for r in 0..<rows {
                    guard r < valid else {
                        for j in 0..<k { out[j * rows + r] = 0 }
                        continue
                    }
                    let source = a + (first + r) * lda
                    for j in 0..<k { out[j * rows + r] = alpha * source[j] }
                }
            }
        }
    }

    /// Columns of `B` one pass over the panels works on: `k × columns` floats of `B` are read
    /// once per panel, so they should stay in L2 (256 KiB of a core's 1-2 MiB).
    static func columnBlock(k: Int) -> Int {
        Swift.max(2 * columnStep, (1 << 16) / Swift.max(k, 1) / (2 * columnStep) * (2 * columnStep))
    }

    /// `C = A · B` (or `C += A · B` with `accumulate`) for `A` (`m × k`) packed by
    /// ``pack(_:lda:transposed:m:k:alpha:into:)``, `B` (`k × n`, rows `ldb` apart) and `C`
    /// (`m × n`, rows `ldc` apart). Any `m` and `n`: a last partial panel or a last block of fewer
    /// than 16 columns goes through a small zero-padded scratch block, so nothing is read or
    /// written outside `B` and `C`.
    static func multiply(m: Int, n: Int, k: Int, a: UnsafePointer<Float>, b: UnsafePointer<Float>, ldb: Int,
                         c: UnsafeMutablePointer<Float>, ldc: Int, accumulate: Bool = false) {
        guard m > 0, n > 0 else { return }
        let panels = (m + rows - 1) / rows
        let block = columnBlock(k: k)
        var tail: UnsafeMutablePointer<Float>?
        var staged: UnsafeMutablePointer<Float>?
        defer { tail?.deallocate(); staged?.deallocate() }
        let stage = stagesColumns(k: k, ldb: ldb, panels: panels)
        var j0 = 0
        while j0 < n {
            let width = Swift.min(block, n - j0)
            let whole = width / columnStep * columnStep
            // The block's whole vectors of columns, staged into slices when that pays.
            var stagedBlock: UnsafePointer<Float>?
            if stage, whole > 0 {
                let buffer = staged ?? UnsafeMutablePointer<Float>.allocate(capacity: k * block)
                staged = buffer
                var j = 0
                while j < whole {
                    let width = Swift.min(stagedSlice, whole - j)
                    let out = buffer + j * k
                    for row in 0..<k { (out + row * width).update(from: b + row * ldb + j0 + j, count: width) }
                    j += stagedSlice
                }
                stagedBlock = UnsafePointer(buffer)
            }
            let operand = { (j: Int) in
                columns(j, staged: stagedBlock, whole: whole, k: k, inPlace: b + j0, ldb: ldb)
            }
            // The last few columns, zero-padded to one vector, copied once for every panel.
            if whole < width {
                let padded = tail ?? UnsafeMutablePointer<Float>.allocate(capacity: k * columnStep + rows * columnStep)
                tail = padded
                for row in 0..<k {
                    let out = padded + row * columnStep
                    out.initialize(repeating: 0, count: columnStep)
                    out.update(from: b + row * ldb + j0 + whole, count: width - whole)
                }
            }
            for panel in 0..<panels {
                let (aPanel, first) = (a + panel * rows * k, panel * rows)
                let valid = Swift.min(rows, m - first)
                let cRows = c + first * ldc + j0
                if valid == rows {
                    var j = 0
                    while j + 2 * columnStep <= whole {
                        let (source, stride) = operand(j)
                        block8x32(k: k, a: aPanel, b: source, ldb: stride, c: cRows + j, ldc: ldc, accumulate: accumulate)
                        j += 2 * columnStep
                    }
                    if j < whole {
                        let (source, stride) = operand(j)
                        block8x16(k: k, a: aPanel, b: source, ldb: stride, c: cRows + j, ldc: ldc, accumulate: accumulate)
                    }
                } else {
                    var j = 0
                    while j < whole {
                        let (source, stride) = operand(j)
                        scratchBlock(k: k, a: aPanel, b: source, ldb: stride, c: cRows + j, ldc: ldc,
                                     rows: valid, columns: columnStep, accumulate: accumulate)
                        j += columnStep
                    }
                }
                if whole < width, let padded = tail {
                    scratchBlock(k: k, a: aPanel, b: padded, ldb: columnStep, c: cRows + whole, ldc: ldc,
                                 rows: valid, columns: width - whole, accumulate: accumulate)
                }
            }
            j0 += width
        }
    }

    /// Columns per staged slice: one 8×32 block's worth.
    static let stagedSlice = 2 * columnStep

    /// Where columns `j ...` of the current block of `B` are read, and their row stride: in place
    /// (`inPlace + j`, rows `ldb` apart), or in the staged block, whose `stagedSlice`-column
    /// slices are each stored contiguously (`[k][32]`, the last maybe `[k][16]`).
    @inline(__always)
    private static func columns(_ j: Int, staged: UnsafePointer<Float>?, whole: Int, k: Int,
                                inPlace: UnsafePointer<Float>, ldb: Int) -> (UnsafePointer<Float>, Int) {
        guard let staged else { return (inPlace + j, ldb) }
        let start = j / stagedSlice * stagedSlice
        return (staged + start * k + j - start, Swift.min(stagedSlice, whole - start))
    }

    /// Whether each block of `B`'s columns is first copied into contiguous 32-column slices:
    /// when the `k` rows of a slice lie on more distinct 4 KiB pages than the L1 TLB holds
    /// alongside `A` and `C` (48 here; Zen 4 has 72 entries), and there are panels enough to
    /// repay the copy. Measured on Zen 4: `[32 × 128] × [128 × 1024]` (one 32×32 image, rows
    /// 4 KiB apart) ran at 50-70 GFLOP/s read in place, against 65-85 for OpenBLAS; the Winograd
    /// planes (rows of 64-256 floats) span few pages and read fastest in place.
    static func stagesColumns(k: Int, ldb: Int, panels: Int) -> Bool {
        let pages = Swift.min(k, k * ldb * MemoryLayout<Float>.size / 4096)
        return panels >= 2 && pages > 48
    }

    /// One `[rows × columns]` corner of `C` (at most 8 × 16) through a scratch block, so the
    /// micro-kernel's whole-vector loads and stores stay inside it.
    private static func scratchBlock(k: Int, a: UnsafePointer<Float>, b: UnsafePointer<Float>, ldb: Int,
                                     c: UnsafeMutablePointer<Float>, ldc: Int, rows valid: Int, columns: Int,
                                     accumulate: Bool) {
        withUnsafeTemporaryAllocation(of: Float.self, capacity: rows * columnStep) { buffer in
            let scratch = buffer.baseAddress!
            scratch.initialize(repeating: 0, count: rows * columnStep)
            if accumulate {
                for r in 0..<valid { (scratch + r * columnStep).update(from: c + r * ldc, count: columns) }
            }
            block8x16(k: k, a: a, b: b, ldb: ldb, c: scratch, ldc: columnStep, accumulate: true)
            for r in 0..<valid { (c + r * ldc).update(from: scratch + r * columnStep, count: columns) }
        }
    }

    #if DDPM_CPU_TARGET_AVX512
    /// AVX-512: 16 floats per register.
    typealias Vector = SIMD16<Float>

    @inline(__always)
    private static func load(_ p: UnsafePointer<Float>) -> Vector {
        UnsafeRawPointer(p).loadUnaligned(as: Vector.self)
    }

    @inline(__always)
    private static func store(_ v: Vector, _ p: UnsafeMutablePointer<Float>) {
        UnsafeMutableRawPointer(p).storeBytes(of: v, as: Vector.self)
    }

    /// `C[8 × 32] = panel · B[k × 32]`: sixteen accumulators, written out once.
    @inline(never)
    private static func block8x32(k: Int, a: UnsafePointer<Float>, b: UnsafePointer<Float>, ldb: Int,
                                  c: UnsafeMutablePointer<Float>, ldc: Int, accumulate: Bool) {
        let high = columnStep
        var (c00, c01, c10, c11) = (Vector(), Vector(), Vector(), Vector())
        var (c20, c21, c30, c31) = (Vector(), Vector(), Vector(), Vector())
        var (c40, c41, c50, c51) = (Vector(), Vector(), Vector(), Vector())
        var (c60, c61, c70, c71) = (Vector(), Vector(), Vector(), Vector())
        if accumulate {
            (c00, c01, c10, c11) = (load(c), load(c + high), load(c + ldc), load(c + ldc + high))
            (c20, c21, c30, c31) = (load(c + 2 * ldc), load(c + 2 * ldc + high), load(c + 3 * ldc), load(c + 3 * ldc + high))
            (c40, c41, c50, c51) = (load(c + 4 * ldc), load(c + 4 * ldc + high), load(c + 5 * ldc), load(c + 5 * ldc + high))
            (c60, c61, c70, c71) = (load(c + 6 * ldc), load(c + 6 * ldc + high), load(c + 7 * ldc), load(c + 7 * ldc + high))
        }
        var (ap, bp) = (a, b)
        for _ in 0..<k {
            let (b0, b1) = (load(bp), load(bp + columnStep))
            var s = Vector(repeating: ap[0])
            c00 = c00.addingProduct(s, b0); c01 = c01.addingProduct(s, b1)
            s = Vector(repeating: ap[1])
            c10 = c10.addingProduct(s, b0); c11 = c11.addingProduct(s, b1)
            s = Vector(repeating: ap[2])
            c20 = c20.addingProduct(s, b0); c21 = c21.addingProduct(s, b1)
            s = Vector(repeating: ap[3])
            c30 = c30.addingProduct(s, b0); c31 = c31.addingProduct(s, b1)
            s = Vector(repeating: ap[4])
            c40 = c40.addingProduct(s, b0); c41 = c41.addingProduct(s, b1)
            s = Vector(repeating: ap[5])
            c50 = c50.addingProduct(s, b0); c51 = c51.addingProduct(s, b1)
            s = Vector(repeating: ap[6])
            c60 = c60.addingProduct(s, b0); c61 = c61.addingProduct(s, b1)
            s = Vector(repeating: ap[7])
            c70 = c70.addingProduct(s, b0); c71 = c71.addingProduct(s, b1)
            ap += rows
            bp += ldb
        }
        store(c00, c); store(c01, c + high)
        store(c10, c + ldc); store(c11, c + ldc + high)
        store(c20, c + 2 * ldc); store(c21, c + 2 * ldc + high)
        store(c30, c + 3 * ldc); store(c31, c + 3 * ldc + high)
        store(c40, c + 4 * ldc); store(c41, c + 4 * ldc + high)
        store(c50, c + 5 * ldc); store(c51, c + 5 * ldc + high)
        store(c60, c + 6 * ldc); store(c61, c + 6 * ldc + high)
        store(c70, c + 7 * ldc); store(c71, c + 7 * ldc + high)
    }

    /// `C[8 × 16] = panel · B[k × 16]`: the last 16 columns when `n` is an odd number of vectors.
    @inline(never)
    private static func block8x16(k: Int, a: UnsafePointer<Float>, b: UnsafePointer<Float>, ldb: Int,
                                  c: UnsafeMutablePointer<Float>, ldc: Int, accumulate: Bool) {
        var (c0, c1, c2, c3) = (Vector(), Vector(), Vector(), Vector())
        var (c4, c5, c6, c7) = (Vector(), Vector(), Vector(), Vector())
        if accumulate {
            (c0, c1, c2, c3) = (load(c), load(c + ldc), load(c + 2 * ldc), load(c + 3 * ldc))
            (c4, c5, c6, c7) = (load(c + 4 * ldc), load(c + 5 * ldc), load(c + 6 * ldc), load(c + 7 * ldc))
        }
        var (ap, bp) = (a, b)
        for _ in 0..<k {
            let b0 = load(bp)
            c0 = c0.addingProduct(Vector(repeating: ap[0]), b0)
            c1 = c1.addingProduct(Vector(repeating: ap[1]), b0)
            c2 = c2.addingProduct(Vector(repeating: ap[2]), b0)
            c3 = c3.addingProduct(Vector(repeating: ap[3]), b0)
            c4 = c4.addingProduct(Vector(repeating: ap[4]), b0)
            c5 = c5.addingProduct(Vector(repeating: ap[5]), b0)
            c6 = c6.addingProduct(Vector(repeating: ap[6]), b0)
            c7 = c7.addingProduct(Vector(repeating: ap[7]), b0)
            ap += rows
            bp += ldb
        }
        store(c0, c); store(c1, c + ldc); store(c2, c + 2 * ldc); store(c3, c + 3 * ldc)
        store(c4, c + 4 * ldc); store(c5, c + 5 * ldc); store(c6, c + 6 * ldc); store(c7, c + 7 * ldc)
    }
    #else
    /// AVX2: 8 floats per register.
    typealias Half = SIMD8<Float>

    @inline(__always)
    private static func load(_ p: UnsafePointer<Float>) -> Half {
        UnsafeRawPointer(p).loadUnaligned(as: Half.self)
    }

    @inline(__always)
    private static func store(_ v: Half, _ p: UnsafeMutablePointer<Float>) {
        UnsafeMutableRawPointer(p).storeBytes(of: v, as: Half.self)
    }

    /// `C[8 × 32] = panel · B[k × 32]` as two `[8 × 16]` blocks (AVX2 has registers for one quarter at a time).
    @inline(never)
    private static func block8x32(k: Int, a: UnsafePointer<Float>, b: UnsafePointer<Float>, ldb: Int,
                                  c: UnsafeMutablePointer<Float>, ldc: Int, accumulate: Bool) {
        block8x16(k: k, a: a, b: b, ldb: ldb, c: c, ldc: ldc, accumulate: accumulate)
        block8x16(k: k, a: a, b: b + columnStep, ldb: ldb, c: c + columnStep, ldc: ldc, accumulate: accumulate)
    }

    /// Steps of `k` per pass over the panel's two halves: the `[depthSlice × 16]` slice of `B`
    /// the upper half reads (4 KiB) is still in L1 when the lower half reads it again. Over the
    /// whole of a long `k` (512 at the 35.7M Unet's 4×4 maps: 32 KiB, all of L1) the second
    /// pass read it from L2: `[512 × 512] × [512 × 64]` ran at 0.83x OpenBLAS's speed, with
    /// slices of 64 at 1.0x (128: 0.92x, 256: 0.88x; single-threaded, AVX2 Zen, best of 40).
    /// Between slices `C` goes through memory, which leaves each entry's chain of fused
    /// multiply-adds as it was.
    static let depthSlice = 64

    /// `C[8 × 16] = panel · B[k × 16]`: per slice of `k`, the panel's upper four rows, then its lower four.
    @inline(never)
    private static func block8x16(k: Int, a: UnsafePointer<Float>, b: UnsafePointer<Float>, ldb: Int,
                                  c: UnsafeMutablePointer<Float>, ldc: Int, accumulate: Bool) {
        var p = 0
        repeat {
            let depth = Swift.min(depthSlice, k - p)
            let (slice, sliceB, onto) = (a + p * rows, b + p * ldb, accumulate || p > 0)
            block4x16(k: depth, a: slice, b: sliceB, ldb: ldb, c: c, ldc: ldc, accumulate: onto)
            block4x16(k: depth, a: slice + rows / 2, b: sliceB, ldb: ldb, c: c + rows / 2 * ldc, ldc: ldc,
                      accumulate: onto)
            p += depth
        } while p < k
    }

    /// `C[4 × 16] = A[4 rows of a panel] · B[k × 16]`: eight accumulators of 8 floats; `a` points
    /// at the first of the four rows' entries in the panel's first column (columns `rows` apart).
    @inline(__always)
    private static func block4x16(k: Int, a: UnsafePointer<Float>, b: UnsafePointer<Float>, ldb: Int,
                                  c: UnsafeMutablePointer<Float>, ldc: Int, accumulate: Bool) {
        let high = columnStep / 2
        var (c00, c01, c10, c11) = (Half(), Half(), Half(), Half())
        var (c20, c21, c30, c31) = (Half(), Half(), Half(), Half())
        if accumulate {
            (c00, c01, c10, c11) = (load(c), load(c + high), load(c + ldc), load(c + ldc + high))
            (c20, c21, c30, c31) = (load(c + 2 * ldc), load(c + 2 * ldc + high), load(c + 3 * ldc), load(c + 3 * ldc + high))
        }
        var (ap, bp) = (a, b)
        for _ in 0..<k {
            let (b0, b1) = (load(bp), load(bp + high))
            var s = Half(repeating: ap[0])
            c00 = c00.addingProduct(s, b0); c01 = c01.addingProduct(s, b1)
            s = Half(repeating: ap[1])
            c10 = c10.addingProduct(s, b0); c11 = c11.addingProduct(s, b1)
            s = Half(repeating: ap[2])
            c20 = c20.addingProduct(s, b0); c21 = c21.addingProduct(s, b1)
            s = Half(repeating: ap[3])
            c30 = c30.addingProduct(s, b0); c31 = c31.addingProduct(s, b1)
            ap += rows
            bp += ldb
        }
        store(c00, c); store(c01, c + high)
        store(c10, c + ldc); store(c11, c + ldc + high)
        store(c20, c + 2 * ldc); store(c21, c + 2 * ldc + high)
        store(c30, c + 3 * ldc); store(c31, c + 3 * ldc + high)
    }
    #endif
}
