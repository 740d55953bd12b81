/// What the Unet is trained to predict (the reference's `objective`).
public enum Objective: String, CaseIterable, Sendable, Equatable {
    /// The noise ε.
    case predNoise = "pred_noise"
    /// The clean image x₀.
    case predX0 = "pred_x0"
    /// The velocity v = √ᾱ·ε − √(1−ᾱ)·x₀ (the reference default).
    case predV = "pred_v"

    /// The objective called `name` (`pred_noise`, `pred_x0`, `pred_v`).
    public init(name: String) throws {
        guard let o = Objective(rawValue: name) else {
            throw DiffusionError.invalidConfiguration("unknown objective '\(name)' (expected pred_noise, pred_x0 or pred_v)")
        }
        self = o
    }
}
