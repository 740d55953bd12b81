import Graph

/// Where a training input comes from: drawn on the device each step, or supplied by the host.
public enum TrainingSource: Sendable, Equatable {
    /// Philox on the device (fresh every step): nothing to upload.
    case device
    /// A graph input of this name, uploaded by the host (e.g. a golden case's recorded values).
    case input(String)
}

/// The training loss graph and the tensors a caller may want to read back.
public struct TrainingLoss {
    /// The scalar loss `[]`.
    public let loss: Tensor
    /// The Unet's weights in this graph.
    public let weights: UnetWeights
    /// The name of the image input (`[B, C, H, W]`, in [0, 1] when auto-normalising).
    public let imageInput: String
    /// The Unet output and the regression target, `[B, C, H, W]`.
    public let prediction: Tensor
    public let target: Tensor
}

extension GaussianDiffusion {
    /// Builds the reference training loss (`GaussianDiffusion.forward`) into `g`:
    ///
    /// 1. `x₀ = normalize(image)`; t ~ U{0…T−1}; ε ~ N(0, I) (or the given inputs);
    /// 2. offset noise `ε += s·n[b, c]` with n ~ N(0, I) when `offset_noise_strength` s > 0;
    /// 3. `x_t = √ᾱ_t·x₀ + √(1−ᾱ_t)·ε`, with the coefficients gathered per sample on the device;
    /// 4. target ε, x₀ or `v = √ᾱ_t·ε − √(1−ᾱ_t)·x₀`;
    /// 5. loss = mean over the batch of `w_t · mean_{c,h,w}(unet(x_t, t) − target)²`.
    ///
    /// - Parameters:
    ///   - timesteps: `.device` draws t with Philox; `.input(name)` reads i32 `[B]`.
    ///   - noise: `.device` draws ε with Philox; `.input(name)` reads f32 `[B, C, H, W]` (and, with
    ///     offset noise, `name + ".offset"` f32 `[B, C]`).
    /// - Throws: for a self-conditioning Unet, because the reference's 50% self-conditioning pass
    ///   needs a gradient stop (`detach`) that the graph builder does not offer.
    public func buildTrainingLoss(in g: GraphBuilder, batch: Int, imageInput: String = "image",
                                  timesteps: TrainingSource = .device, noise: TrainingSource = .device) throws -> TrainingLoss {
        guard batch >= 1 else { throw DiffusionError.invalidConfiguration("the batch size must be positive, got \(batch)") }
        if unet.configuration.selfCondition {
            throw DiffusionError.invalidConfiguration(
                "training a self-conditioning Unet needs a gradient stop (the reference's detach) in the graph builder; "
                    + "sampling with self-conditioning is supported")
        }
        guard unet.configuration.dropout == 0 else {
            throw DiffusionError.invalidConfiguration(
                "dropout \(unet.configuration.dropout) is only supported in evaluation form (sampling); train with dropout 0")
        }
        let shape = imageShape(batch: batch)
        let T = schedule.timesteps
        let weights = try unet.declareParameters(in: g)
        return try g.scope("diffusion") {
            let image = try g.input(imageInput, shape)
            let x0 = try normalize(g, image)
            let t: Tensor
            switch timesteps {
            case .device: t = try g.randomIntegers([batch], low: 0, high: Int32(T))
            case let .input(name): t = try g.input(name, [batch], dtype: .int32)
            }
            var eps: Tensor
            switch noise {
            case .device: eps = try g.randomNormal(shape)
            case let .input(name): eps = try g.input(name, shape)
            }
            let strength = configuration.offsetNoiseStrength
            if strength > 0 {
                let offset: Tensor
                switch noise {
                case .device: offset = try g.randomNormal([batch, shape[1]])
                case let .input(name): offset = try g.input(name + ".offset", [batch, shape[1]])
                }
                eps = try g.add(eps, g.reshape(g.mul(offset, strength), [batch, shape[1], 1, 1]))
            }
            // One gather of [√ᾱ, √(1−ᾱ), w, t] per sample.
            var table: [Float] = []
            table.reserveCapacity(4 * T)
            for i in 0..<T {
                table += [schedule.sqrtAlphasCumprod[i], schedule.sqrtOneMinusAlphasCumprod[i], schedule.lossWeight[i], Float(i)]
            }
            let rows = try g.gather(g.constant(table, shape: [T, 4]), t)
            func column(_ j: Int) throws -> Tensor { try g.reshape(g.slice(rows, axis: 1, start: j, length: 1), [batch, 1, 1, 1]) }
            let (sqrtAC, sqrtOneMinusAC) = (try column(0), try column(1))
            let lossWeight = try g.reshape(g.slice(rows, axis: 1, start: 2, length: 1), [batch])
            let time = try g.reshape(g.slice(rows, axis: 1, start: 3, length: 1), [batch])

            let xt = try g.add(g.mul(sqrtAC, x0), g.mul(sqrtOneMinusAC, eps))
            let prediction = try unet.forward(g, weights: weights, x: xt, time: time)
            let target: Tensor
            switch configuration.objective {
            case .predNoise: target = eps
            case .predX0: target = x0
            case .predV: target = try g.sub(g.mul(sqrtAC, eps), g.mul(sqrtOneMinusAC, x0))
            }
            let loss = try g.mseLoss(prediction, target, weights: lossWeight)
            return TrainingLoss(loss: loss, weights: weights, imageInput: imageInput, prediction: prediction, target: target)
        }
    }
}
