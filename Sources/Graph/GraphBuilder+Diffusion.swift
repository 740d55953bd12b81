import Devices

/// Diffusion helpers: timestep embeddings, per-timestep coefficient lookup, the weighted MSE loss.
extension GraphBuilder {
    /// Sinusoidal embedding of the reference Unet: `t` f32 `[N]` → `[N, dim]` = `[sin(t·f) ‖ cos(t·f)]`.
    public func timestepEmbedding(_ t: Tensor, dim: Int, theta: Float = 10000) throws -> Tensor {
        try apply1(.timestepEmbedding(dim: dim, theta: theta), [t])
    }

    /// Row gather: `table` f32 `[R, W]`, `index` i32 `[rows]` → `[rows, W]` (indices clamped to `0..<R`).
    public func gather(_ table: Tensor, _ index: Tensor) throws -> Tensor {
        try apply1(.gather, [table, index])
    }

    /// The i32 indices `index` `[rows]` in `0..<bound` as f32 values (a gather from `0, 1, ..., bound−1`),
    /// e.g. integer timesteps for ``timestepEmbedding(_:dim:theta:)``.
    public func indexToFloat(_ index: Tensor, bound: Int) throws -> Tensor {
        guard bound > 0 else { throw problem("index_to_float", [index], "bound \(bound) must be positive") }
        let table = try constant((0..<bound).map(Float.init), shape: [bound, 1])
        return try reshape(gather(table, index), [index.count])
    }

    /// The lucidrains loss: per-sample mean over every non-batch axis of `(prediction − target)²`,
    /// times `weights` `[N]` when given, then the mean over the batch. Returns a scalar `[]`.
    public func mseLoss(_ prediction: Tensor, _ target: Tensor, weights: Tensor? = nil) throws -> Tensor {
        guard prediction.shape == target.shape, prediction.rank >= 1 else {
            throw problem("mse_loss", [prediction, target], "prediction and target must have the same shape [N, ...]")
        }
        let n = prediction.shape[0]
        if let weights, weights.count != n {
            throw problem("mse_loss", [prediction, target, weights], "weights must have N = \(n) elements")
        }
        let diff = try sub(prediction, target)
        let sq = try square(diff)
        var perSample = prediction.rank > 1 ? try mean(sq, axes: Array(1..<prediction.rank)) : sq
        if let weights { perSample = try mul(perSample, reshape(weights, [n])) }
        return try mean(perSample, axes: [0])
    }
}
