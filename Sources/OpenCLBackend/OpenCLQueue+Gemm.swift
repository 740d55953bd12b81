import COpenCL
import Devices

/// Host side of `gemm.cl`: the strided batched GEMM.
///
/// Entry points used by the rest of the backend: `gemmFile`, `gemmBuildOptions(_:)` and
/// `gemm(_:a:b:c:bias:family:)`. The kernel reads op(A) and op(B) through element strides, so
/// every combination of transposes, leading dimensions and batch strides (0 included) runs the
/// same code; its tile sizes come from ``OpenCLTuning``.
extension OpenCLQueue {
    static let gemmFile = "gemm.cl"

    /// Extra build options of `gemm.cl`: the device's tile sizes. GEMM is compared at NMSE 5e-4,
    /// so multiply-add contraction is allowed.
    static func gemmBuildOptions(_ capabilities: OpenCLCapabilities) -> [String] {
        ["-cl-mad-enable"] + OpenCLTuning.forDevice(capabilities).gemmBuildOptions
    }

    func gemm(_ g: Gemm, a: BufferSlice, b: BufferSlice, c: BufferSlice, bias: BufferSlice?, family: String) throws {
        if g.batch == 0 || g.m == 0 || g.n == 0 { return }
        let tiles = OpenCLTuning.forDevice(openCLDevice.capabilities).gemm
        let (lx, ly) = try gemmGroup(g, tiles)
        // op(A)[m, k] = A[m*sAm + k*sAk], op(B)[k, n] = B[k*sBk + n*sBn].
        let (sAm, sAk) = g.transA ? (1, g.lda) : (g.lda, 1)
        let (sBk, sBn) = g.transB ? (1, g.ldb) : (g.ldb, 1)
        // With one matrix the batch strides are never used; pass 0 so any value is accepted.
        let single = g.batch == 1
        let global = [(g.m + tiles.rows * lx - 1) / (tiles.rows * lx) * lx,
                      (g.n + tiles.columns * ly - 1) / (tiles.columns * ly) * ly,
                      g.batch]
        try dispatch(Self.gemmFile, "gemm", family: family, global: global, local: [lx, ly, 1]) { args in
            try args.tensor(a)
            try args.tensor(b)
            try args.tensor(c)
            if let bias { try args.tensor(bias) } else { try args.memory(nil, elementOffset: 0) }
            try args.int(g.m)
            try args.int(g.n)
            try args.int(g.k)
            try args.int(sAm)
            try args.int(sAk)
            try args.int(sBk)
            try args.int(sBn)
            try args.int(g.ldc)
            try args.int(single ? 0 : g.strideA)
            try args.int(single ? 0 : g.strideB)
            try args.int(single ? 0 : g.strideC)
            try args.float(g.alpha)
            try args.float(g.beta)
            try args.int(g.bias == .perRow ? 1 : g.bias == .perColumn ? 2 : 0)
            try args.localFloats(tiles.localFloats(lx: lx, ly: ly))
        }
    }

    /// The work-group of a launch: as large as the tuning allows, but no larger than the matrix
    /// (a 32 × 32 product should not run in a 64 × 96 tile), and within the kernel's own limit.
    private func gemmGroup(_ g: Gemm, _ tiles: OpenCLTuning.Gemm) throws -> (Int, Int) {
        let kernelLimit = try kernelWorkGroupLimit(Self.gemmFile, "gemm")
        var lx = OpenCLTuning.groupExtent(tiles: (g.m + tiles.rows - 1) / tiles.rows, limit: tiles.groupRows)
        var ly = OpenCLTuning.groupExtent(tiles: (g.n + tiles.columns - 1) / tiles.columns, limit: tiles.groupColumns)
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
