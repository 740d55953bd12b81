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
    ///   - selfConditioning: for a self-conditioning Unet, the reference's coin (one per batch,
    ///     p = ½) that decides whether the model is conditioned on its own detached x̂₀ prediction:
    ///     `.device` flips it with Philox every step; `.input(name)` reads f32 `[1]` (1 = condition).
    ///   - evaluationMode: the loss of the model in `eval()` mode, where dropout is the identity (what
    ///     the golden cases record). Without it a Unet with dropout is refused: only the evaluation
    ///     form of dropout is built.
    public func buildTrainingLoss(in g: GraphBuilder, batch: Int, imageInput: String = "image",
                                  timesteps: TrainingSource = .device, noise: TrainingSource = .device,
                                  selfConditioning: TrainingSource = .device, evaluationMode: Bool = false) throws -> TrainingLoss {
        guard batch >= 1 else { throw DiffusionError.invalidConfiguration("the batch size must be positive, got \(batch)") }
        guard unet.configuration.dropout == 0 || evaluationMode else {
            throw DiffusionError.invalidConfiguration(
                "dropout \(unet.configuration.dropout) is only built in evaluation form (identity); train with dropout 0")
        }
        let weights = try unet.declareParameters(in: g)
        return try g.scope("diffusion") {
            let image = try g.input(imageInput, imageShape(batch: batch))
            let terms = try DiffusionLossTerms(g, configuration: configuration, schedule: schedule, x0: normalize(g, image),
                                               timesteps: timesteps, noise: noise)
            let (xt, time, rows) = (terms.xt, terms.time, terms.rows)
            let (sqrtAC, sqrtOneMinusAC) = (terms.sqrtAC, terms.sqrtOneMinusAC)
            var condition: Tensor?
            if unet.configuration.selfCondition {
                condition = try g.scope("self_condition") {
                    try selfConditioningInput(g, weights: weights, xt: xt, time: time, sqrtAC: sqrtAC,
                                              sqrtOneMinusAC: sqrtOneMinusAC, rows: rows, batch: batch, source: selfConditioning)
                }
            }
            let prediction = try unet.forward(g, weights: weights, x: xt, time: time, selfCondition: condition)
            let loss = try g.mseLoss(prediction, terms.target, weights: terms.lossWeight)
            return TrainingLoss(loss: loss, weights: weights, imageInput: imageInput, prediction: prediction, target: terms.target)
        }
    }
}

/// What the reference's `p_losses` computes around the model call, shared by both model kinds:
/// timesteps and noise, the per-sample schedule coefficients, `x_t`, the regression target and
/// the loss weights.
struct DiffusionLossTerms {
    let x0: Tensor
    let eps: Tensor
    /// One gathered row per sample: `[√ᾱ, √(1−ᾱ), w, t, √(1/ᾱ), √(1/ᾱ − 1)]`, `[B, 6]`.
    let rows: Tensor
    let sqrtAC: Tensor
    let sqrtOneMinusAC: Tensor
    /// The loss weight `w_t` `[B]` and the timestep as f32 `[B]`.
    let lossWeight: Tensor
    let time: Tensor
    let xt: Tensor
    let target: Tensor

    /// Steps 1-4 of ``GaussianDiffusion/buildTrainingLoss(in:batch:imageInput:timesteps:noise:selfConditioning:evaluationMode:)``
    /// for the normalised images `x0` `[B, C, H, W]`.
    init(_ g: GraphBuilder, configuration: DiffusionConfiguration, schedule: NoiseSchedule, x0: Tensor,
         timesteps: TrainingSource, noise: TrainingSource) throws {
        let shape = x0.shape
        let batch = shape[0]
        let T = schedule.timesteps
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
        // One gather of [√ᾱ, √(1−ᾱ), w, t, √(1/ᾱ), √(1/ᾱ − 1)] per sample.
        var table: [Float] = []
        table.reserveCapacity(6 * T)
        for i in 0..<T {
            table += [schedule.sqrtAlphasCumprod[i], schedule.sqrtOneMinusAlphasCumprod[i], schedule.lossWeight[i], Float(i),
                      schedule.sqrtRecipAlphasCumprod[i], schedule.sqrtRecipm1AlphasCumprod[i]]
        }
        let rows = try g.gather(g.constant(table, shape: [T, 6]), t)
        func column(_ j: Int) throws -> Tensor { try g.reshape(g.slice(rows, axis: 1, start: j, length: 1), [batch, 1, 1, 1]) }
        let (sqrtAC, sqrtOneMinusAC) = (try column(0), try column(1))
        self.rows = rows
        self.sqrtAC = sqrtAC
        self.sqrtOneMinusAC = sqrtOneMinusAC
        lossWeight = try g.reshape(g.slice(rows, axis: 1, start: 2, length: 1), [batch])
        time = try g.reshape(g.slice(rows, axis: 1, start: 3, length: 1), [batch])
        xt = try g.add(g.mul(sqrtAC, x0), g.mul(sqrtOneMinusAC, eps))
        switch configuration.objective {
        case .predNoise: target = eps
        case .predX0: target = x0
        case .predV: target = try g.sub(g.mul(sqrtAC, eps), g.mul(sqrtOneMinusAC, x0))
        }
        self.x0 = x0
        self.eps = eps
    }
}

extension GaussianDiffusion {
    /// The reference's self-conditioning input: with probability ½ (one coin per batch), the
    /// model's own x̂₀ prediction from `x_t` without self-conditioning, unclipped and detached;
    /// otherwise zeros.
    ///
    /// The prediction is always computed (a graph has no branches) and multiplied by the coin,
    /// so a step costs two forwards and one backward where the reference averages 1.5 forwards.
    func selfConditioningInput(_ g: GraphBuilder, weights: UnetWeights, xt: Tensor, time: Tensor, sqrtAC: Tensor,
                               sqrtOneMinusAC: Tensor, rows: Tensor, batch: Int, source: TrainingSource) throws -> Tensor {
        let coin: Tensor
        switch source {
        case .device:
            // u ∈ [0, 1) is a multiple of 2⁻²⁴, so (½ − u)·2²⁴ is an exact integer: ≥ 1 when
            // u < ½, ≤ 0 otherwise, and clamping it to [0, 1] gives exactly 1 or 0.
            let u = try g.randomUniform([1])
            coin = try g.clamp(g.affine(u, scale: -0x1p24, shift: 0x1p23), low: 0, high: 1)
        case let .input(name):
            coin = try g.input(name, [1])
        }
        let out = try unet.forward(g, weights: weights, x: xt, time: time)
        var x0: Tensor
        switch configuration.objective {
        case .predNoise:
            // x̂₀ = √(1/ᾱ)·x_t − √(1/ᾱ − 1)·ε̂, with both coefficients gathered per sample.
            let (sqrtRecip, sqrtRecipm1) = try (g.reshape(g.slice(rows, axis: 1, start: 4, length: 1), [batch, 1, 1, 1]),
                                                g.reshape(g.slice(rows, axis: 1, start: 5, length: 1), [batch, 1, 1, 1]))
            x0 = try g.sub(g.mul(sqrtRecip, xt), g.mul(sqrtRecipm1, out))
        case .predX0:
            x0 = out
        case .predV:
            x0 = try g.sub(g.mul(sqrtAC, xt), g.mul(sqrtOneMinusAC, out))
        }
        x0 = try g.stopGradient(x0)
        return try g.mul(x0, g.reshape(coin, [1, 1, 1, 1]))
    }
}
