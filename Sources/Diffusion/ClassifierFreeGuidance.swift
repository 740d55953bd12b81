/// How a class-conditional model's prediction is guided (the reference's
/// `forward_with_cond_scale` arguments and `GaussianDiffusion(use_cfg_plus_plus=…)`).
///
/// With ε_c the conditional and ε_∅ the null prediction, `update = ε_c − ε_∅`:
///
/// 1. with `removeParallelComponent`, the part of `update` parallel to ε_c (per sample, over all
///    of C·H·W) is removed, keeping `keepParallelFraction` of it: `update ⊥ ε_c + f·update ∥ ε_c`
///    (Sadat et al. 2024, "Eliminating oversaturation and artifacts of high guidance scales":
///    the parallel part mostly saturates colours, the orthogonal part carries the class);
/// 2. `ŝ = ε_c + (scale − 1)·update` (with no projection this is the classic
///    `ε_∅ + scale·(ε_c − ε_∅)`);
/// 3. with `rescaledPhi` φ > 0, `ŝ` is rescaled to the standard deviation of ε_c and blended:
///    `φ·ŝ·std(ε_c)/std(ŝ) + (1 − φ)·ŝ` (Lin et al. 2023, "Common diffusion noise schedules and
///    sample steps are flawed", §3.4; std is the unbiased one over C·H·W, as `torch.std`).
///
/// `scale` 1 is the plain conditional model: the null prediction is not computed at all.
///
/// With CFG++ (Chung et al. 2024) DDIM renoises with the *null* prediction's noise instead of the
/// guided one (x̂₀ still comes from the guided prediction); DDPM uses only x̂₀ and is unchanged.
public struct Guidance: Equatable, Sendable {
    /// `cond_scale`; the reference samplers default to 6.
    public var scale: Float
    /// `rescaled_phi`; the reference samplers default to 0.7.
    public var rescaledPhi: Float
    /// `remove_parallel_component`, on by default in the reference.
    public var removeParallelComponent: Bool
    /// `keep_parallel_frac` (0 by default).
    public var keepParallelFraction: Float
    /// `use_cfg_plus_plus`.
    public var cfgPlusPlus: Bool

    public init(scale: Float = 6, rescaledPhi: Float = 0.7, removeParallelComponent: Bool = true,
                keepParallelFraction: Float = 0, cfgPlusPlus: Bool = false) {
        self.scale = scale
        self.rescaledPhi = rescaledPhi
        self.removeParallelComponent = removeParallelComponent
        self.keepParallelFraction = keepParallelFraction
        self.cfgPlusPlus = cfgPlusPlus
    }

    /// Whether a step needs the null prediction (any scale but 1).
    public var needsNullPrediction: Bool { scale != 1 }

    /// Refuses values outside the domain where the formulas mean something.
    public func validate() throws {
        guard scale.isFinite, scale >= 0 else {
            throw DiffusionError.invalidConfiguration("guidance scale (cond_scale) must be finite and non-negative, got \(scale)")
        }
        guard rescaledPhi.isFinite, (0...1).contains(rescaledPhi) else {
            throw DiffusionError.invalidConfiguration("guidance rescale (rescaled_phi) must be in [0, 1], got \(rescaledPhi)")
        }
        guard keepParallelFraction.isFinite, (0...1).contains(keepParallelFraction) else {
            throw DiffusionError.invalidConfiguration("keep_parallel_frac must be in [0, 1], got \(keepParallelFraction)")
        }
    }
}
