import Devices
import Graph
import SafeTensors

/// Where the sampler's random numbers come from.
public enum SamplerNoise: Sendable, Equatable {
    /// x_T and every step's noise drawn with Philox on the device from this seed.
    case device(seed: UInt64)
    /// x_T `[B, C, H, W]` and the noise of each noisy step, `[steps, B, C, H, W]` flattened in
    /// chain order (the reference's recorded `torch.randn` draws), uploaded once before the chain.
    case recorded(xT: [Float], noise: [Float])
}

/// Runs a sampling chain on one device with x_t resident there from x_T to x₀.
///
/// One step is one compiled graph: the model output from the ``Denoiser`` (the Unet forward by
/// default), the x̂₀ prediction from it with the reference's clipping, and the ``Sampler``'s update
/// (`μ̃ + σ·z` for DDPM, `√ᾱ'·x̂₀ + c·ε̂ + σ·z` for DDIM, …). The per-step coefficients (timestep,
/// √(1/ᾱ), √(1/ᾱ−1), √ᾱ, √(1−ᾱ), then the sampler's named coefficients) form one row of a table
/// uploaded once; before each step the host enqueues a device copy of that row into the graph's
/// coefficient slot, replays the schedule, and enqueues copies of x_{t−1} (and, with
/// self-conditioning, x̂₀, and the sampler's carried state) back into the state slots. The chain
/// therefore uploads and downloads nothing until the final image, and the host only launches.
///
/// The state slots are parameters of the step graph (`sampler.x`, `sampler.coefficients`,
/// `sampler.self_cond`, `sampler.noise`, `sampler.state.<name>`) after the denoiser's own, so the
/// Unet weights occupy the same leading part of the parameter buffer as in any graph built from
/// the same ``Unet``.
public final class DiffusionSampler {
    /// The diffusion (``GaussianDiffusion``, or the class-conditional ``ConditionalDiffusion``).
    public let diffusion: any DiffusionProcess
    /// The update rule.
    public let sampler: any Sampler
    /// The model output provider.
    public let denoiser: any Denoiser
    public let batch: Int
    public let queue: Queue
    /// The compiled step (its parameter store holds the Unet weights and the state slots).
    public let step: CompiledGraph
    /// The timesteps of the chain, in order (T−1 … 0 for DDPM; the DDIM time list).
    public let times: [Int]
    /// Steps of the chain that add noise (the first `noisyStepCount`).
    public let noisyStepCount: Int

    let unetParameterCount: Int
    let coefficientTable: Buffer
    let rowWidth: Int
    let usesRecordedNoise: Bool

    /// Compiles the step graph for `batch` images on `queue`'s device. Load weights with
    /// ``loadWeights(_:prefix:)`` or ``copyWeights(from:)`` before sampling.
    ///
    /// - Parameters:
    ///   - denoiser: the model output provider; nil uses the diffusion's default (the Unet, or
    ///     the guided class-conditional Unet with the reference's default guidance).
    ///   - skippingFirst: leave out the sampler's first steps: the chain starts from a given x
    ///     (``sample(noise:start:inputs:checkEachStep:capture:)``) at the noise level of the
    ///     first step kept (image-to-image, interpolation).
    public init(diffusion: any DiffusionProcess, sampler: any Sampler, denoiser: (any Denoiser)? = nil, batch: Int, queue: Queue,
                recordedNoise: Bool = false, skippingFirst skipped: Int = 0) throws {
        guard batch >= 1 else { throw DiffusionError.invalidConfiguration("the batch size must be positive, got \(batch)") }
        self.diffusion = diffusion
        self.sampler = sampler
        let denoiser = denoiser ?? diffusion.defaultDenoiser
        self.denoiser = denoiser
        self.batch = batch
        self.queue = queue
        self.usesRecordedNoise = recordedNoise
        let schedule = diffusion.schedule
        let plan = skipped == 0 ? try sampler.plan(schedule) : try sampler.plan(schedule, skippingFirst: skipped)
        guard plan.coefficients.count == plan.times.count,
              plan.coefficients.allSatisfy({ $0.count == sampler.coefficientNames.count }) else {
            throw DiffusionError.invalidConfiguration("internal: \(sampler) planned coefficient rows that do not match its \(plan.times.count) steps "
                + "of \(sampler.coefficientNames.count) coefficients")
        }
        times = plan.times
        noisyStepCount = plan.noisyStepCount
        rowWidth = SamplerRow.predictionWidth + sampler.coefficientNames.count
        let rows = zip(plan.times, plan.coefficients).map { SamplerRow.prediction(schedule, $0) + $1 }
        coefficientTable = try queue.makeBuffer(rows.flatMap { $0 })
        let g = GraphBuilder()
        let network = try denoiser.declare(in: g, batch: batch)
        unetParameterCount = denoiser.network.parameterCount
        let graph = try SamplerGraph.build(g, diffusion: diffusion, network: network, sampler: sampler, batch: batch,
                                           noise: noisyStepCount > 0 ? (recordedNoise ? .recorded : .device) : .none)
        step = try CompiledGraph(g, outputs: graph.outputs, queue: queue)
    }

    /// Loads a reference state_dict (keys `prefix + <reference key>`) into the step's weights.
    public func loadWeights(_ file: SafeTensorsFile, prefix: String = "") throws {
        try denoiser.network.loadStateDict(file, prefix: prefix, into: step.parameters, queue: queue)
    }

    /// Copies the Unet weights from another store on the same device (e.g. a training step's EMA)
    /// with one device-to-device copy; the store's leading entries must be this Unet's parameters.
    public func copyWeights(from store: ParameterStore) throws {
        let mine = Array(step.parameters.layout.entries.prefix(denoiser.network.parameterSpecs.count))
        let theirs = Array(store.layout.entries.prefix(mine.count))
        guard theirs.count == mine.count, zip(mine, theirs).allSatisfy({ $0.name == $1.name && $0.offset == $1.offset && $0.count == $1.count }) else {
            throw DiffusionError.invalidConfiguration("the parameter store does not start with this Unet's parameters in state_dict order")
        }
        try queue.copy(from: store.buffer.slice(), to: step.parameters.buffer.slice(), byteCount: unetParameterCount * 4)
    }
}
