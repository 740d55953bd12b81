import Devices

extension CaseCatalog {
    static func reductionCases() -> [KernelCase] {
        var cases: [KernelCase] = []
        let shapes: [Reduction] = [
            Reduction(outer: 1, extent: 1, inner: 1),
            Reduction(outer: 1, extent: 7, inner: 1),
            Reduction(outer: 3, extent: 17, inner: 5),
            Reduction(outer: 2, extent: 1000, inner: 3),
            Reduction(outer: 33, extent: 1, inner: 2),
            // An empty extent gives 0 (sum, mean, sumOfSquares) or -inf (max).
            Reduction(outer: 5, extent: 0, inner: 2),
            // Mean over the batch of a [16, 4096] loss map.
            Reduction(outer: 1, extent: 16, inner: 4096),
            // Contiguous rows whose length is not a multiple of 8 (vector body and scalar tail).
            Reduction(outer: 70, extent: 1027, inner: 1),
        ]
        for op in ReduceOp.allCases {
            for shape in shapes { cases.append(KernelCase(.reduce(op, shape))) }
        }
        // Long rows with an inner axis: reductions split across work groups and recombined.
        cases.append(KernelCase(.reduce(.sum, Reduction(outer: 2, extent: 70_001, inner: 3))))
        cases.append(KernelCase(.reduce(.max, Reduction(outer: 3, extent: 20_000, inner: 2))))
        // A few long contiguous rows: split into chunks of 8192 (a tail chunk of 7843), partials combined.
        cases.append(KernelCase(.reduce(.mean, Reduction(outer: 3, extent: 40_611, inner: 1))))
        cases.append(KernelCase(.reduce(.max, Reduction(outer: 2, extent: 40_611, inner: 1))))
        // Global gradient norm over a large flattened parameter vector.
        cases.append(KernelCase(.reduce(.sumOfSquares, Reduction(outer: 1, extent: 300_007, inner: 1))))
        cases.append(KernelCase(.reduce(.sum, Reduction(outer: 16 * 64, extent: 1024, inner: 1)), heavy: true))
        return cases
    }

    static func softmaxCases() -> [KernelCase] {
        var cases: [KernelCase] = []
        let shapes: [Reduction] = [
            Reduction(outer: 1, extent: 1, inner: 1),
            Reduction(outer: 3, extent: 7, inner: 1),
            Reduction(outer: 2, extent: 5, inner: 3),
            Reduction(outer: 1, extent: 33, inner: 17),
            Reduction(outer: 4, extent: 1000, inner: 1),
            // Linear attention, batch 2, 4 heads of 32: q over its 32 features per position…
            Reduction(outer: 8, extent: 32, inner: 1024),
            // …and k over the 1024 positions.
            Reduction(outer: 256, extent: 1024, inner: 1),
            // Full attention at 8×8: rows of a [b·h·64, 64] similarity matrix.
            Reduction(outer: 8 * 64, extent: 64, inner: 1),
        ]
        for shape in shapes {
            cases.append(KernelCase(.softmax(shape)))
            cases.append(KernelCase(.softmaxBackward(shape)))
        }
        cases.append(KernelCase(.softmax(Reduction(outer: 2, extent: 5000, inner: 3))))
        cases.append(KernelCase(.softmaxBackward(Reduction(outer: 2, extent: 5000, inner: 3))))
        // Logits of ±100 overflow exp() unless the maximum is subtracted first.
        cases.append(KernelCase(.softmax(Reduction(outer: 3, extent: 65, inner: 2)), variant: "inputs ×100", inputs: .scaled(100)))
        cases.append(.inPlace(.softmax(Reduction(outer: 5, extent: 17, inner: 1)), output: 1, input: 0))
        cases.append(.inPlace(.softmaxBackward(Reduction(outer: 5, extent: 17, inner: 3)), output: 2, input: 1))
        cases.append(KernelCase(.softmax(Reduction(outer: 64, extent: 32, inner: 1024)), heavy: true))
        return cases
    }

    static func normalisationCases() -> [KernelCase] {
        var cases: [KernelCase] = []
        let rms: [ChannelNorm] = [
            ChannelNorm(batch: 1, channels: 1, spatial: 1),
            ChannelNorm(batch: 2, channels: 3, spatial: 5),
            ChannelNorm(batch: 1, channels: 64, spatial: 1),
            ChannelNorm(batch: 3, channels: 7, spatial: 33),
            ChannelNorm(batch: 4, channels: 32, spatial: 16),
            // Unet(dim 64) first stage at batch 2.
            ChannelNorm(batch: 2, channels: 64, spatial: 1024),
        ]
        for shape in rms {
            cases.append(KernelCase(.rmsNorm(shape)))
            // With one channel y = ±g·√C whatever |x| is, so dx is exactly 0 and what a device
            // returns is pure cancellation noise, which NMSE cannot judge: no backward case for C = 1.
            if shape.channels > 1 { cases.append(KernelCase(.rmsNormBackward(shape))) }
        }
        cases.append(KernelCase(.rmsNormBackward(ChannelNorm(batch: 3, channels: 2, spatial: 1))))
        cases.append(KernelCase(.rmsNorm(ChannelNorm(batch: 16, channels: 64, spatial: 1024)), heavy: true))
        cases.append(KernelCase(.rmsNormBackward(ChannelNorm(batch: 16, channels: 64, spatial: 1024)), heavy: true))
        // The fused ResnetBlock chain, with the FiLM (block1) and without (block2); S = 33 and 5
        // leave tails beside 8-wide bodies.
        let fused = rms.filter { $0.channels > 1 } + [ChannelNorm(batch: 3, channels: 2, spatial: 1)]
        for shape in fused {
            for scaleShift in [true, false] {
                cases.append(KernelCase(.rmsNormScaleShiftSilu(shape, scaleShift: scaleShift)))
                cases.append(KernelCase(.rmsNormScaleShiftSiluBackward(shape, scaleShift: scaleShift)))
            }
        }
        let unet = ChannelNorm(batch: 16, channels: 64, spatial: 1024)
        cases.append(KernelCase(.rmsNormScaleShiftSilu(unet, scaleShift: true), heavy: true))
        cases.append(KernelCase(.rmsNormScaleShiftSiluBackward(unet, scaleShift: true), heavy: true))

        let groups: [GroupNorm] = [
            GroupNorm(batch: 1, channels: 4, spatial: 9, groups: 2),
            GroupNorm(batch: 2, channels: 8, spatial: 16, groups: 4),
            GroupNorm(batch: 3, channels: 6, spatial: 7, groups: 3),
            GroupNorm(batch: 1, channels: 5, spatial: 3, groups: 5),
            GroupNorm(batch: 2, channels: 8, spatial: 1, groups: 1),
            // Groups far larger than a work group.
            GroupNorm(batch: 1, channels: 4, spatial: 20_000, groups: 2),
            // The Unet's ResNet blocks: 8 groups.
            GroupNorm(batch: 2, channels: 64, spatial: 256, groups: 8),
        ]
        for shape in groups {
            cases.append(KernelCase(.groupNorm(shape)))
            cases.append(KernelCase(.groupNormBackward(shape)))
        }
        cases.append(KernelCase(.groupNorm(GroupNorm(batch: 16, channels: 64, spatial: 1024, groups: 8)), heavy: true))
        cases.append(KernelCase(.groupNormBackward(GroupNorm(batch: 16, channels: 64, spatial: 1024, groups: 8)), heavy: true))
        return cases
    }
}
