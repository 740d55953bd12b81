import Diffusion
import Graph

/// What `ddpm bench` measures: a reference Unet, its image size and batch, and how many steps.
///
/// The model is built exactly as `scripts/torch_bench.py` builds the PyTorch side:
/// `Unet(dim, dim_mults, channels)` with every other option at its default, wrapped in
/// `GaussianDiffusion(unet, image_size, timesteps=1000)` (pred_v, sigmoid schedule), trained with
/// Adam (lr 1e-4, betas (0.9, 0.99)).
struct BenchSettings: Equatable {
    var dim: Int
    var mults: [Int]
    var imageSize: Int
    var batch: Int
    var channels = 3
    /// Measured steps (and forward runs); the reported times are medians over them.
    var steps = 5
    /// Unmeasured steps first (first-touch page faults, OpenCL program builds, OpenBLAS threads).
    var warmup = 2
    /// Adds the global gradient-norm clip (max norm 1, the lucidrains Trainer's) to every step.
    var clip = true
    /// Adds an EMA update (decay 0.995) to every step; the Trainer's ema-pytorch does it every 10th.
    var ema = true
    /// Also measures the time per kernel family (queue profiling) and the slowest launches.
    var profile = false
    /// How many of the slowest kernel shapes the profile lists.
    var profileShapes = 15
    /// Print where each kernel family ran (partial devices) and the bytes moved per step.
    var placement = false
    /// Images of the timed sampling run (0: none): a whole DDIM chain of ``sampleSteps`` steps,
    /// eta 0, all images in one batch, as `scripts/torch_bench.py --sample-images` times
    /// `GaussianDiffusion(..., sampling_timesteps=S).sample(batch_size=N)`.
    var sampleImages = 0
    /// DDIM steps of the timed sampling run (the reference's `sampling_timesteps`).
    var sampleSteps = 25
    /// Timed sampling runs after one unmeasured run; the reported time is their median.
    var sampleRuns = 1

    /// Checks the numbers before anything is built, naming the option at fault.
    func validate() throws {
        func positive(_ value: Int, _ name: String) throws {
            guard value >= 1 else { throw BenchError.invalidOption("--\(name) must be at least 1, got \(value)") }
        }
        try positive(dim, "dim")
        try positive(imageSize, "image-size")
        try positive(batch, "batch")
        try positive(channels, "channels")
        try positive(steps, "steps")
        guard warmup >= 0 else { throw BenchError.invalidOption("--warmup must be 0 or more, got \(warmup)") }
        guard sampleImages >= 0 else { throw BenchError.invalidOption("--sample-images must be 0 or more, got \(sampleImages)") }
        try positive(sampleSteps, "sample-steps")
        try positive(sampleRuns, "sample-runs")
        guard sampleSteps <= 1000 else {
            throw BenchError.invalidOption("--sample-steps must be at most the 1000 timesteps of the model, got \(sampleSteps)")
        }
        guard profileShapes >= 0 else {
            throw BenchError.invalidOption("--profile-shapes must be 0 or more, got \(profileShapes)")
        }
        guard !mults.isEmpty, mults.allSatisfy({ $0 >= 1 }) else {
            throw BenchError.invalidOption("--mults must be a comma-separated list of positive integers, got \(mults)")
        }
    }

    var unetConfiguration: UnetConfiguration {
        UnetConfiguration(dim: dim, dimMults: mults, channels: channels)
    }

    var diffusionConfiguration: DiffusionConfiguration {
        DiffusionConfiguration(imageHeight: imageSize, imageWidth: imageSize, timesteps: 1000)
    }

    /// The optimiser of the measured step: Adam as in torch_bench.py, plus clip and EMA as chosen.
    var trainingConfiguration: TrainingConfiguration {
        var c = TrainingConfiguration()
        c.learningRate = 1e-4
        c.adamBeta1 = 0.9
        c.adamBeta2 = 0.99
        c.maxGradNorm = clip ? 1 : nil
        // A constant-decay EMA runs every step, so every measured step pays for it.
        c.ema = ema ? .constant(0.995) : nil
        c.seed = 0
        return c
    }

    /// Elements of one image batch `[batch, channels, imageSize, imageSize]`.
    var batchCount: Int { batch * channels * imageSize * imageSize }
}

/// A bench option or run that cannot go ahead, with the reason.
enum BenchError: Error, CustomStringConvertible {
    case invalidOption(String)

    var description: String {
        switch self {
        case let .invalidOption(reason): return reason
        }
    }
}
