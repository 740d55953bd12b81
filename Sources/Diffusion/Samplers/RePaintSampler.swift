#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Graph

/// RePaint inpainting (Lugmayr et al. 2022), as the reference's `repaint.py` runs it: the
/// ancestral (DDPM) chain in which, before every step, the known region of x_t is replaced by the
/// known image noised to the step's level, and which now and then goes back up the chain
/// (re-noises) and denoises again, so the generated region can agree with the known one.
///
/// One step at timestep t, with the mask m (1 = known) and the known image k in [−1, 1]:
///
///     x_in  = m·(√ᾱ_t·k + √(1−ᾱ_t)·z₁) + (1 − m)·x_t
///     x'    = coef1·x̂₀(x_in) + coef2·x_in + exp(½·log β̃_t)·z₂      (no z₂ at t = 0)
///     x'    = m·k + (1 − m)·x'                                      (only at t = 0)
///     x_out = a·x' + b·z₃                                           (a = 1, b = 0 unless it jumps back)
///
/// Going back is a step whose `a`, `b` re-noise its result; the steps after it repeat timesteps.
/// Where: after the step at t when t > 0 and (t divisible by `resampleEvery` or t = 1), repeated
/// `resampleIterations` times. How far, by ``Resampling``:
///
/// - ``Resampling/paper``: back `jumpLength` levels, `q(x_{t−1+j} | x_{t−1})`, i.e.
///   `a = √(ᾱ_{t−1+j}/ᾱ_{t−1})`, `b = √(1 − ᾱ_{t−1+j}/ᾱ_{t−1})`, then the j steps t−1+j … t again
///   (the paper's algorithm; the default).
/// - ``Resampling/reference``: what repaint.py 2.3.4 does: one forward step with β at the fixed
///   timestep `jumpLength` (`√(1−β_J)·x + √β_J·z`), then `jumpLength` steps all at timestep
///   `jumpLength`, whatever t is. Kept for parity with the reference (its golden chain); it
///   re-noises one level and denoises at a level unrelated to the chain's, so it is not the default.
public struct RePaintSampler: Sampler, Equatable {
    public enum Resampling: String, CaseIterable, Sendable {
        case paper
        case reference
    }

    public let resampleIterations: Int
    public let jumpLength: Int
    public let resampleEvery: Int
    public let resampling: Resampling

    /// The reference `sample()`'s defaults: 10 iterations, jumps of 10, every 50 timesteps.
    public init(resampleIterations: Int = 10, jumpLength: Int = 10, resampleEvery: Int = 50, resampling: Resampling = .paper) {
        self.resampleIterations = resampleIterations
        self.jumpLength = jumpLength
        self.resampleEvery = resampleEvery
        self.resampling = resampling
    }

    public var description: String {
        "RePaint (\(resampleIterations) resampling iterations, jumps of \(jumpLength) every \(resampleEvery) timesteps, \(resampling.rawValue) resampling)"
    }

    public var coefficientNames: [String] {
        ["posterior_mean_coef1", "posterior_mean_coef2", "noise_scale", "known_signal", "known_noise", "known_at_end",
         "renoise_signal", "renoise_noise"]
    }
    public var carriedState: [String] { [] }
    /// `known`: the image in the model's range; `mask`: 1 where it is known, 0 where it is generated.
    public var inputs: [String] { ["known", "mask"] }
    /// z₁ (the known region's noise), z₂ (the step's), z₃ (going back).
    public var noiseDraws: Int { 3 }

    /// The most steps a chain may have (each one evaluates the network).
    public static let maxSteps = 10_000_000

    /// One step of the plan: its timestep and how it re-noises afterwards.
    struct Entry { var time: Int; var renoise: (a: Double, b: Double) = (1, 0) }

    func entries(_ schedule: NoiseSchedule) throws -> [Entry] {
        let T = schedule.timesteps
        guard resampleIterations >= 0, jumpLength >= 1, resampleEvery >= 1 else {
            throw DiffusionError.invalidConfiguration("RePaint needs resample iterations ≥ 0, a jump length ≥ 1 and resample-every ≥ 1, got "
                + "\(resampleIterations), \(jumpLength), \(resampleEvery)")
        }
        if resampling == .reference, jumpLength >= T {
            throw DiffusionError.invalidConfiguration("the reference resampling denoises at timestep jump length \(jumpLength), which must be below T = \(T)")
        }
        let ac = schedule.alphasCumprod.map(Double.init)
        var out: [Entry] = []
        for t in stride(from: T - 1, through: 0, by: -1) {
            out.append(Entry(time: t))
            guard t > 0, t % resampleEvery == 0 || t == 1 else { continue }
            for _ in 0..<resampleIterations {
                switch resampling {
                case .paper:
                    // From level t−1 back up j levels, then the j steps down to level t−1 again.
                    let j = min(jumpLength, T - t)
                    let ratio = ac[t - 1 + j] / ac[t - 1]
                    out[out.count - 1].renoise = (ratio.squareRoot(), (1 - ratio).squareRoot())
                    for tau in stride(from: t - 1 + j, through: t, by: -1) { out.append(Entry(time: tau)) }
                case .reference:
                    let beta = Double(schedule.betas[jumpLength])
                    out[out.count - 1].renoise = ((1 - beta).squareRoot(), beta.squareRoot())
                    for _ in 0..<jumpLength { out.append(Entry(time: jumpLength)) }
                }
                guard out.count <= RePaintSampler.maxSteps else {
                    throw DiffusionError.invalidConfiguration("RePaint with these settings runs more than \(RePaintSampler.maxSteps) steps")
                }
            }
        }
        return out
    }

    public func plan(_ schedule: NoiseSchedule) throws -> SamplerPlan {
        let steps = try entries(schedule)
        let rows: [[Float]] = steps.map { e in
            let t = e.time
            return [schedule.posteriorMeanCoef1[t], schedule.posteriorMeanCoef2[t],
                    t > 0 ? expf(0.5 * schedule.posteriorLogVarianceClipped[t]) : 0,
                    schedule.sqrtAlphasCumprod[t], schedule.sqrtOneMinusAlphasCumprod[t], t == 0 ? 1 : 0,
                    Float(e.renoise.a), Float(e.renoise.b)]
        }
        return SamplerPlan(times: steps.map(\.time), coefficients: rows, noisyStepCount: steps.count)
    }

    public func modelInput(_ g: GraphBuilder, _ s: SamplerStepContext) throws -> Tensor {
        let (known, mask) = (try s.input("known"), try s.input("mask"))
        let weighted = try g.add(g.mul(s.coefficient("known_signal"), known), g.mul(s.coefficient("known_noise"), s.noises[0]))
        return try g.add(g.mul(mask, weighted), g.mul(g.sub(g.constant([1], shape: [1, 1, 1, 1]), mask), s.x))
    }

    public func update(_ g: GraphBuilder, _ s: SamplerStepInputs) throws -> SamplerUpdate {
        let (known, mask) = (try s.input("known"), try s.input("mask"))
        let noises = s.context.noises
        var x = try g.add(g.mul(s.coefficient("posterior_mean_coef1"), s.xStart), g.mul(s.coefficient("posterior_mean_coef2"), s.x))
        x = try g.add(x, g.mul(s.coefficient("noise_scale"), noises[1]))
        // At t = 0 the known region is the known image itself.
        let blended = try g.add(g.mul(mask, known), g.mul(g.sub(g.constant([1], shape: [1, 1, 1, 1]), mask), x))
        x = try g.add(x, g.mul(s.coefficient("known_at_end"), g.sub(blended, x)))
        let next = try g.add(g.mul(s.coefficient("renoise_signal"), x), g.mul(s.coefficient("renoise_noise"), noises[2]))
        return SamplerUpdate(next: next)
    }
}
