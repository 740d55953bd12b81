import Devices

/// Every grad-mode case: each backward kernel of the vocabulary against its forward kernel, and
/// the gradients the graph builds from forward kernels (GEMM transposes, copy adjoints, binary
/// and reduction rules). Shapes are small: every checked element costs two to four launches.
public enum GradientCatalog {
    public static func cases() -> [GradientCase] {
        unaryCases() + softmaxCases() + normalisationCases() + resamplingCases()
            + convolutionCases() + gemmCases() + copyCases() + binaryCases() + reductionCases()
    }

    typealias Ref = GradientCase.Ref
    typealias Step = GradientCase.Step

    static func unaryCases() -> [GradientCase] {
        var cases: [GradientCase] = []
        for op in UnaryOp.allCases {
            let linear: Bool
            var kinks: [Float] = []
            switch op {
            case .identity, .neg, .affine: linear = true
            case .relu, .abs: linear = true; kinks = [0]
            case let .clamp(low, high): linear = true; kinks = [low, high]
            default: linear = false
            }
            for n in [1, 7, 33, 64] {
                let forward = Kernel.unary(op, count: n)
                let step = Step(.unaryBackward(op, count: n), [.value(0), .upstream(1), .gradient(0)])
                // Piecewise-linear functions are linear between kinks; a step of 0.5 would cross
                // them, so they use the smooth step and kink avoidance.
                cases.append(.make(forward, wrt: [0], steps: [step], linear: linear && kinks.isEmpty, kinks: kinks))
            }
        }
        return cases
    }

    static func softmaxCases() -> [GradientCase] {
        let shapes = [
            Reduction(outer: 1, extent: 1, inner: 1), Reduction(outer: 1, extent: 5, inner: 1),
            Reduction(outer: 3, extent: 7, inner: 2), Reduction(outer: 2, extent: 16, inner: 3),
            Reduction(outer: 4, extent: 33, inner: 1), Reduction(outer: 1, extent: 2, inner: 17),
        ]
        return shapes.map { r in
            .make(.softmax(r), wrt: [0], steps: [Step(.softmaxBackward(r), [.value(1), .upstream(1), .gradient(0)])], linear: false)
        }
    }

    static func normalisationCases() -> [GradientCase] {
        var cases: [GradientCase] = []
        let rms = [
            ChannelNorm(batch: 1, channels: 2, spatial: 3), ChannelNorm(batch: 1, channels: 4, spatial: 1),
            ChannelNorm(batch: 2, channels: 3, spatial: 5), ChannelNorm(batch: 2, channels: 8, spatial: 4),
            ChannelNorm(batch: 1, channels: 16, spatial: 6), ChannelNorm(batch: 3, channels: 5, spatial: 7),
        ]
        for n in rms {
            let step = Step(.rmsNormBackward(n), [.value(0), .value(1), .upstream(2), .gradient(0), .gradient(1)])
            cases.append(.make(.rmsNorm(n), wrt: [0, 1], steps: [step], linear: false))
            // The fused chain: x, g, scale-shift [N, 2C] (then y); without the FiLM x, g (then y).
            let film = Step(.rmsNormScaleShiftSiluBackward(n, scaleShift: true),
                            [.value(0), .value(1), .value(2), .upstream(3), .gradient(0), .gradient(1), .gradient(2)])
            cases.append(.make(.rmsNormScaleShiftSilu(n, scaleShift: true), wrt: [0, 1, 2], steps: [film], linear: false))
            let plain = Step(.rmsNormScaleShiftSiluBackward(n, scaleShift: false),
                             [.value(0), .value(1), .upstream(2), .gradient(0), .gradient(1)])
            cases.append(.make(.rmsNormScaleShiftSilu(n, scaleShift: false), wrt: [0, 1], steps: [plain], linear: false))
        }
        let groups = [
            GroupNorm(batch: 1, channels: 2, spatial: 5, groups: 1), GroupNorm(batch: 1, channels: 4, spatial: 9, groups: 2),
            GroupNorm(batch: 2, channels: 6, spatial: 4, groups: 3), GroupNorm(batch: 2, channels: 8, spatial: 8, groups: 4),
            GroupNorm(batch: 1, channels: 5, spatial: 6, groups: 5), GroupNorm(batch: 2, channels: 16, spatial: 3, groups: 8),
        ]
        for n in groups {
            let step = Step(.groupNormBackward(n), [.value(0), .value(1), .upstream(3), .gradient(0), .gradient(1), .gradient(2)])
            cases.append(.make(.groupNorm(n), wrt: [0, 1, 2], steps: [step], linear: false))
        }
        return cases
    }

    static func resamplingCases() -> [GradientCase] {
        var cases: [GradientCase] = []
        let shapes = [
            Resample(batch: 1, channels: 1, height: 2, width: 2), Resample(batch: 2, channels: 3, height: 4, width: 6),
            Resample(batch: 1, channels: 2, height: 6, width: 3, factor: 3), Resample(batch: 1, channels: 2, height: 8, width: 4, factor: 4),
        ]
        for r in shapes {
            cases.append(.make(.upsampleNearest(r), wrt: [0],
                               steps: [Step(.upsampleNearestBackward(r), [.upstream(1), .gradient(0)])], linear: true))
            // Pixel shuffle and unshuffle are each other's adjoint (and inverse).
            cases.append(.make(.pixelUnshuffle(r), wrt: [0],
                               steps: [Step(.pixelShuffle(r), [.upstream(1), .gradient(0)])], linear: true))
            cases.append(.make(.pixelShuffle(r), wrt: [0],
                               steps: [Step(.pixelUnshuffle(r), [.upstream(1), .gradient(0)])], linear: true))
        }
        return cases
    }

    static func convolutionCases() -> [GradientCase] {
        let shapes = [
            Conv2d(batch: 1, inChannels: 1, outChannels: 1, height: 3, width: 3, kernel: 3),
            Conv2d(batch: 1, inChannels: 2, outChannels: 3, height: 4, width: 5, kernel: 3),
            Conv2d(batch: 2, inChannels: 3, outChannels: 2, height: 5, width: 5, kernel: 3, hasBias: false),
            Conv2d(batch: 2, inChannels: 2, outChannels: 4, height: 3, width: 4, kernel: 1),
            Conv2d(batch: 1, inChannels: 2, outChannels: 2, height: 6, width: 6, kernel: 5),
            Conv2d(batch: 1, inChannels: 3, outChannels: 2, height: 5, width: 4, kernel: 3, padding: 0),
            Conv2d(batch: 1, inChannels: 2, outChannels: 3, height: 3, width: 3, kernel: 3, padding: 2, hasBias: false),
            Conv2d(batch: 1, inChannels: 1, outChannels: 2, height: 7, width: 7, kernel: 7),
            Conv2d(batch: 2, inChannels: 2, outChannels: 3, height: 5, width: 4, kernelHeight: 3, kernelWidth: 1,
                   padHeight: 1, padWidth: 0, hasBias: true),
            Conv2d(batch: 1, inChannels: 4, outChannels: 4, height: 4, width: 4, kernel: 3),
        ]
        return shapes.map { c in
            var weightStep: [Ref] = [.value(0), .upstream(2), .gradient(1)]
            if c.hasBias { weightStep.append(.gradient(3)) }
            let steps = [Step(.conv2dBackwardData(c), [.upstream(2), .value(1), .gradient(0)]),
                         Step(.conv2dBackwardWeight(c), weightStep)]
            return .make(.conv2d(c), wrt: c.hasBias ? [0, 1, 3] : [0, 1], steps: steps, linear: true)
        }
    }
}
