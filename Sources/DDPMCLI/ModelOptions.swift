import ArgumentParser
import Training

/// Where a sampling command's model comes from: a checkpoint, or reference weights with a configuration.
struct ModelOptions: ParsableArguments {
    @Option(help: ArgumentHelp("A ddpm checkpoint, or a run folder (its newest checkpoint).", valueName: "path"))
    var checkpoint: String?
    @Option(help: ArgumentHelp("Reference Unet weights (safetensors state_dict); needs --config.", valueName: "file"))
    var weights: String?
    @Option(help: ArgumentHelp("JSON configuration for --weights.", valueName: "file"))
    var config: String?
    @Flag(help: "Use the online weights instead of the EMA weights.")
    var noEma = false

    func validate() throws {
        switch (checkpoint, weights) {
        case (nil, nil): throw ValidationError("give --checkpoint PATH, or --weights FILE with --config FILE")
        case (.some, .some): throw ValidationError("give either --checkpoint or --weights, not both")
        case (nil, .some): if config == nil { throw ValidationError("--weights needs --config FILE (the Unet and diffusion settings)") }
        case (.some, nil): if config != nil { throw ValidationError("--config goes with --weights; a checkpoint carries its own configuration") }
        }
    }

    /// Reads the model (checked by ``validate()``: exactly one source).
    func load() throws -> SamplingModel {
        if let checkpoint { return try SamplingModel(checkpoint: checkpoint, useEMA: !noEma) }
        return try SamplingModel(stateDict: weights ?? "", configuration: config ?? "", useEMA: !noEma)
    }
}
