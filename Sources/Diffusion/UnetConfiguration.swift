/// The options of the reference `Unet` (denoising-diffusion-pytorch 2.3.4), with its argument
/// names in JSON and its defaults.
///
/// Per-stage options (`full_attn`, `attn_heads`, `attn_dim_head`) take one value for every stage
/// or one per stage; ``stages`` resolves them as the reference does (`full_attn` unset or false
/// means full attention only at the innermost stage).
public struct UnetConfiguration: Equatable, Sendable {
    public var dim: Int
    /// Channels after `init_conv`; `nil` means `dim`.
    public var initDim: Int?
    /// Output channels; `nil` means `channels` (× 2 with learned variance).
    public var outDim: Int?
    public var dimMults: [Int]
    /// Image channels (the input has twice as many with self-conditioning).
    public var channels: Int
    public var selfCondition: Bool
    public var learnedVariance: Bool
    public var sinusoidalPosEmbTheta: Double
    /// Dropout after block1's activation in each ResnetBlock. Only the evaluation form (identity)
    /// is built: a non-zero value is accepted for loading weights but training with it is refused.
    public var dropout: Double
    public var attnDimHead: PerStage<Int>
    public var attnHeads: PerStage<Int>
    /// `nil` (or `.all(false)`): full attention at the innermost stage only, as the reference's
    /// `if not full_attn` decides.
    public var fullAttn: PerStage<Bool>?

    public init(dim: Int, initDim: Int? = nil, outDim: Int? = nil, dimMults: [Int] = [1, 2, 4, 8], channels: Int = 3,
                selfCondition: Bool = false, learnedVariance: Bool = false, sinusoidalPosEmbTheta: Double = 10000,
                dropout: Double = 0, attnDimHead: PerStage<Int> = .all(32), attnHeads: PerStage<Int> = .all(4),
                fullAttn: PerStage<Bool>? = nil) {
        self.dim = dim
        self.initDim = initDim
        self.outDim = outDim
        self.dimMults = dimMults
        self.channels = channels
        self.selfCondition = selfCondition
        self.learnedVariance = learnedVariance
        self.sinusoidalPosEmbTheta = sinusoidalPosEmbTheta
        self.dropout = dropout
        self.attnDimHead = attnDimHead
        self.attnHeads = attnHeads
        self.fullAttn = fullAttn
    }

    /// Reads the reference's keyword arguments from a JSON object (unknown keys are refused).
    public init(json: [String: Any]) throws {
        var o = JSONOptions(json, context: "unet")
        guard let dim = try o.int("dim") else { throw DiffusionError.invalidConfiguration("unet.dim is required") }
        self.init(dim: dim)
        initDim = try o.int("init_dim")
        outDim = try o.int("out_dim")
        dimMults = try o.ints("dim_mults") ?? dimMults
        channels = try o.int("channels") ?? channels
        selfCondition = try o.bool("self_condition") ?? selfCondition
        learnedVariance = try o.bool("learned_variance") ?? learnedVariance
        sinusoidalPosEmbTheta = try o.double("sinusoidal_pos_emb_theta") ?? sinusoidalPosEmbTheta
        dropout = try o.double("dropout") ?? dropout
        attnDimHead = try o.perStageInt("attn_dim_head") ?? attnDimHead
        attnHeads = try o.perStageInt("attn_heads") ?? attnHeads
        fullAttn = try o.perStageBool("full_attn")
        // Options that change no weights or math here.
        _ = try o.bool("flash_attn")
        _ = try o.int("learned_sinusoidal_dim")
        for key in ["learned_sinusoidal_cond", "random_fourier_features"] where try o.bool(key) == true {
            throw DiffusionError.invalidConfiguration(
                "unet.\(key) is for the continuous-time diffusion classes; the reference GaussianDiffusion refuses it")
        }
        try o.rejectUnknownKeys()
        _ = try stages()
    }

    /// The configuration as the reference's keyword arguments (the form ``init(json:)`` reads).
    public var json: [String: Any] {
        var o: [String: Any] = [
            "dim": dim, "dim_mults": dimMults, "channels": channels, "self_condition": selfCondition,
            "learned_variance": learnedVariance, "sinusoidal_pos_emb_theta": sinusoidalPosEmbTheta,
            "dropout": dropout,
            "attn_dim_head": attnDimHead.json, "attn_heads": attnHeads.json,
        ]
        if let initDim { o["init_dim"] = initDim }
        if let outDim { o["out_dim"] = outDim }
        if let fullAttn { o["full_attn"] = fullAttn.json }
        return o
    }

    /// One down (and mirrored up) stage of the Unet.
    public struct Stage: Equatable, Sendable {
        /// Channels inside the stage (`dims[i]`).
        public var dimIn: Int
        /// Channels after its downsample (`dims[i+1]`).
        public var dimOut: Int
        public var fullAttention: Bool
        public var heads: Int
        public var dimHead: Int
    }

    /// The resolved stages, outermost first; refuses inconsistent options.
    public func stages() throws -> [Stage] {
        let s = dimMults.count
        func bad(_ message: String) -> DiffusionError { .invalidConfiguration("unet: \(message)") }
        guard dim >= 1 else { throw bad("dim must be positive, got \(dim)") }
        guard s >= 1, dimMults.allSatisfy({ $0 >= 1 }) else { throw bad("dim_mults must be a non-empty list of positive integers, got \(dimMults)") }
        guard channels >= 1 else { throw bad("channels must be positive, got \(channels)") }
        typealias L = ConfigurationLimits
        try L.check(dim, atMost: L.maxDim, "unet: dim")
        try L.check(s, atMost: L.maxStages, "unet: the number of dim_mults entries (stages)")
        for m in dimMults { try L.check(m, atMost: L.maxChannels / dim, "unet: dim x dim_mults entry (\(dim) x \(m))") }
        try L.check(channels, atMost: L.maxImageChannels, "unet: channels")
        if let initDim { try L.check(initDim, atMost: L.maxDim, "unet: init_dim") }
        if let outDim { try L.check(outDim, atMost: L.maxChannels, "unet: out_dim") }
        guard dim % 2 == 0, dim >= 4 else {
            throw bad("dim must be even and at least 4 (the sinusoidal embedding divides by dim/2 − 1), got \(dim)")
        }
        if let initDim, initDim < 1 { throw bad("init_dim must be positive, got \(initDim)") }
        if let outDim, outDim < 1 { throw bad("out_dim must be positive, got \(outDim)") }
        guard sinusoidalPosEmbTheta > 1, sinusoidalPosEmbTheta.isFinite else { throw bad("sinusoidal_pos_emb_theta must exceed 1, got \(sinusoidalPosEmbTheta)") }
        guard dropout >= 0, dropout < 1 else { throw bad("dropout must be in [0, 1), got \(dropout)") }
        func perStage<T>(_ value: PerStage<T>, _ name: String) throws -> [T] {
            switch value {
            case let .all(v): return Array(repeating: v, count: s)
            case let .each(values):
                guard values.count == s else { throw bad("\(name) has \(values.count) values but there are \(s) stages") }
                return values
            }
        }
        let heads = try perStage(attnHeads, "attn_heads")
        let dimHeads = try perStage(attnDimHead, "attn_dim_head")
        guard heads.allSatisfy({ $0 >= 1 }), dimHeads.allSatisfy({ $0 >= 1 }) else {
            throw bad("attn_heads and attn_dim_head must be positive")
        }
        for h in heads { try L.check(h, atMost: L.maxAttentionHeads, "unet: attn_heads") }
        for d in dimHeads { try L.check(d, atMost: L.maxAttentionDimHead, "unet: attn_dim_head") }
        // The reference's `if not full_attn`: unset, false or an empty tuple all mean the default.
        let full: [Bool]
        switch fullAttn {
        case nil, .all(false)?, .each([])?: full = Array(repeating: false, count: s - 1) + [true]
        case let value?: full = try perStage(value, "full_attn")
        }
        let dims = [resolvedInitDim] + dimMults.map { dim * $0 }
        return (0..<s).map { Stage(dimIn: dims[$0], dimOut: dims[$0 + 1], fullAttention: full[$0], heads: heads[$0], dimHead: dimHeads[$0]) }
    }

    public var resolvedInitDim: Int { initDim ?? dim }
    public var resolvedOutDim: Int { outDim ?? channels * (learnedVariance ? 2 : 1) }
    public var inputChannels: Int { channels * (selfCondition ? 2 : 1) }
    public var timeDim: Int { 4 * dim }
    /// Height and width must be multiples of this (`2^(stages − 1)`).
    public var downsampleFactor: Int { 1 << (dimMults.count - 1) }
}

/// An option given once for every stage or once per stage (the reference's `cast_tuple`).
public enum PerStage<Value: Equatable & Sendable>: Equatable, Sendable {
    case all(Value)
    case each([Value])

    var json: Any {
        switch self {
        case let .all(v): return v
        case let .each(values): return values
        }
    }
}
