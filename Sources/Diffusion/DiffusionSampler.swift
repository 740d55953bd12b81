import Devices
import Graph
import SafeTensors

/// Which reverse process to run.
public enum SamplingMethod: Sendable, Equatable {
    /// The ancestral chain over all T timesteps (`p_sample_loop`), fixed-small variance.
    case ddpm
    /// DDIM (`ddim_sample`) over `steps` timesteps with noise scale `eta`.
    case ddim(steps: Int, eta: Float)

    /// The method the reference's `sample` picks for a configuration (DDIM when
    /// `sampling_timesteps < timesteps`).
    public init(_ configuration: DiffusionConfiguration) {
        self = configuration.isDDIMSampling
            ? .ddim(steps: configuration.resolvedSamplingTimesteps, eta: configuration.ddimSamplingEta) : .ddpm
    }
}

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
/// One step is one compiled graph: the Unet forward, the x₀ and ε predictions with the reference's
/// clipping, and the update (`μ̃ + σ·z` for DDPM, `√ᾱ'·x̂₀ + c·ε̂ + σ·z` for DDIM). The per-step
/// coefficients (timestep, √(1/ᾱ), √(1/ᾱ−1), √ᾱ, √(1−ᾱ), and the update's three) form one row of a
/// table uploaded once; before each step the host enqueues a device copy of that row into the
/// graph's coefficient slot, replays the schedule, and enqueues copies of x_{t−1} (and, with
/// self-conditioning, x̂₀) back into the state slots. The chain therefore uploads and downloads
/// nothing until the final image, and the host only launches.
///
/// The state slots are parameters of the step graph (`sampler.x`, `sampler.coefficients`,
/// `sampler.self_cond`, `sampler.noise`) after the Unet's own, so the Unet weights occupy the same
/// leading part of the parameter buffer as in any graph built from the same ``Unet``.
public final class DiffusionSampler {
    public let diffusion: GaussianDiffusion
    public let method: SamplingMethod
    public let batch: Int
    public let queue: Queue
    /// The compiled step (its parameter store holds the Unet weights and the state slots).
    public let step: CompiledGraph
    /// The timesteps of the chain, in order (T−1 … 0 for DDPM; the DDIM time list).
    public let times: [Int]

    let unetParameterCount: Int
    let coefficientTable: Buffer
    let rowWidth: Int
    let usesRecordedNoise: Bool
    let addsNoise: Bool

    /// Compiles the step graph for `batch` images on `queue`'s device. Load weights with
    /// ``loadWeights(_:prefix:)`` or ``copyWeights(from:)`` before sampling.
    public init(diffusion: GaussianDiffusion, method: SamplingMethod, batch: Int, queue: Queue,
                recordedNoise: Bool = false) throws {
        guard batch >= 1 else { throw DiffusionError.invalidConfiguration("the batch size must be positive, got \(batch)") }
        self.diffusion = diffusion
        self.method = method
        self.batch = batch
        self.queue = queue
        self.usesRecordedNoise = recordedNoise
        let schedule = diffusion.schedule
        let rows: [[Float]]
        switch method {
        case .ddpm:
            let steps = schedule.ddpmSteps
            times = steps.map(\.time)
            rows = steps.map { s in
                SamplerRow.prediction(schedule, s.time) + [s.coef1, s.coef2, s.noiseScale]
            }
            addsNoise = times.count > 1
        case let .ddim(count, eta):
            let steps = try schedule.ddimSteps(samplingTimesteps: count, eta: eta)
            times = steps.map(\.time)
            // The last step returns x̂₀: √ᾱ' = 1, c = 0, σ = 0 reproduce that exactly.
            rows = steps.map { s in
                SamplerRow.prediction(schedule, s.time) + (s.isLast ? [1, 0, 0] : [s.sqrtAlphaNext, s.c, s.sigma])
            }
            addsNoise = eta > 0 && steps.contains { !$0.isLast && $0.sigma > 0 }
        }
        rowWidth = SamplerRow.width
        coefficientTable = try queue.makeBuffer(rows.flatMap { $0 })
        let g = GraphBuilder()
        let weights = try diffusion.unet.declareParameters(in: g)
        unetParameterCount = diffusion.unet.parameterCount
        let graph = try SamplerGraph.build(g, diffusion: diffusion, weights: weights, method: method, batch: batch,
                                           noise: addsNoise ? (recordedNoise ? .recorded : .device) : .none)
        step = try CompiledGraph(g, outputs: graph.outputs, queue: queue)
    }

    /// Loads a reference state_dict (keys `prefix + <reference key>`) into the step's weights.
    public func loadWeights(_ file: SafeTensorsFile, prefix: String = "") throws {
        try diffusion.unet.loadStateDict(file, prefix: prefix, into: step.parameters, queue: queue)
    }

    /// Copies the Unet weights from another store on the same device (e.g. a training step's EMA)
    /// with one device-to-device copy; the store's leading entries must be this Unet's parameters.
    public func copyWeights(from store: ParameterStore) throws {
        let mine = Array(step.parameters.layout.entries.prefix(diffusion.unet.parameterSpecs.count))
        let theirs = Array(store.layout.entries.prefix(mine.count))
        guard theirs.count == mine.count, zip(mine, theirs).allSatisfy({ $0.name == $1.name && $0.offset == $1.offset && $0.count == $1.count }) else {
            throw DiffusionError.invalidConfiguration("the parameter store does not start with this Unet's parameters in state_dict order")
        }
        try queue.copy(from: store.buffer.slice(), to: step.parameters.buffer.slice(), byteCount: unetParameterCount * 4)
    }
}
