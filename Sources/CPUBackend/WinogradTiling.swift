/// One Winograd variant F(m×m, 3×3): its tile geometry and its four transforms, each run over
/// every tile of one channel in a chunk of images.
///
/// A convolution through Winograd is `Y = Aᵀ [U ⊙ V] A` per output tile, with `U = G g Gᵀ`
/// (the filters) and `V = Bᵀ d B` (the input patches). Transformed tensors are stored as
/// ``positions`` planes, one per position ξ of the `(m + 2)²` tile, each a row-major
/// `[channels, tiles]` matrix, so the products over channels become ``positions`` GEMMs.
/// Tiles are numbered `image·T + ti·tW + tj` within a chunk of images (T tiles per image);
/// edge tiles of maps that are not a multiple of m read zeros and drop their extra outputs.
///
/// Larger tiles save more multiplies (F(2×2): 36/16 = 2.25x, F(4×4): 144/36 = 4x) but need
/// transforms with larger coefficients, which cost more additions and a little accuracy (still
/// below 1e-6 relative for 3×3 filters, far inside the convolution's conformance bound).
protocol WinogradTiling {
    /// Tile positions ξ, `(m + 2)²`: the number of products.
    static var positions: Int { get }
    /// Extra floats a transformed tensor needs after its last tile, for whole-vector loads.
    static var slack: Int { get }
    /// Fewest tiles a chunk of images should have when the wider of the convolution's sides has
    /// `channels` channels: narrower GEMMs lose more to OpenBLAS's per-call packing, wider
    /// chunks spill the transformed tensors out of L2.
    static func minimumChunkTiles(channels: Int) -> Int

    init(height: Int, width: Int)

    /// The map's height and width.
    var height: Int { get }
    var width: Int { get }

    /// Tiles per image, T.
    var tilesPerImage: Int { get }

    /// Floats of scratch one call of a transform needs for a chunk of `images` images.
    func scratchCount(images: Int) -> Int

    /// `V[ξ][channel][tile] = (Bᵀ d B)[ξ]` for every tile of one channel of `images` images
    /// (`[H, W]` planes `imageStride` floats apart from `x`). `planeStride` is the distance
    /// between two ξ planes of `v`, `row` this channel's offset in a plane (channel · tiles).
    func inputTransform(_ x: UnsafePointer<Float>, imageStride: Int, images: Int, v: UnsafeMutablePointer<Float>,
                        planeStride: Int, row: Int, scratch: UnsafeMutablePointer<Float>)

    /// One output channel of `images` images from `M[ξ][channel][tile]`: `Y = Aᵀ M A + bias`.
    func outputTransform(m: UnsafePointer<Float>, planeStride: Int, row: Int, images: Int, bias: Float,
                         y: UnsafeMutablePointer<Float>, imageStride: Int, scratch: UnsafeMutablePointer<Float>)

    /// `Ŷ[ξ][channel][tile] = (A dY Aᵀ)[ξ]` for the output-gradient tiles of one channel (zeros
    /// past the map): the transform the weight gradient needs, the adjoint of the output one.
    func gradientTransform(_ dy: UnsafePointer<Float>, imageStride: Int, images: Int, v: UnsafeMutablePointer<Float>,
                           planeStride: Int, row: Int, scratch: UnsafeMutablePointer<Float>)

    /// `U[ξ · stride + k] = (G g_k Gᵀ)[ξ]` for `count` 3×3 filters `g_k` (row-major, at
    /// `w + k · filterStride`); with `flipped`, each filter is rotated by 180° first (the
    /// backward-data convolution). Eight filters land in eight consecutive floats of each plane,
    /// which is also one column of a ``PanelGemm`` panel.
    static func transformFilters(_ w: UnsafePointer<Float>, count: Int, filterStride: Int, flipped: Bool,
                                 into u: UnsafeMutablePointer<Float>, stride: Int)

    /// `dg_k = Gᵀ dU_k G` for `count` filters, `dU_k[ξ]` at `du + ξ · stride + k`; the 3×3
    /// gradients are written row-major to `dg + 9k`.
    static func filterGradients(_ du: UnsafePointer<Float>, count: Int, stride: Int, into dg: UnsafeMutablePointer<Float>)
}

/// 8-lane helpers shared by the Winograd transforms, which run each 1-D transform on 8 tiles
/// (or 8 filters) at once.
enum WinogradLanes {
    typealias Vector = SIMD8<Float>

    /// 8 floats from `p` (the caller guarantees they are allocated; lanes past the data are unused).
    @inline(__always)
    static func load(_ p: UnsafePointer<Float>) -> Vector {
        UnsafeRawPointer(p).loadUnaligned(as: Vector.self)
    }

    /// The first `lanes` floats of `v` to `p`.
    @inline(__always)
    static func store(_ v: Vector, _ p: UnsafeMutablePointer<Float>, _ lanes: Int) {
        if lanes == 8 {
            UnsafeMutableRawPointer(p).storeBytes(of: v, as: Vector.self)
        } else {
            for k in 0..<lanes { p[k] = v[k] }
        }
    }

    /// The first `lanes` floats from `p`, zero beyond (never reads past them).
    @inline(__always)
    static func load(_ p: UnsafePointer<Float>, lanes: Int) -> Vector {
        lanes == 8 ? load(p) : gather(p, stride: 1, lanes: lanes)
    }

    /// Lane `l` = `p[l · stride]` for `l < lanes`, zero beyond.
    @inline(__always)
    static func gather(_ p: UnsafePointer<Float>, stride: Int, lanes: Int) -> Vector {
        var v = Vector()
        for l in 0..<lanes { v[l] = p[l * stride] }
        return v
    }

    /// `p[l · stride]` = lane `l` for `l < lanes`.
    @inline(__always)
    static func scatter(_ v: Vector, _ p: UnsafeMutablePointer<Float>, stride: Int, lanes: Int) {
        for l in 0..<lanes { p[l * stride] = v[l] }
    }

    /// The first `lanes` lanes of six vectors to `p`, `p + stride`, … `p + 5·stride`.
    @inline(__always)
    static func store(_ v: (Vector, Vector, Vector, Vector, Vector, Vector), _ p: UnsafeMutablePointer<Float>,
                      stride: Int, lanes: Int) {
        store(v.0, p, lanes)
        store(v.1, p + stride, lanes)
        store(v.2, p + 2 * stride, lanes)
        store(v.3, p + 3 * stride, lanes)
        store(v.4, p + 4 * stride, lanes)
        store(v.5, p + 5 * stride, lanes)
    }

    /// The nine taps of `lanes` 3×3 filters (`filterStride` floats apart from `w`) into
    /// `taps[0 ..< 9]`, one vector per tap; with `flipped`, each filter rotated by 180°.
    @inline(__always)
    static func gatherTaps(_ w: UnsafePointer<Float>, filterStride: Int, flipped: Bool, lanes: Int,
                           into taps: UnsafeMutablePointer<Vector>) {
        for tap in 0..<9 {
            taps[tap] = gather(w + (flipped ? 8 - tap : tap), stride: filterStride, lanes: lanes)
        }
    }

    /// Runs `body(start, lanes)` over `0..<count` in blocks of 8 (`lanes` = valid lanes).
    @inline(__always)
    static func forEachBlock(_ count: Int, _ body: (Int, Int) -> Void) {
        var start = 0
        while start < count {
            body(start, Swift.min(8, count - start))
            start += 8
        }
    }
}
