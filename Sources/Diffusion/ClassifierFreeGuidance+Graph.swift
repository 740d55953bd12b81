import Graph

/// The guided prediction of one sampling step and the null prediction it was made from.
public struct GuidedPrediction {
    /// The guided model output `[B, C, H, W]` (the conditional output when the scale is 1).
    public let guided: Tensor
    /// The null-class output `[B, C, H, W]` (the conditional output when the scale is 1), for CFG++.
    public let null: Tensor
}

extension ConditionalUnet {
    /// Builds `forward_with_cond_scale` for `x` `[B, C, H, W]`, `time` f32 `[B]` and `classes` f32
    /// `[B]`: any sampler can use `guided` where it would use a plain Unet's output.
    ///
    /// The conditional and the null prediction run as ONE forward of `2B` samples (x, t and the
    /// classes repeated, keep mask `1…1 0…0`), not two passes: the weights are read once per
    /// layer for both halves, every GEMM is twice as tall (better use of the cores), and the step
    /// schedule has one Unet's launches instead of two. The combination follows
    /// ``Guidance`` exactly, per sample.
    public func guidedForward(_ g: GraphBuilder, weights: UnetWeights, x: Tensor, time: Tensor, classes: Tensor,
                              guidance: Guidance) throws -> GuidedPrediction {
        try guidance.validate()
        guard guidance.needsNullPrediction else {
            let out = try forward(g, weights: weights, x: x, time: time, classes: classes, keep: nil)
            return GuidedPrediction(guided: out, null: out)
        }
        let b = x.shape[0]
        let keep = try g.constant([Float](repeating: 1, count: b) + [Float](repeating: 0, count: b), shape: [2 * b])
        let both = try forward(g, weights: weights, x: g.concat([x, x], axis: 0), time: g.concat([time, time], axis: 0),
                               classes: g.concat([classes, classes], axis: 0), keep: keep)
        let cond = try g.slice(both, axis: 0, start: 0, length: b)
        let null = try g.slice(both, axis: 0, start: b, length: b)
        return try g.scope("guidance") {
            let guided = try ClassifierFreeGuidance.combine(g, conditional: cond, null: null, guidance: guidance)
            return GuidedPrediction(guided: guided, null: null)
        }
    }
}

/// The guidance arithmetic of ``Guidance`` on graph tensors.
public enum ClassifierFreeGuidance {
    /// `ŝ` (with projection and rescaling as configured) from the conditional and null outputs `[B, …]`.
    public static func combine(_ g: GraphBuilder, conditional cond: Tensor, null: Tensor, guidance: Guidance) throws -> Tensor {
        let axes = Array(1..<cond.rank)
        var update = try g.sub(cond, null)
        if guidance.removeParallelComponent {
            // unit = ε_c / max(‖ε_c‖, 1e−12) (F.normalize); parallel = (update·unit)·unit.
            let norm = try g.sqrt(g.sum(g.square(cond), axes: axes, keepDims: true))
            let unit = try g.div(cond, g.maximum(norm, g.scalar(1e-12)))
            let parallel = try g.mul(g.sum(g.mul(update, unit), axes: axes, keepDims: true), unit)
            // orthogonal + f·parallel = update − (1 − f)·parallel
            update = try g.sub(update, g.mul(parallel, 1 - guidance.keepParallelFraction))
        }
        let scaled = try g.add(cond, g.mul(update, guidance.scale - 1))
        let phi = guidance.rescaledPhi
        guard phi != 0 else { return scaled }
        let ratio = try g.div(standardDeviation(g, cond, axes: axes), standardDeviation(g, scaled, axes: axes))
        // φ·ŝ·ratio + (1 − φ)·ŝ
        return try g.add(g.mul(g.mul(scaled, ratio), phi), g.mul(scaled, 1 - phi))
    }

    /// `torch.std(x, dim=axes, keepdim=True)`: the unbiased (n − 1) standard deviation.
    static func standardDeviation(_ g: GraphBuilder, _ x: Tensor, axes: [Int]) throws -> Tensor {
        let n = axes.reduce(1) { $0 * x.shape[$1] }
        let centred = try g.sub(x, g.mean(x, axes: axes, keepDims: true))
        return try g.sqrt(g.mul(g.sum(g.square(centred), axes: axes, keepDims: true), 1 / Float(n - 1)))
    }
}
