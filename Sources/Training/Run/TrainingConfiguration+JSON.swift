import Diffusion
import Foundation
import Graph

/// The JSON form of the training settings in checkpoints and `--config` files (the `"training"`
/// object of ``RunConfiguration/json``, which adds the run's `"data"` to it).
extension TrainingConfiguration {
    /// The settings under snake_case keys (the seed as a decimal string: JSON numbers are doubles).
    /// The EMA is stored as ema-pytorch's `beta`, `update_every` and `update_after_step`; a
    /// configuration without one (not a run's: ``validate()`` refuses it) writes none of them.
    /// `fusion` is not stored: it changes how the step is compiled, not what it computes.
    public var json: [String: Any] {
        var o: [String: Any] = [
            "flip": flip, "batch_size": batchSize, "grad_accum": gradientAccumulation,
            "steps": steps, "lr": learningRate, "adam_betas": [adamBeta1, adamBeta2], "adam_eps": adamEpsilon,
            "lr_warmup": warmupSteps, "lr_schedule": learningRateSchedule.rawValue, "seed": String(seed),
            "save_every": saveEvery, "sample_every": sampleEvery, "num_samples": numSamples,
            "keep_checkpoints": keepCheckpoints, "log_every": logEvery,
        ]
        if let ema {
            o["ema_decay"] = ema.beta
            o["ema_update_every"] = ema.updateEvery
            o["ema_update_after_step"] = ema.updateAfterStep
        }
        o["max_grad_norm"] = maxGradNorm ?? 0
        return o
    }

    /// Reads the form ``json`` writes (missing keys keep their defaults; unknown keys are refused).
    init(json: [String: Any], context: String) throws {
        self.init()
        var f = JSONOptions(json, context: context)
        flip = try f.bool("flip") ?? flip
        batchSize = try f.int("batch_size") ?? batchSize
        gradientAccumulation = try f.int("grad_accum") ?? gradientAccumulation
        steps = try f.int("steps") ?? steps
        learningRate = try f.double("lr") ?? learningRate
        f.ignore("adam_betas")
        if let betas = json["adam_betas"] {
            guard let pair = betas as? [NSNumber], pair.count == 2 else {
                throw CheckpointError.invalidConfiguration("\(context).adam_betas must be a pair of numbers")
            }
            (adamBeta1, adamBeta2) = (pair[0].doubleValue, pair[1].doubleValue)
        }
        adamEpsilon = try f.double("adam_eps") ?? adamEpsilon
        warmupSteps = try f.int("lr_warmup") ?? warmupSteps
        if let s = try f.string("lr_schedule") {
            guard let schedule = LearningRateSchedule(rawValue: s) else {
                throw CheckpointError.invalidConfiguration("\(context).lr_schedule must be constant or cosine, got \(s)")
            }
            learningRateSchedule = schedule
        }
        if let clip = try f.double("max_grad_norm") { maxGradNorm = clip > 0 ? clip : nil }
        var ema = self.ema ?? EMAConfiguration()
        ema.beta = try f.double("ema_decay") ?? ema.beta
        ema.updateEvery = try f.int("ema_update_every") ?? ema.updateEvery
        ema.updateAfterStep = try f.int("ema_update_after_step") ?? ema.updateAfterStep
        self.ema = ema
        seed = try f.unsigned("seed") ?? seed
        saveEvery = try f.int("save_every") ?? saveEvery
        sampleEvery = try f.int("sample_every") ?? sampleEvery
        numSamples = try f.int("num_samples") ?? numSamples
        keepCheckpoints = try f.int("keep_checkpoints") ?? keepCheckpoints
        logEvery = try f.int("log_every") ?? logEvery
        try f.rejectUnknownKeys()
    }
}
