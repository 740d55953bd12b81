/// Which reference model a run trains or a checkpoint holds.
public enum ModelKind: String, CaseIterable, Sendable, Equatable {
    /// `denoising_diffusion_pytorch`'s `Unet` + `GaussianDiffusion` (``Unet``, ``GaussianDiffusion``).
    case unconditional
    /// `classifier_free_guidance`'s `Unet` + `GaussianDiffusion` (``ConditionalUnet``,
    /// ``ConditionalDiffusion``): class labels, condition dropout, guided sampling.
    case classConditional = "class-conditional"

    /// The kind called `name` (`unconditional`, `class-conditional`).
    public init(name: String) throws {
        guard let kind = ModelKind(rawValue: name) else {
            throw DiffusionError.invalidConfiguration(
                "unknown model kind '\(name)' (expected \(ModelKind.allCases.map(\.rawValue).joined(separator: " or ")))")
        }
        self = kind
    }
}
