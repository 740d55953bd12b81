import COpenCL
import Devices

/// Host side of `gemm.cl`: the strided batched GEMM.
///
/// Entry points used by the rest of the backend: `gemmFile`, `gemmBuildOptions(_:)` and
/// `gemm(_:a:b:c:bias:family:)`. The kernel reads op(A) and op(B) through element strides, so
/// every combination of transposes, leading dimensions and batch strides (0 included) runs the
/// same code; its tile sizes come from ``OpenCLTuning``. The convolutions reuse it through
/// ``GemmLayout`` on scratch tensors.
extension OpenCLQueue {
    static let gemmFile = "gemm.cl"

    /// Extra build options of `gemm.cl`: the device's tile sizes. GEMM is compared at NMSE 5e-4,
    /// so multiply-add contraction is allowed.
    static func gemmBuildOptions(_ capabilities: OpenCLCapabilities) -> [String] {
        ["-cl-mad-enable"] + OpenCLTuning.forDevice(capabilities).gemmBuildOptions
    }

    func gemm(_ g: Gemm, a: BufferSlice, b: BufferSlice, c: BufferSlice, bias: BufferSlice?, family: String) throws {
        // With one matrix the batch strides are never used; pass 0 so any value is accepted.
        let single = g.batch == 1
        let layout = GemmLayout(
            batch: g.batch, m: g.m, n: g.n, k: g.k,
            aRowStride: g.transA ? 1 : g.lda, aDepthStride: g.transA ? g.lda : 1,
            bDepthStride: g.transB ? 1 : g.ldb, bColumnStride: g.transB ? g.ldb : 1, ldc: g.ldc,
            strideA: single ? 0 : g.strideA, strideB: single ? 0 : g.strideB, strideC: single ? 0 : g.strideC,
            alpha: g.alpha, beta: g.beta, bias: g.bias)
        try gemm(layout, a: .slice(a), b: .slice(b), c: .slice(c), bias: bias.map { .slice($0) }, family: family)
    }

    /// Enqueues `gemm` for `layout` over any mix of caller slices and scratch memory.
    func gemm(_ layout: GemmLayout, a: DeviceTensor, b: DeviceTensor, c: DeviceTensor, bias: DeviceTensor?,
              family: String) throws {
        let l = layout
        if l.batch == 0 || l.m == 0 || l.n == 0 { return }
        let tiles = OpenCLTuning.forDevice(openCLDevice.capabilities).gemm
        switch GemmKernel(l, tiles) {
        case .dot:
            // One work-item per work-group: the kernel shares nothing between work-items.
            let global = [(l.m + tiles.dotRows - 1) / tiles.dotRows, (l.n + tiles.dotColumns - 1) / tiles.dotColumns,
                          l.batch]
            try dispatch(Self.gemmFile, "gemm_dot", family: family, global: global, local: [1, 1, 1]) { args in
                try bindGemm(&args, l, a: a, b: b, c: c, bias: bias, strides: [l.aRowStride, l.bColumnStride])
            }
            return
        case .direct:
            let global = [(l.m + tiles.rows - 1) / tiles.rows, (l.n + tiles.columns - 1) / tiles.columns, l.batch]
            try dispatch(Self.gemmFile, "gemm_direct", family: family, global: global, local: [1, 1, 1]) { args in
                try bindGemm(&args, l, a: a, b: b, c: c, bias: bias,
                             strides: [l.aRowStride, l.aDepthStride, l.bDepthStride])
            }
            return
        case .packed:
            break
        }
        let (lx, ly) = try gemmGroup(m: l.m, n: l.n, tiles)
        let global = [(l.m + tiles.rows * lx - 1) / (tiles.rows * lx) * lx,
                      (l.n + tiles.columns * ly - 1) / (tiles.columns * ly) * ly,
                      l.batch]
        try dispatch(Self.gemmFile, "gemm", family: family, global: global, local: [lx, ly, 1]) { args in
            try bindGemm(&args, l, a: a, b: b, c: c, bias: bias,
                         strides: [l.aRowStride, l.aDepthStride, l.bDepthStride, l.bColumnStride])
            try args.localFloats(tiles.localFloats(lx: lx, ly: ly))
        }
    }

    /// The arguments the three GEMM kernels share, in order: the four tensors, M, N, K, the
    /// kernel's operand strides (`strides`), ldc, the batch strides, alpha, beta, the bias mode.
    private func bindGemm(_ args: inout KernelArguments, _ l: GemmLayout, a: DeviceTensor, b: DeviceTensor,
                          c: DeviceTensor, bias: DeviceTensor?, strides: [Int]) throws {
        try args.bind(a)
        try args.bind(b)
        try args.bind(c)
        if let bias { try args.bind(bias) } else { try args.memory(nil, elementOffset: 0) }
        for value in [l.m, l.n, l.k] + strides + [l.ldc, l.strideA, l.strideB, l.strideC] {
            try args.int(value)
        }
        try args.float(l.alpha)
        try args.float(l.beta)
        try args.int(l.bias == .perRow ? 1 : l.bias == .perColumn ? 2 : 0)
    }

    /// The work-group of a launch: as large as the tuning allows, but no larger than the matrix
    /// (a 32 × 32 product should not run in a 64 × 96 tile), and within the kernel's own limit.
    private func gemmGroup(m: Int, n: Int, _ tiles: OpenCLTuning.Gemm) throws -> (Int, Int) {
        let kernelLimit = try kernelWorkGroupLimit(Self.gemmFile, "gemm")
        var lx = OpenCLTuning.groupExtent(tiles: (m + tiles.rows - 1) / tiles.rows, limit: tiles.groupRows)
        var ly = OpenCLTuning.groupExtent(tiles: (n + tiles.columns - 1) / tiles.columns, limit: tiles.groupColumns)
        while lx * ly > kernelLimit {
            if ly >= lx, ly > 1 { ly /= 2 } else { lx /= 2 }
        }
        return (lx, ly)
    }

    /// `CL_KERNEL_WORK_GROUP_SIZE` of `function`: the most work-items one group of it may have.
    func kernelWorkGroupLimit(_ file: String, _ function: String) throws -> Int {
        let key = "\(file)/\(function)/limit"
        if let size = localSizes[key] { return size }
        let kernel = try self.kernel(file, function)
        var limit = 0
        let status = clGetKernelWorkGroupInfo(kernel, openCLDevice.handle.device,
                                              cl_kernel_work_group_info(CL_KERNEL_WORK_GROUP_SIZE),
                                              MemoryLayout<Int>.size, &limit, nil)
        try CLError.check(status, "clGetKernelWorkGroupInfo(\(function))", device: deviceName)
        let size = max(1, min(limit, openCLDevice.capabilities.maxWorkGroupSize))
        localSizes[key] = size
        return size
    }
}

/// A GEMM in the element strides `gemm.cl` reads: `op(A)[m, k] = A[m·aRowStride + k·aDepthStride]`,
/// `op(B)[k, n] = B[k·bDepthStride + n·bColumnStride]`, `C[m, n] = C[m·ldc + n]`, matrix `b` of a
/// batch at `b·strideA` (likewise B, C).
struct GemmLayout {
    var batch = 1
    var m: Int
    var n: Int
    var k: Int
    var aRowStride: Int
    var aDepthStride: Int
    var bDepthStride: Int
    var bColumnStride: Int
    var ldc: Int
    var strideA = 0
    var strideB = 0
    var strideC = 0
    var alpha: Float = 1
    var beta: Float = 0
    var bias = Gemm.Bias.none
}

/// Which kernel of `gemm.cl` runs a product (see ``OpenCLTuning/Gemm``).
enum GemmKernel: Equatable {
    /// `gemm`: op(B) packed into local memory per K block (any layout).
    case packed
    /// `gemm_direct`: op(B)'s contiguous rows read in place (short K).
    case direct
    /// `gemm_dot`: dot products along K, both operands contiguous there (`A·Bᵀ`, long K).
    case dot

    init(_ l: GemmLayout, _ tiles: OpenCLTuning.Gemm) {
        if tiles.dotDepth > 0, l.aDepthStride == 1, l.bDepthStride == 1, l.k >= tiles.dotDepth {
            self = .dot
        } else if l.bColumnStride == 1, l.k <= tiles.directDepth {
            self = .direct
        } else {
            self = .packed
        }
    }
}
