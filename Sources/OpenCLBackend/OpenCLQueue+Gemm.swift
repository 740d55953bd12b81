import Devices

/// Host side of `gemm.cl`: the strided batched GEMM.
///
/// Entry points used by the rest of the backend (keep them when replacing the kernel):
/// `gemmFile`, `gemmBuildOptions(_:)` and `gemm(_:a:b:c:bias:family:)`.
extension OpenCLQueue {
    static let gemmFile = "gemm.cl"

    /// Work-group edge of the GEMM tile: 16×16 where the device allows 256 work items, else 8×8.
    static func gemmTile(_ capabilities: OpenCLCapabilities) -> Int {
        capabilities.maxWorkGroupSize >= 256 ? 16 : 8
    }

    /// Extra build options of `gemm.cl`. GEMM is compared at NMSE 5e-4, so multiply-add contraction
    /// is allowed; the tile size is compiled in.
    static func gemmBuildOptions(_ capabilities: OpenCLCapabilities) -> [String] {
        ["-cl-mad-enable", "-DGEMM_TILE=\(gemmTile(capabilities))"]
    }

    func gemm(_ g: Gemm, a: BufferSlice, b: BufferSlice, c: BufferSlice, bias: BufferSlice?, family: String) throws {
        if g.batch == 0 || g.m == 0 || g.n == 0 { return }
        let tile = Self.gemmTile(openCLDevice.capabilities)
        // With one matrix the batch strides are never used; pass 0 so any value is accepted.
        let single = g.batch == 1
        try dispatch(Self.gemmFile, "gemm", family: family, global: [g.n, g.m, g.batch], local: [tile, tile, 1]) { args in
            try args.tensor(a)
            try args.tensor(b)
            try args.tensor(c)
            if let bias { try args.tensor(bias) } else { try args.memory(nil, elementOffset: 0) }
            try args.int(g.m)
            try args.int(g.n)
            try args.int(g.k)
            try args.int(g.transA)
            try args.int(g.transB)
            try args.float(g.alpha)
            try args.float(g.beta)
            try args.int(g.lda)
            try args.int(g.ldb)
            try args.int(g.ldc)
            try args.int(single ? 0 : g.strideA)
            try args.int(single ? 0 : g.strideB)
            try args.int(single ? 0 : g.strideC)
            try args.int(g.bias == .perRow ? 1 : g.bias == .perColumn ? 2 : 0)
        }
    }
}
