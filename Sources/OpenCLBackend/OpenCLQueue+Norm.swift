import Devices

/// Host side of `norm.cl`: channel RMS norm, group norm and their gradients.
extension OpenCLQueue {
    static let normFile = "norm.cl"

    func rmsNorm(_ n: ChannelNorm, x: BufferSlice, g: BufferSlice, y: BufferSlice, family: String) throws {
        if n.count == 0 { return }
        try dispatch(Self.normFile, "rms_norm", family: family, global: [(n.spatial + 7) / 8, n.batch]) { args in
            try args.tensor(x)
            try args.tensor(g)
            try args.tensor(y)
            try args.int(n.batch)
            try args.int(n.channels)
            try args.int(n.spatial)
            try args.float(n.eps)
            try args.float(n.scale)
        }
    }

    /// Two passes: `dx` (which also leaves 1/max(‖x‖, eps) per position in scratch), then `dg`
    /// (one work group per channel). `dx` may not alias `dy`, so `dg` still reads the original `dy`.
    func rmsNormBackward(_ n: ChannelNorm, x: BufferSlice, g: BufferSlice, dy: BufferSlice, dx: BufferSlice,
                         dg: BufferSlice, family: String) throws {
        let positions = n.batch * n.spatial
        if n.channels == 0 { return }
        if positions == 0 {
            try fill(count: n.channels, value: 0, out: dg, family: family)
            return
        }
        let inverse = DeviceTensor.scratch(try scratchMemory(bytes: positions * 4))
        try dispatch(Self.normFile, "rms_norm_backward_dx", family: family, global: [(n.spatial + 7) / 8, n.batch]) { args in
            try args.tensor(x)
            try args.tensor(g)
            try args.tensor(dy)
            try args.bind(inverse)
            try args.tensor(dx)
            try args.int(n.batch)
            try args.int(n.channels)
            try args.int(n.spatial)
            try args.float(n.eps)
            try args.float(n.scale)
        }
        let groupLocal = try localSize(Self.normFile, "rms_norm_backward_dg", limit: min(64, Self.powerOfTwo(atLeast: n.spatial / 8)))
        try dispatch(Self.normFile, "rms_norm_backward_dg", family: family, global: [n.channels * groupLocal],
                     local: [groupLocal]) { args in
            try args.tensor(x)
            try args.tensor(dy)
            try args.bind(inverse)
            try args.tensor(dg)
            try args.int(n.batch)
            try args.int(n.channels)
            try args.int(n.spatial)
            try args.float(n.scale)
            try args.localFloats(groupLocal)
        }
    }

    /// The smallest power of two ≥ `n` (1 for n ≤ 1).
    static func powerOfTwo(atLeast n: Int) -> Int {
        var p = 1
        while p < n { p *= 2 }
        return p
    }

    func groupNorm(_ n: GroupNorm, x: BufferSlice, gamma: BufferSlice, beta: BufferSlice, y: BufferSlice,
                   family: String) throws {
        if n.count == 0 { return }
        let local = try localSize(Self.normFile, "group_norm")
        try dispatch(Self.normFile, "group_norm", family: family, global: [n.batch * n.groups * local],
                     local: [local]) { args in
            try args.tensor(x)
            try args.tensor(gamma)
            try args.tensor(beta)
            try args.tensor(y)
            try bindShape(&args, n)
            try args.float(n.eps)
            try args.localFloats(local)
        }
    }

    /// Three passes: per-group statistics into scratch, `dgamma`/`dbeta` per channel, then `dx`.
    func groupNormBackward(_ n: GroupNorm, x: BufferSlice, gamma: BufferSlice, dy: BufferSlice, dx: BufferSlice,
                           dgamma: BufferSlice, dbeta: BufferSlice, family: String) throws {
        if n.channels == 0 { return }
        if n.count == 0 {
            try fill(count: n.channels, value: 0, out: dgamma, family: family)
            try fill(count: n.channels, value: 0, out: dbeta, family: family)
            return
        }
        let stats = DeviceTensor.scratch(try scratchMemory(bytes: n.batch * n.groups * 4 * 4))
        let statsLocal = try localSize(Self.normFile, "group_norm_backward_stats")
        try dispatch(Self.normFile, "group_norm_backward_stats", family: family,
                     global: [n.batch * n.groups * statsLocal], local: [statsLocal]) { args in
            try args.tensor(x)
            try args.tensor(gamma)
            try args.tensor(dy)
            try args.bind(stats)
            try bindShape(&args, n)
            try args.float(n.eps)
            try args.localFloats(statsLocal)
        }
        let paramsLocal = try localSize(Self.normFile, "group_norm_backward_params")
        try dispatch(Self.normFile, "group_norm_backward_params", family: family,
                     global: [n.channels * paramsLocal], local: [paramsLocal]) { args in
            try args.tensor(x)
            try args.tensor(dy)
            try args.bind(stats)
            try args.tensor(dgamma)
            try args.tensor(dbeta)
            try bindShape(&args, n)
            try args.localFloats(paramsLocal)
        }
        try dispatch(Self.normFile, "group_norm_backward_dx", family: family, global: [n.count]) { args in
            try args.tensor(x)
            try args.tensor(gamma)
            try args.tensor(dy)
            try args.bind(stats)
            try args.tensor(dx)
            try bindShape(&args, n)
        }
    }

    private func bindShape(_ args: inout KernelArguments, _ n: GroupNorm) throws {
        try args.int(n.batch)
        try args.int(n.channels)
        try args.int(n.spatial)
        try args.int(n.groups)
    }
}

extension ChannelNorm {
    /// The reference Unet's `sqrt(dim)` factor, rounded once from double as PyTorch's Python float is.
    var scale: Float { Float(Double(channels).squareRoot()) }
}
