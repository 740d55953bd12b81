import ArgumentParser
import Diffusion
import Training

/// The classes and classifier-free guidance of a class-conditional model: `--class`/`--classes`
/// and the guidance options, shared by `sample`, `inpaint` and `interpolate`.
struct ClassOptions: ParsableArguments {
    @Option(name: .customLong("class"), help: ArgumentHelp(
        "Class-conditional models: the class of every image, a class name (e.g. a folder name) or label number "
            + "(sample's default: every class in turn, one grid row each; editing needs a class).",
        valueName: "c"))
    var classChoice: String?
    @Option(help: ArgumentHelp("One class per image, comma-separated (names or numbers; one per image drawn).", valueName: "list"))
    var classes: String?
    @Option(help: ArgumentHelp("Guidance scale, the reference's cond_scale (default 6; 1 = the conditional model alone).", valueName: "s"))
    var guidance: Double?
    @Option(help: ArgumentHelp("Guidance rescaling, the reference's rescaled_phi, in [0, 1] (default 0.7).", valueName: "phi"))
    var rescale: Double?
    @Flag(help: "CFG++: DDIM renoises with the null prediction (default: the model configuration's use_cfg_plus_plus).")
    var cfgPlusPlus = false
    @Flag(inversion: .prefixedNo, help: "Remove the guidance update's component parallel to the conditional prediction (default: on).")
    var removeParallelComponent = true

    func validate() throws {
        if let guidance, !(guidance >= 0 && guidance.isFinite) { throw ValidationError("--guidance must be finite and non-negative, got \(guidance)") }
        if let rescale, !(0...1).contains(rescale) { throw ValidationError("--rescale must be in [0, 1], got \(rescale)") }
        if classChoice != nil, classes != nil { throw ValidationError("give --class or --classes, not both") }
    }

    /// The classes given for `count` images: `--class` for all, `--classes` one each; nil when
    /// neither was given. Any class or guidance option on an unconditional model is an error
    /// naming it, as is a class the model does not have (listing the valid ones). `what` names
    /// the option that sets the count, for messages.
    func givenLabels(count: Int, what: String = "--count", for model: SamplingModel) throws -> [Int]? {
        guard let conditional = model.classConditional else {
            let given = [(classChoice != nil, "--class"), (classes != nil, "--classes"), (guidance != nil, "--guidance"),
                         (rescale != nil, "--rescale"), (cfgPlusPlus, "--cfg-plus-plus"), (!removeParallelComponent, "--no-remove-parallel-component")]
            if let option = given.first(where: { $0.0 })?.1 {
                throw ValidationError("\(option) needs a class-conditional model; \(model.origin) is unconditional")
            }
            return nil
        }
        do {
            if let classChoice { return Array(repeating: try conditional.classIndex(classChoice), count: count) }
            if let classes {
                let list = try classes.split(separator: ",", omittingEmptySubsequences: false)
                    .map { try conditional.classIndex($0.trimmingCharacters(in: .whitespaces)) }
                guard list.count == count else {
                    throw ValidationError("--classes lists \(list.count) class\(list.count == 1 ? "" : "es") for \(what) \(count); give one per image")
                }
                return list
            }
        } catch let error as TrainingError {
            throw ValidationError("\(error)")
        }
        return nil
    }

    /// The classes of an edit of `count` images (`what` names the option that sets the count):
    /// required for a class-conditional model (an error naming `--class`/`--classes` otherwise),
    /// nil for an unconditional one.
    func editLabels(count: Int, what: String, for model: SamplingModel) throws -> [Int]? {
        let labels = try givenLabels(count: count, what: what, for: model)
        guard let conditional = model.classConditional else { return labels }
        guard let labels else {
            throw ValidationError("\(model.origin) is class-conditional: give --class C (every image) or --classes LIST (one per image); "
                + "the model's classes are \(conditional.classList)")
        }
        return labels
    }

    /// The guidance options over the reference's defaults (and the configuration's CFG++).
    func guidanceSettings(for model: SamplingModel) -> Guidance {
        var g = Guidance(cfgPlusPlus: model.diffusion.useCFGPlusPlus)
        if let guidance { g.scale = Float(guidance) }
        if let rescale { g.rescaledPhi = Float(rescale) }
        if cfgPlusPlus { g.cfgPlusPlus = true }
        g.removeParallelComponent = removeParallelComponent
        return g
    }
}
