import Devices

/// Host side of `norm.cl`'s fused RMS norm, scale-shift and SiLU and its gradients.
extension OpenCLQueue {
    /// One per-position pass, as ``rmsNorm(_:x:g:y:family:)``. Without a scale-shift operand the
    /// kernel is handed `x` in its place and never reads it.
    func rmsNormScaleShiftSilu(_ n: ChannelNorm, x: BufferSlice, g: BufferSlice, scaleShift: BufferSlice?, y: BufferSlice,
                               family: String) throws {
        if n.count == 0 { return }
        try dispatch(Self.normFile, "rms_norm_scale_shift_silu", family: family, global: [(n.spatial + 7) / 8, n.batch]) { args in
            try args.tensor(x)
            try args.tensor(g)
            try args.tensor(scaleShift ?? x)
            try args.tensor(y)
            try args.int(n.batch)
            try args.int(n.channels)
            try args.int(n.spatial)
            try args.float(n.eps)
            try args.float(n.scale)
            try args.int(scaleShift == nil ? 0 : 1)
        }
    }

    /// Two passes: `dx` (which also leaves, per sample, channel and block of 8 positions, the
    /// block's sums for `dg`, `dscale` and `dshift` in scratch), then one work item per channel
    /// adding the blocks up in a fixed order. `dx` may not alias `dy`.
    func rmsNormScaleShiftSiluBackward(_ n: ChannelNorm, x: BufferSlice, g: BufferSlice, scaleShift: BufferSlice?,
                                       dy: BufferSlice, dx: BufferSlice, dg: BufferSlice, dScaleShift: BufferSlice?,
                                       family: String) throws {
        if n.channels == 0 { return }
        if n.batch * n.spatial == 0 {
            try fill(count: n.channels, value: 0, out: dg, family: family)
            if let dScaleShift { try fill(count: 2 * n.batch * n.channels, value: 0, out: dScaleShift, family: family) }
            return
        }
        let blocks = (n.spatial + 7) / 8
        let partials = DeviceTensor.scratch(try scratchMemory(bytes: n.batch * n.channels * blocks * 3 * 4))
        let hasScaleShift = scaleShift == nil ? 0 : 1
        try dispatch(Self.normFile, "rms_norm_scale_shift_silu_backward_dx", family: family, global: [blocks, n.batch]) { args in
            try args.tensor(x)
            try args.tensor(g)
            try args.tensor(scaleShift ?? x)
            try args.tensor(dy)
            try args.tensor(dx)
            try args.bind(partials)
            try args.int(n.batch)
            try args.int(n.channels)
            try args.int(n.spatial)
            try args.float(n.eps)
            try args.float(n.scale)
            try args.int(hasScaleShift)
        }
        try dispatch(Self.normFile, "rms_norm_scale_shift_silu_backward_sums", family: family, global: [n.channels]) { args in
            try args.bind(partials)
            try args.tensor(dg)
            try args.tensor(dScaleShift ?? dg)
            try args.int(n.batch)
            try args.int(n.channels)
            try args.int(n.spatial)
            try args.int(hasScaleShift)
        }
    }
}
