import Devices

/// Host side of `reduce.cl`: axis reductions, softmax and softmax backward.
///
/// Each launch picks one work item per row when rows are many or short (on CPU drivers, contiguous
/// rows always: one item each, float8 along the row), else one work group per row. A reduction of a few very long rows (a global sum of squares over every gradient) is split
/// into fixed chunks whose partial results a second pass combines, so the whole device works on
/// it. Every choice depends only on the shape and the device, never on timing, so results are
/// reproducible run to run.
extension OpenCLQueue {
    static let reduceFile = "reduce.cl"
    /// Rows at most this long are reduced by one work item each.
    static let shortRow = 64
    /// With at least this many rows there is enough parallelism without splitting rows.
    static let manyRows = 1024
    /// Rows at least this long, when there are few of them, are split into chunks.
    static let splitRowLength = 32768
    static let chunkLength = 8192
    static let maximumChunks = 1024

    func reduce(_ op: ReduceOp, _ r: Reduction, x: BufferSlice, y: BufferSlice, family: String) throws {
        let rows = r.outer * r.inner
        // Contiguous rows on CPU drivers, unless so few and long that they need splitting: one
        // item per row, 8-wide along it (a work group per row pays a barrier per tree level there).
        let rows8 = r.inner == 1 && openCLDevice.capabilities.kind == .cpu
            && !(rows < 64 && r.extent >= Self.splitRowLength)
        if rows8 || r.extent <= Self.shortRow || rows >= Self.manyRows {
            try dispatch(Self.reduceFile, "reduce_\(rows8 ? "rows8" : "rows")_\(op.rawValue)", family: family,
                         global: [rows]) { args in
                try args.tensor(x)
                try args.tensor(y)
                try args.int(r.outer)
                try args.int(r.extent)
                try args.int(r.inner)
            }
            return
        }
        let local = try localSize(Self.reduceFile, "reduce_groups_\(op.rawValue)")
        if r.inner == 1, openCLDevice.capabilities.kind == .cpu {
            // A few long contiguous rows (the global gradient norm): one item per chunk of
            // `chunkLength`, 8-wide, then one group per row over the partials. Groups striding
            // through the row ran at a sixth of the cpu device's bandwidth on PoCL.
            let chunks = (r.extent + Self.chunkLength - 1) / Self.chunkLength
            let partials = try scratchMemory(bytes: rows * chunks * 4)
            try dispatch(Self.reduceFile, "reduce_chunks8_\(op.rawValue)", family: family, global: [rows * chunks]) { args in
                try args.tensor(x)
                try args.bind(.scratch(partials))
                try args.int(rows)
                try args.int(r.extent)
                try args.int(chunks)
                try args.int(Self.chunkLength)
            }
            try reduceGroups(x: .scratch(partials), y: .slice(y), outer: rows, extent: chunks, inner: 1, op: op,
                             chunks: 1, rawInput: true, meanCount: r.extent, local: local, family: family)
            return
        }
        let chunks = rows < 64 && r.extent >= Self.splitRowLength
            ? min((r.extent + Self.chunkLength - 1) / Self.chunkLength, Self.maximumChunks) : 1
        if chunks == 1 {
            try reduceGroups(x: .slice(x), y: .slice(y), outer: r.outer, extent: r.extent, inner: r.inner, op: op,
                             chunks: 1, rawInput: false, meanCount: r.extent, local: local, family: family)
            return
        }
        let partials = try scratchMemory(bytes: rows * chunks * 4)
        try reduceGroups(x: .slice(x), y: .scratch(partials), outer: r.outer, extent: r.extent, inner: r.inner,
                         op: op, chunks: chunks, rawInput: false, meanCount: r.extent, local: local, family: family)
        try reduceGroups(x: .scratch(partials), y: .slice(y), outer: rows, extent: chunks, inner: 1, op: op,
                         chunks: 1, rawInput: true, meanCount: r.extent, local: local, family: family)
    }

    func softmax(_ r: Reduction, x: BufferSlice, y: BufferSlice, family: String) throws {
        try rowKernel("softmax", r, tensors: [x, y], family: family)
    }

    func softmaxBackward(_ r: Reduction, y: BufferSlice, dy: BufferSlice, dx: BufferSlice, family: String) throws {
        try rowKernel("softmax_backward", r, tensors: [y, dy, dx], family: family)
    }

    // MARK: - Private

    /// `<name>_columns`, `<name>_rows8`, `<name>_rows` or `<name>_groups` over the rows of `r`,
    /// with `tensors` bound first.
    ///
    /// A strided axis (inner > 1) goes to the columns kernel, 8 neighbouring positions per work
    /// item (unless the positions are too few to occupy the device while rows are long: then one
    /// work group per row). Contiguous rows go, on CPU drivers, to one item per row with 8-wide
    /// vectors along it (a work group striding along a row costs a barrier per tree level
    /// there); elsewhere to one item per row when rows are short or many, else one group per row.
    private func rowKernel(_ name: String, _ r: Reduction, tensors: [BufferSlice], family: String) throws {
        let rows = r.outer * r.inner
        if r.extent == 0 || rows == 0 { return }
        func perItem(_ kernel: String, _ global: [Int]) throws {
            try dispatch(Self.reduceFile, kernel, family: family, global: global) { args in
                for tensor in tensors { try args.tensor(tensor) }
                try args.int(r.outer)
                try args.int(r.extent)
                try args.int(r.inner)
            }
        }
        if r.inner > 1, rows >= Self.manyRows || r.extent <= Self.shortRow {
            return try perItem("\(name)_columns", [(r.inner + 7) / 8, r.outer])
        }
        if r.inner == 1, openCLDevice.capabilities.kind == .cpu {
            return try perItem("\(name)_rows8", [r.outer])
        }
        if r.extent <= Self.shortRow || rows >= Self.manyRows {
            return try perItem("\(name)_rows", [rows])
        }
        let local = try localSize(Self.reduceFile, "\(name)_groups")
        try dispatch(Self.reduceFile, "\(name)_groups", family: family, global: [rows * local], local: [local]) { args in
            for tensor in tensors { try args.tensor(tensor) }
            try args.int(r.outer)
            try args.int(r.extent)
            try args.int(r.inner)
            try args.localFloats(local)
        }
    }

    private func reduceGroups(x: DeviceTensor, y: DeviceTensor, outer: Int, extent: Int, inner: Int, op: ReduceOp,
                              chunks: Int, rawInput: Bool, meanCount: Int, local: Int, family: String) throws {
        let chunkLength = (extent + chunks - 1) / chunks
        try dispatch(Self.reduceFile, "reduce_groups_\(op.rawValue)", family: family,
                     global: [outer * inner * chunks * local],
                     local: [local]) { args in
            try args.bind(x)
            try args.bind(y)
            try args.int(outer)
            try args.int(extent)
            try args.int(inner)
            try args.int(chunks)
            try args.int(chunkLength)
            try args.int(rawInput)
            try args.int(meanCount)
            try args.localFloats(local)
        }
    }
}
