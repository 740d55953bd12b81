/// The options of the reference's class-conditional `Unet`
/// (`denoising_diffusion_pytorch/classifier_free_guidance.py`, 2.3.4), with its argument names in
/// JSON and its defaults.
///
/// It is a different architecture from ``UnetConfiguration``'s, not a flag on it: a class
/// embedding (`classes_emb`, `num_classes × dim`) and a learned null embedding (`null_classes_emb`,
/// used where the condition is dropped) go through their own MLP and are concatenated with the
/// time embedding in every ResnetBlock's scale-shift MLP; downsampling is a strided 4×4
/// convolution instead of pixel-unshuffle + 1×1; the linear attention of every stage has the fixed
/// `heads 4, dim_head 32` and no memory key/values; only the middle attention takes `attn_heads`
/// and `attn_dim_head`; there is no dropout, no self-conditioning, no `full_attn`, no `theta`.
public struct ConditionalUnetConfiguration: Equatable, Sendable {
    public var dim: Int
    /// Number of classes (rows of `classes_emb`).
    public var numClasses: Int
    /// Probability of replacing a sample's class by the null class while training (`cond_drop_prob`).
    public var condDropProb: Double
    /// Channels after `init_conv`; `nil` means `dim`.
    public var initDim: Int?
    /// Output channels; `nil` means `channels` (× 2 with learned variance).
    public var outDim: Int?
    public var dimMults: [Int]
    public var channels: Int
    public var learnedVariance: Bool
    /// Heads and head width of the middle (full) attention only.
    public var attnDimHead: Int
    public var attnHeads: Int

    /// Heads and head width of every stage's linear attention: the reference builds
    /// `LinearAttention(dim_in)` with its defaults, whatever the constructor's options.
    public static let linearAttentionHeads = 4
    public static let linearAttentionDimHead = 32
    /// Upper bound on `num_classes` (the embedding table and the one-hot products scale with it).
    public static let maxClasses = 100_000

    public init(dim: Int, numClasses: Int, condDropProb: Double = 0.5, initDim: Int? = nil, outDim: Int? = nil,
                dimMults: [Int] = [1, 2, 4, 8], channels: Int = 3, learnedVariance: Bool = false,
                attnDimHead: Int = 32, attnHeads: Int = 4) {
        self.dim = dim
        self.numClasses = numClasses
        self.condDropProb = condDropProb
        self.initDim = initDim
        self.outDim = outDim
        self.dimMults = dimMults
        self.channels = channels
        self.learnedVariance = learnedVariance
        self.attnDimHead = attnDimHead
        self.attnHeads = attnHeads
    }

    /// Reads the reference's keyword arguments from a JSON object (unknown keys are refused).
    public init(json: [String: Any]) throws {
        var o = JSONOptions(json, context: "unet")
        guard let dim = try o.int("dim") else { throw DiffusionError.invalidConfiguration("unet.dim is required") }
        guard let classes = try o.int("num_classes") else {
            throw DiffusionError.invalidConfiguration("unet.num_classes is required for the class-conditional Unet")
        }
        self.init(dim: dim, numClasses: classes)
        condDropProb = try o.double("cond_drop_prob") ?? condDropProb
        initDim = try o.int("init_dim")
        outDim = try o.int("out_dim")
        dimMults = try o.ints("dim_mults") ?? dimMults
        channels = try o.int("channels") ?? channels
        learnedVariance = try o.bool("learned_variance") ?? learnedVariance
        attnDimHead = try o.int("attn_dim_head") ?? attnDimHead
        attnHeads = try o.int("attn_heads") ?? attnHeads
        // Changes no weight or math here (only used with the refused options below).
        _ = try o.int("learned_sinusoidal_dim")
        for key in ["learned_sinusoidal_cond", "random_fourier_features"] where try o.bool(key) == true {
            throw DiffusionError.invalidConfiguration(
                "unet.\(key): the reference's classifier-free-guidance GaussianDiffusion refuses it")
        }
        try o.rejectUnknownKeys()
        try validate()
    }

    /// The configuration as the reference's keyword arguments (the form ``init(json:)`` reads).
    public var json: [String: Any] {
        var o: [String: Any] = [
            "dim": dim, "num_classes": numClasses, "cond_drop_prob": condDropProb, "dim_mults": dimMults,
            "channels": channels, "learned_variance": learnedVariance, "attn_dim_head": attnDimHead, "attn_heads": attnHeads,
        ]
        if let initDim { o["init_dim"] = initDim }
        if let outDim { o["out_dim"] = outDim }
        return o
    }

    /// Refuses values out of their domain and sizes above ``ConfigurationLimits``.
    public func validate() throws {
        func bad(_ message: String) -> DiffusionError { .invalidConfiguration("unet: \(message)") }
        typealias L = ConfigurationLimits
        guard dim >= 4, dim % 2 == 0 else {
            throw bad("dim must be even and at least 4 (the sinusoidal embedding divides by dim/2 − 1), got \(dim)")
        }
        try L.check(dim, atMost: L.maxDim, "unet: dim")
        guard numClasses >= 1 else { throw bad("num_classes must be positive, got \(numClasses)") }
        try L.check(numClasses, atMost: Self.maxClasses, "unet: num_classes")
        guard condDropProb >= 0, condDropProb <= 1 else { throw bad("cond_drop_prob must be in [0, 1], got \(condDropProb)") }
        guard !dimMults.isEmpty, dimMults.allSatisfy({ $0 >= 1 }) else {
            throw bad("dim_mults must be a non-empty list of positive integers, got \(dimMults)")
        }
        try L.check(dimMults.count, atMost: L.maxStages, "unet: the number of dim_mults entries (stages)")
        for m in dimMults { try L.check(m, atMost: L.maxChannels / dim, "unet: dim x dim_mults entry (\(dim) x \(m))") }
        guard channels >= 1 else { throw bad("channels must be positive, got \(channels)") }
        try L.check(channels, atMost: L.maxImageChannels, "unet: channels")
        if let initDim {
            guard initDim >= 1 else { throw bad("init_dim must be positive, got \(initDim)") }
            try L.check(initDim, atMost: L.maxDim, "unet: init_dim")
        }
        if let outDim {
            guard outDim >= 1 else { throw bad("out_dim must be positive, got \(outDim)") }
            try L.check(outDim, atMost: L.maxChannels, "unet: out_dim")
        }
        guard attnHeads >= 1, attnDimHead >= 1 else { throw bad("attn_heads and attn_dim_head must be positive") }
        try L.check(attnHeads, atMost: L.maxAttentionHeads, "unet: attn_heads")
        try L.check(attnDimHead, atMost: L.maxAttentionDimHead, "unet: attn_dim_head")
    }

    /// `(dim_in, dim_out)` of every stage, outermost first (`dims = [init_dim, dim·m…]`).
    public var stages: [(dimIn: Int, dimOut: Int)] {
        let dims = [resolvedInitDim] + dimMults.map { dim * $0 }
        return (0..<dimMults.count).map { (dims[$0], dims[$0 + 1]) }
    }

    public var resolvedInitDim: Int { initDim ?? dim }
    public var resolvedOutDim: Int { outDim ?? channels * (learnedVariance ? 2 : 1) }
    /// Width of the time embedding and of the class embedding after its MLP (both `4·dim`).
    public var timeDim: Int { 4 * dim }
    public var classesDim: Int { 4 * dim }
    /// Height and width must be multiples of this (`2^(stages − 1)`).
    public var downsampleFactor: Int { 1 << (dimMults.count - 1) }
}
