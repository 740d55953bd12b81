/// The samplers by the names the CLI takes (`--sampler NAME`).
public enum SamplerKind: String, CaseIterable, Sendable {
    /// ``DDPMSampler``: all T timesteps.
    case ddpm
    /// ``DDIMSampler``.
    case ddim
    /// ``DPMSolverSampler``: DPM-Solver++ multistep (2M by default).
    case dpmSolver = "dpm++"

    /// Steps of DPM-Solver++ when neither the options nor the configuration (a
    /// `sampling_timesteps` below T) give a number: the 20 its authors and diffusers recommend
    /// for image quality close to a long chain's.
    public static let dpmSolverDefaultSteps = 20

    /// The sampler of this kind for a model with `configuration`. `steps` and `eta` default to the
    /// configuration's `sampling_timesteps` and `ddim_sampling_eta`; `order` (default 2) and
    /// `spacing` (default linspace) apply to DPM-Solver++ only.
    ///
    /// - Throws: ``DiffusionError/invalidConfiguration(_:)`` naming the option that does not
    ///   apply to this kind or is out of range.
    public func sampler(for configuration: DiffusionConfiguration, steps: Int? = nil, eta: Float? = nil, order: Int? = nil,
                        spacing: DPMSolverSampler.Spacing? = nil) throws -> any Sampler {
        let timesteps = configuration.timesteps
        if self != .dpmSolver, order != nil || spacing != nil {
            throw DiffusionError.invalidConfiguration("the order and the timestep spacing apply to the dpm++ sampler only")
        }
        switch self {
        case .ddpm:
            if let steps, steps != timesteps {
                throw DiffusionError.invalidConfiguration("the ddpm sampler runs all \(timesteps) timesteps; use ddim for \(steps) steps")
            }
            if eta != nil { throw DiffusionError.invalidConfiguration("eta applies to the ddim sampler only") }
            return DDPMSampler()
        case .ddim:
            let steps = steps ?? configuration.resolvedSamplingTimesteps
            let eta = eta ?? configuration.ddimSamplingEta
            guard (1...timesteps).contains(steps) else {
                throw DiffusionError.invalidConfiguration("steps must be in 1...\(timesteps) (the model's timesteps), got \(steps)")
            }
            guard eta >= 0, eta.isFinite else { throw DiffusionError.invalidConfiguration("eta must be non-negative, got \(eta)") }
            return DDIMSampler(steps: steps, eta: eta)
        case .dpmSolver:
            if eta != nil { throw DiffusionError.invalidConfiguration("eta applies to the ddim sampler only; dpm++ is deterministic") }
            let steps = steps ?? (configuration.isDDIMSampling ? configuration.resolvedSamplingTimesteps : min(SamplerKind.dpmSolverDefaultSteps, timesteps))
            let sampler = DPMSolverSampler(steps: steps, order: order ?? 2, spacing: spacing ?? .linspace)
            _ = try sampler.times(trainingTimesteps: timesteps)
            return sampler
        }
    }

    /// The sampler the reference's `sample()` picks for a configuration: DDIM with its
    /// `sampling_timesteps` and `ddim_sampling_eta` when `sampling_timesteps < timesteps`, else DDPM.
    public static func configured(_ configuration: DiffusionConfiguration) -> any Sampler {
        configuration.isDDIMSampling
            ? DDIMSampler(steps: configuration.resolvedSamplingTimesteps, eta: configuration.ddimSamplingEta) : DDPMSampler()
    }
}
