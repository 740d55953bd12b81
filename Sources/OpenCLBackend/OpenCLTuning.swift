/// Tile sizes of `gemm.cl` and `conv.cl` for one device, compiled into the programs with `-D`.
///
/// Chosen from the device's capabilities alone (never its name), like the rest of the backend:
/// - CPU drivers (PoCL and similar) run a work-group as a loop over its work-items on one core,
///   so each work-item is a SIMD micro-kernel: a register block of a few rows by three vectors of
///   the device's preferred float width (AVX2: 4 × 24 floats, twelve accumulators), large
///   work-groups that share a local panel in L1/L2, and deep K blocks. Measured with
///   `tools/cltune` on PoCL 3.1 (2-core AMD EPYC, AVX2); see its README for the numbers.
/// - GPUs and accelerators get the classic layout: 16 × 16 work-items each holding a 4 × 4 block,
///   both operands staged through on-chip local memory in shallow K blocks.
///
/// Every kernel handles any size: the tiles only decide speed, never results (summation order
/// inside a dot product may change with them, within the GEMM/convolution tolerance).
struct OpenCLTuning: Equatable, Sendable {
    /// Tiles of the `gemm` kernel.
    struct Gemm: Equatable, Sendable {
        /// Rows of C per work-item (`GEMM_MR`).
        var rows: Int
        /// Vectors of C per work-item row (`GEMM_NV`); a row block is `vectors × width` columns.
        var vectors: Int
        /// Floats per vector (`GEMM_VW`: 4, 8 or 16).
        var width: Int
        /// K block staged in local memory per step (`GEMM_KC`).
        var depth: Int
        /// Whether op(A) is staged in local memory too (`GEMM_PACK_A`).
        var packA: Bool
        /// Largest work-group: work-items along M (`groupRows`) and along N (`groupColumns`).
        var groupRows: Int
        var groupColumns: Int
        /// Products of at most this depth K whose op(B) rows are contiguous run as `gemm_direct`,
        /// which reads B in place instead of packing it into local memory; 0 never. On PoCL
        /// packing costs as much as the multiplies at K = 32 (the attention products: 1.3-2.3x
        /// faster without it) and still loses at 96-192 on the Unet's per-image 1×1 products
        /// (1.2-2.1x); at K = 256 over 1,024 columns it wins.
        var directDepth: Int
        /// Products at least this deep whose operands are both contiguous along K (`A·Bᵀ`, the
        /// attention's key-value products) run as `gemm_dot`, dot products along K with no
        /// packing; 0 never. On PoCL 1.6-2.6x faster than packing the transposed B at K = 260
        /// and 1,028, slower at 68 (its vectors too short for the lane sums).
        var dotDepth: Int
        /// Dot products per `gemm_dot` work-item: rows of C (`GEMM_DM`) × columns (`GEMM_DN`).
        var dotRows: Int
        var dotColumns: Int

        var columns: Int { vectors * width }

        /// Local memory one work-group of `lx × ly` work-items uses, in floats (`GEMM_LOCAL_FLOATS`).
        func localFloats(lx: Int, ly: Int) -> Int {
            ly * depth * columns + (packA ? lx * depth * rows : 0)
        }
    }

    /// Tiles of the `conv.cl` kernels.
    struct Conv: Equatable, Sendable {
        /// Output channels per work-item of `conv_direct` (`CONV_MR`).
        var rows: Int
        /// Vectors of output positions per work-item (`CONV_NV`).
        var vectors: Int
        /// Floats per vector (`CONV_VW`).
        var width: Int
        /// Output channels × taps per work-item of `conv_wgrad` (`WGRAD_DM`, `WGRAD_DT`).
        var gradientChannels: Int
        var gradientTaps: Int
        /// Work-items per work-group, along output channels (forward) or taps (weight gradient).
        var group: Int
        /// Output positions per split of the weight gradient: small enough that a split's slices
        /// of the input and of dY stay in cache, large enough to amortise the partial sums.
        var splitPositions: Int
        /// Images of at most this many output positions run as im2col + `gemm`: there the
        /// direct kernel's runs are short and its weights (many channels) outgrow the cache,
        /// while the GEMM's blocked tiles keep them resident.
        var columnPositions: Int
        /// The im2col path's scratch memory cap, in floats; larger convolutions run directly.
        var columnFloats: Int
        /// 3×3 convolutions run as F(2×2, 3×3) Winograd (transforms around one batched `gemm`)
        /// when their scratch (transformed filters, inputs and products) takes at most this many
        /// floats; 0 turns the path off.
        var winogradFloats: Int
        /// Output positions per image from which forward and backward-data (`winogradPositions`)
        /// and the weight gradient (`winogradGradientPositions`) take the Winograd path. On PoCL
        /// both are 64 (8×8 maps and up): at 4×4 the forward ties with im2col + GEMM and the
        /// weight gradient takes ~1.8x as long (four tiles per image, scalar transforms).
        var winogradPositions: Int
        var winogradGradientPositions: Int
        /// Forward and backward-data Winograd run as one kernel over blocks of `columns` tiles
        /// (`conv_wino_fused`), each block's transformed input in a cache-resident scratch region
        /// of its work-item, instead of three kernels through memory. On PoCL 1.2-1.7x faster on
        /// the Unet's 3×3 convolutions of 8×8 maps and up, about 4x on the 512-channel 4×4 ones
        /// (which took im2col + GEMM before), the same bits. Needs `columns` a multiple of 8.
        var fusedWinograd: Bool
        /// Input and output channels from which the weight gradient takes Winograd on maps of
        /// `fusedWinogradPositions` and up too: there its products are one batched GEMM over
        /// few tiles, which pays for the transforms only against wide ones. On PoCL 128: at
        /// 4×4 the 512-channel gradients run 1.8x faster than im2col + GEMM, the 256-channel
        /// ones 1.7x, the 32-channel ones 1.2x slower.
        var winogradGradientChannels: Int
        /// Output positions per image from which forward and backward-data take the fused path
        /// (when it applies; `winogradPositions` otherwise). On PoCL 16: at 4×4 it runs the
        /// digits model's 32-channel convolutions 2x faster than im2col + GEMM.
        var fusedWinogradPositions: Int

        var columns: Int { vectors * width }
    }

    var gemm: Gemm
    var conv: Conv

    /// The parameters for a device.
    static func forDevice(_ capabilities: OpenCLCapabilities) -> OpenCLTuning {
        var tuning = capabilities.kind == .cpu ? cpu(capabilities) : gpu
        tuning.fit(capabilities)
        return tuning
    }

    /// CPU drivers: register-blocked micro-kernels, sized by measurement on PoCL (AVX2).
    private static func cpu(_ capabilities: OpenCLCapabilities) -> OpenCLTuning {
        // The vector type follows the driver's preferred float width (8 for AVX2, 16 for AVX-512,
        // 4 for SSE/NEON); the 4 × 3-vector block keeps twelve accumulators in registers.
        let width = [4, 8, 16].last { $0 <= max(4, capabilities.preferredVectorWidthFloat) } ?? 8
        return OpenCLTuning(
            gemm: Gemm(rows: 4, vectors: 3, width: width, depth: 256, packA: false, groupRows: 16, groupColumns: 4,
                       directDepth: 192, dotDepth: 128, dotRows: 4, dotColumns: 3),
            conv: Conv(rows: 4, vectors: 3, width: width, gradientChannels: 4, gradientTaps: 3, group: 16,
                       splitPositions: 1024, columnPositions: 64, columnFloats: 1 << 26,
                       winogradFloats: 1 << 26, winogradPositions: 64, winogradGradientPositions: 64,
                       fusedWinograd: true, winogradGradientChannels: 128, fusedWinogradPositions: 16))
    }

    /// GPUs and accelerators: 16 × 16 work-groups of 4 × 4 blocks staged in local memory; every
    /// convolution that fits the memory cap goes through im2col and that GEMM.
    private static let gpu = OpenCLTuning(
        gemm: Gemm(rows: 4, vectors: 1, width: 4, depth: 16, packA: true, groupRows: 16, groupColumns: 16,
                   directDepth: 0, dotDepth: 0, dotRows: 4, dotColumns: 3),
        conv: Conv(rows: 4, vectors: 1, width: 4, gradientChannels: 2, gradientTaps: 2, group: 64,
                   splitPositions: 4096, columnPositions: Int.max, columnFloats: 1 << 26,
                   winogradFloats: 0, winogradPositions: 64, winogradGradientPositions: 64,
                   fusedWinograd: false, winogradGradientChannels: Int.max, fusedWinogradPositions: 64))

    /// Shrinks work-groups and K blocks until they fit the device's limits.
    private mutating func fit(_ capabilities: OpenCLCapabilities) {
        let maxGroup = max(1, capabilities.maxWorkGroupSize)
        while gemm.groupRows * gemm.groupColumns > maxGroup {
            if gemm.groupColumns >= gemm.groupRows, gemm.groupColumns > 1 { gemm.groupColumns /= 2 } else { gemm.groupRows /= 2 }
        }
        conv.group = min(conv.group, maxGroup)
        conv.columnFloats = min(conv.columnFloats, capabilities.maxAllocationBytes / 4)
        conv.winogradFloats = min(conv.winogradFloats, capabilities.maxAllocationBytes / 4)
        let localFloats = capabilities.localMemoryBytes / 4
        while gemm.depth > 4, gemm.localFloats(lx: gemm.groupRows, ly: gemm.groupColumns) > localFloats {
            gemm.depth /= 2
        }
    }

    /// `-D` options of `gemm.cl`.
    var gemmBuildOptions: [String] {
        ["-DGEMM_MR=\(gemm.rows)", "-DGEMM_NV=\(gemm.vectors)", "-DGEMM_VW=\(gemm.width)",
         "-DGEMM_KC=\(gemm.depth)", "-DGEMM_PACK_A=\(gemm.packA ? 1 : 0)", "-DGEMM_DM=\(gemm.dotRows)",
         "-DGEMM_DN=\(gemm.dotColumns)"]
    }

    /// `-D` options of `conv.cl`.
    var convBuildOptions: [String] {
        ["-DCONV_MR=\(conv.rows)", "-DCONV_NV=\(conv.vectors)", "-DCONV_VW=\(conv.width)",
         "-DWGRAD_DM=\(conv.gradientChannels)", "-DWGRAD_DT=\(conv.gradientTaps)"]
    }
}

extension OpenCLTuning {
    /// A work-group extent for `tiles` tiles along one axis: the smallest power of two that
    /// covers them, at most `limit`. Powers of two keep the number of distinct work-group sizes
    /// small, which matters on drivers that compile one variant per size (PoCL).
    static func groupExtent(tiles: Int, limit: Int) -> Int {
        var extent = 1
        while extent * 2 <= limit, extent < tiles { extent *= 2 }
        return extent
    }
}
