/// The options of the reference `GaussianDiffusion` (denoising-diffusion-pytorch 2.3.4), with
/// its argument names in JSON and its defaults.
public struct DiffusionConfiguration: Equatable, Sendable {
    /// Image height and width (the reference's `image_size`, an int or an `(h, w)` pair).
    public var imageHeight: Int
    public var imageWidth: Int
    public var timesteps: Int
    /// DDIM steps when fewer than `timesteps`; `nil` means `timesteps` (ancestral sampling).
    public var samplingTimesteps: Int?
    public var objective: Objective
    public var betaSchedule: BetaSchedule
    public var ddimSamplingEta: Float
    /// Map data from [0, 1] to [−1, 1] for training and back after sampling.
    public var autoNormalize: Bool
    public var offsetNoiseStrength: Float
    public var minSNRLossWeight: Bool
    public var minSNRGamma: Double
    /// CFG++ in DDIM sampling (`use_cfg_plus_plus`, class-conditional models only): the default
    /// of ``Guidance/cfgPlusPlus`` when sampling.
    public var useCFGPlusPlus: Bool = false

    public init(imageHeight: Int, imageWidth: Int, timesteps: Int = 1000, samplingTimesteps: Int? = nil,
                objective: Objective = .predV, betaSchedule: BetaSchedule = .sigmoidDefault, ddimSamplingEta: Float = 0,
                autoNormalize: Bool = true, offsetNoiseStrength: Float = 0, minSNRLossWeight: Bool = false,
                minSNRGamma: Double = 5) {
        self.imageHeight = imageHeight
        self.imageWidth = imageWidth
        self.timesteps = timesteps
        self.samplingTimesteps = samplingTimesteps
        self.objective = objective
        self.betaSchedule = betaSchedule
        self.ddimSamplingEta = ddimSamplingEta
        self.autoNormalize = autoNormalize
        self.offsetNoiseStrength = offsetNoiseStrength
        self.minSNRLossWeight = minSNRLossWeight
        self.minSNRGamma = minSNRGamma
    }

    /// The reference's defaults for a model kind: the class-conditional module's
    /// `GaussianDiffusion` predicts noise on a cosine schedule with DDIM eta 1, where the
    /// unconditional one predicts v on a sigmoid schedule with eta 0.
    public static func defaults(for kind: ModelKind, imageHeight: Int, imageWidth: Int) -> DiffusionConfiguration {
        switch kind {
        case .unconditional:
            return DiffusionConfiguration(imageHeight: imageHeight, imageWidth: imageWidth)
        case .classConditional:
            return DiffusionConfiguration(imageHeight: imageHeight, imageWidth: imageWidth, objective: .predNoise,
                                          betaSchedule: .cosine(s: 0.008), ddimSamplingEta: 1)
        }
    }

    /// Reads the reference's keyword arguments for a model of `kind`; `imageSize` supplies
    /// `image_size` when the object has none (the golden cases keep it outside the `diffusion` block).
    ///
    /// The class-conditional module's `GaussianDiffusion` has fewer options: no `auto_normalize`
    /// (it always maps to [−1, 1]), no `schedule_fn_kwargs`, no `immiscible`, only the linear and
    /// cosine schedules; and one more, `use_cfg_plus_plus`.
    public init(json: [String: Any], imageSize: (Int, Int)? = nil, context: String = "diffusion",
                kind: ModelKind = .unconditional) throws {
        var o = JSONOptions(json, context: context)
        let size: (Int, Int)
        if o.has("image_size") {
            size = try o.imageSize("image_size")!
        } else if let imageSize {
            size = imageSize
        } else {
            throw DiffusionError.invalidConfiguration("\(context).image_size is required")
        }
        self = DiffusionConfiguration.defaults(for: kind, imageHeight: size.0, imageWidth: size.1)
        timesteps = try o.int("timesteps") ?? timesteps
        samplingTimesteps = try o.int("sampling_timesteps")
        if let name = try o.string("objective") { objective = try Objective(name: name) }
        if let name = try o.string("beta_schedule") { betaSchedule = try BetaSchedule(name: name) }
        ddimSamplingEta = Float(try o.double("ddim_sampling_eta") ?? Double(ddimSamplingEta))
        offsetNoiseStrength = Float(try o.double("offset_noise_strength") ?? 0)
        minSNRLossWeight = try o.bool("min_snr_loss_weight") ?? minSNRLossWeight
        minSNRGamma = try o.double("min_snr_gamma") ?? minSNRGamma
        switch kind {
        case .unconditional:
            if let kwargs = try o.object("schedule_fn_kwargs") { betaSchedule = try betaSchedule.with(kwargs: kwargs) }
            autoNormalize = try o.bool("auto_normalize") ?? autoNormalize
            if try o.bool("immiscible") == true {
                throw DiffusionError.invalidConfiguration("\(context).immiscible (noise assignment by Hungarian matching) is not supported")
            }
        case .classConditional:
            useCFGPlusPlus = try o.bool("use_cfg_plus_plus") ?? useCFGPlusPlus
            if case .sigmoid = betaSchedule {
                throw DiffusionError.invalidConfiguration(
                    "\(context).beta_schedule: the class-conditional GaussianDiffusion has only 'linear' and 'cosine'")
            }
        }
        try o.rejectUnknownKeys()
        try validate()
    }

    /// The configuration as the reference's keyword arguments (`image_size` as `[h, w]`).
    public var json: [String: Any] {
        var o: [String: Any] = [
            "image_size": [imageHeight, imageWidth], "timesteps": timesteps, "objective": objective.rawValue,
            "beta_schedule": betaSchedule.name, "ddim_sampling_eta": Double(ddimSamplingEta),
            "auto_normalize": autoNormalize, "offset_noise_strength": Double(offsetNoiseStrength),
            "min_snr_loss_weight": minSNRLossWeight, "min_snr_gamma": minSNRGamma,
        ]
        if let samplingTimesteps { o["sampling_timesteps"] = samplingTimesteps }
        if useCFGPlusPlus { o["use_cfg_plus_plus"] = true }
        let kwargs = betaSchedule.kwargs
        if !kwargs.isEmpty { o["schedule_fn_kwargs"] = kwargs }
        return o
    }

    /// The keyword arguments of the `GaussianDiffusion` of `kind` (the form
    /// ``init(json:imageSize:context:kind:)`` reads back): the class-conditional one has no
    /// `auto_normalize`.
    public func json(kind: ModelKind) -> [String: Any] {
        var o = json
        switch kind {
        case .unconditional: break
        case .classConditional: o["auto_normalize"] = nil
        }
        return o
    }

    /// The number of sampling steps (`sampling_timesteps`, or `timesteps`).
    public var resolvedSamplingTimesteps: Int { samplingTimesteps ?? timesteps }
    /// Whether `sample` uses DDIM (fewer sampling steps than training timesteps), as the reference decides.
    public var isDDIMSampling: Bool { resolvedSamplingTimesteps < timesteps }

    /// Refuses values out of their domain.
    public func validate() throws {
        func bad(_ m: String) -> DiffusionError { .invalidConfiguration(m) }
        guard imageHeight >= 1, imageWidth >= 1 else { throw bad("image_size must be positive, got \(imageHeight)x\(imageWidth)") }
        guard timesteps >= 1 else { throw bad("timesteps must be at least 1, got \(timesteps)") }
        typealias L = ConfigurationLimits
        try L.check(imageHeight, atMost: L.maxImageSide, "image_size (height)")
        try L.check(imageWidth, atMost: L.maxImageSide, "image_size (width)")
        try L.check(timesteps, atMost: L.maxTimesteps, "timesteps")
        if let s = samplingTimesteps, !(1...timesteps).contains(s) {
            throw bad("sampling_timesteps must be in 1...\(timesteps), got \(s)")
        }
        guard ddimSamplingEta >= 0, ddimSamplingEta.isFinite else { throw bad("ddim_sampling_eta must be non-negative, got \(ddimSamplingEta)") }
        guard offsetNoiseStrength >= 0, offsetNoiseStrength.isFinite else {
            throw bad("offset_noise_strength must be non-negative, got \(offsetNoiseStrength)")
        }
        guard minSNRGamma > 0 else { throw bad("min_snr_gamma must be positive, got \(minSNRGamma)") }
    }

    /// The noise schedule buffers this configuration implies.
    public func noiseSchedule() throws -> NoiseSchedule {
        try NoiseSchedule(schedule: betaSchedule, timesteps: timesteps, objective: objective,
                          minSNRGamma: minSNRLossWeight ? minSNRGamma : nil)
    }
}

extension BetaSchedule {
    /// The schedule with the reference's `schedule_fn_kwargs` applied (`s`; `start`, `end`, `tau`).
    func with(kwargs: [String: Any]) throws -> BetaSchedule {
        var o = JSONOptions(kwargs, context: "schedule_fn_kwargs")
        let result: BetaSchedule
        switch self {
        case .linear:
            result = .linear
        case let .cosine(s):
            result = .cosine(s: try o.double("s") ?? s)
        case let .sigmoid(start, end, tau):
            result = .sigmoid(start: try o.double("start") ?? start, end: try o.double("end") ?? end,
                              tau: try o.double("tau") ?? tau)
            _ = try o.double("clamp_min")  // accepted and unused, as in the reference
        }
        try o.rejectUnknownKeys()
        if case let .sigmoid(start, end, tau) = result, !(end > start && tau > 0) {
            throw DiffusionError.invalidConfiguration("sigmoid schedule needs end > start and tau > 0")
        }
        return result
    }

    /// The non-default keyword arguments, for writing a configuration back out.
    var kwargs: [String: Any] {
        switch self {
        case .linear: return [:]
        case let .cosine(s): return s == 0.008 ? [:] : ["s": s]
        case let .sigmoid(start, end, tau):
            return (start, end, tau) == (-3, 3, 1) ? [:] : ["start": start, "end": end, "tau": tau]
        }
    }
}
