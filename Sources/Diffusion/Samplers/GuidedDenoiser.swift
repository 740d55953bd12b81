import Graph

/// The class-conditional Unet with classifier-free guidance as a ``Denoiser``: every sampler
/// (DDPM, DDIM, …) runs guided through it.
///
/// It declares the Unet's weights (leading, as every denoiser) and one slot of its own, the
/// class of each image (`denoiser.classes`, f32 `[B]`, set with
/// ``DiffusionSampler/setClasses(_:)``). Its prediction is one batched forward of 2B
/// (``ConditionalUnet/guidedForward(_:weights:x:time:classes:guidance:)``), and ε̂ follows the
/// classifier-free-guidance module's `model_predictions`: from the guided output itself, or with
/// CFG++ from the null one.
public struct GuidedDenoiser: Denoiser {
    public let unet: ConditionalUnet
    public let guidance: Guidance

    static let classesSlot = "denoiser.classes"

    public init(_ unet: ConditionalUnet, guidance: Guidance) {
        self.unet = unet
        self.guidance = guidance
    }

    public var network: any ReferenceModel { unet }

    public func declare(in g: GraphBuilder, batch: Int) throws -> any DenoiserGraph {
        try guidance.validate()
        let weights = try unet.declareParameters(in: g)
        return Declared(unet: unet, guidance: guidance, weights: weights,
                        classes: try g.parameter(GuidedDenoiser.classesSlot, [batch], initializer: .zeros))
    }

    struct Declared: DenoiserGraph {
        let unet: ConditionalUnet
        let guidance: Guidance
        let weights: UnetWeights
        let classes: Tensor

        func output(_ g: GraphBuilder, x: Tensor, time: Tensor, selfCondition: Tensor?) throws -> Tensor {
            try prediction(g, x: x, time: time, selfCondition: selfCondition).output
        }

        func prediction(_ g: GraphBuilder, x: Tensor, time: Tensor, selfCondition: Tensor?) throws -> DenoiserOutput {
            let p = try unet.guidedForward(g, weights: weights, x: x, time: time, classes: classes, guidance: guidance)
            return DenoiserOutput(output: p.guided, renoise: .fromOutput(guidance.cfgPlusPlus ? p.null : p.guided))
        }
    }
}

extension DiffusionSampler {
    /// Sets the class of every image of a guided chain (each in `0..<num_classes`), before
    /// ``sample(noise:checkEachStep:)``: one upload into the denoiser's slot.
    public func setClasses(_ classes: [Int]) throws {
        guard let guided = denoiser as? GuidedDenoiser else {
            throw DiffusionError.invalidConfiguration("classes were given, but this chain samples an unconditional model")
        }
        let k = guided.unet.configuration.numClasses
        guard classes.count == batch else { throw DiffusionError.shapeMismatch(what: "sampling classes", expected: [batch], got: [classes.count]) }
        if let bad = classes.first(where: { !(0..<k).contains($0) }) {
            throw DiffusionError.invalidConfiguration("class \(bad) is out of range: the model has classes 0...\(k - 1)")
        }
        try queue.upload(classes.map(Float.init), to: try slot(GuidedDenoiser.classesSlot))
    }
}
