import ArgumentParser
import Diffusion

/// The sampler a command runs: `--sampler` and the options of each kind.
struct SamplerOptions: ParsableArguments {
    @Option(help: ArgumentHelp("The sampler (default: the model's configuration: DDIM when its sampling_timesteps < timesteps).", valueName: "name"))
    var sampler: SamplerKind?
    @Option(help: ArgumentHelp("Sampling steps of ddim and dpm++ (default: the configuration's sampling_timesteps, else its timesteps for ddim and 20 for dpm++).", valueName: "n"))
    var steps: Int?
    @Option(help: ArgumentHelp("DDIM eta: 0 deterministic, 1 DDPM-like (default: the configuration's ddim_sampling_eta).", valueName: "x"))
    var eta: Double?
    @Option(help: ArgumentHelp("DPM-Solver++ order: 1, 2 (2M, the default) or 3.", valueName: "n"))
    var order: Int?
    @Option(help: ArgumentHelp("DPM-Solver++ timestep spacing: linspace (default), leading or trailing.", valueName: "name"))
    var timestepSpacing: DPMSolverSampler.Spacing?

    func validate() throws {
        if let steps, steps < 1 { throw ValidationError("--steps must be at least 1, got \(steps)") }
        if let eta, !(eta >= 0 && eta.isFinite) { throw ValidationError("--eta must be non-negative, got \(eta)") }
        if let order, !(1...3).contains(order) { throw ValidationError("--order must be 1, 2 or 3, got \(order)") }
    }

    /// The sampler the options ask for, defaulting to the configuration's; `--steps` or `--eta`
    /// alone select DDIM, `--order` or `--timestep-spacing` alone DPM-Solver++.
    func sampler(for diffusion: DiffusionConfiguration) throws -> any Sampler {
        let implied: SamplerKind? = order != nil || timestepSpacing != nil ? .dpmSolver : steps != nil || eta != nil ? .ddim : nil
        guard let kind = sampler ?? implied else { return SamplerKind.configured(diffusion) }
        do {
            return try kind.sampler(for: diffusion, steps: steps, eta: eta.map(Float.init), order: order, spacing: timestepSpacing)
        } catch let DiffusionError.invalidConfiguration(message) {
            throw ValidationError("--sampler \(kind.rawValue): \(message)")
        }
    }
}
