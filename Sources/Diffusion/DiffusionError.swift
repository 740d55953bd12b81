/// Every way a diffusion configuration, a model file or a golden case can be refused, each
/// naming the setting, key or file at fault.
public enum DiffusionError: Error, CustomStringConvertible, Equatable {
    /// A configuration value is out of its domain (e.g. `timesteps` 0, `dim_mults` empty).
    case invalidConfiguration(String)
    /// A noise schedule is degenerate: a beta reaches 1 (or is not positive), or ᾱ underflows to 0.
    case degenerateSchedule(schedule: String, timesteps: Int, reason: String)
    /// The image size does not fit the Unet (not divisible by its downsample factor).
    case invalidImageSize(height: Int, width: Int, reason: String)
    /// A state_dict did not match the model; every missing, unexpected and mis-shaped key is listed.
    case stateDictMismatch(file: String, missing: [String], unexpected: [String], misshaped: [String])
    /// A tensor given to the model or the diffusion has the wrong shape or length.
    case shapeMismatch(what: String, expected: [Int], got: [Int])
    /// The sampling chain produced NaN or infinite values, first at step `step` (1-based, of
    /// `steps`, at timestep `time`).
    case nonFiniteSample(step: Int, steps: Int, time: Int)

    public var description: String {
        switch self {
        case let .invalidConfiguration(message):
            return "invalid configuration: \(message)"
        case let .degenerateSchedule(schedule, timesteps, reason):
            return "the \(schedule) beta schedule with \(timesteps) timesteps is degenerate: \(reason)"
        case let .invalidImageSize(height, width, reason):
            return "image size \(height)x\(width): \(reason)"
        case let .stateDictMismatch(file, missing, unexpected, misshaped):
            var lines = ["\(file): the weights do not match the model"]
            if !missing.isEmpty { lines.append("  missing keys (\(missing.count)): \(missing.joined(separator: ", "))") }
            if !unexpected.isEmpty { lines.append("  unexpected keys (\(unexpected.count)): \(unexpected.joined(separator: ", "))") }
            if !misshaped.isEmpty { lines.append("  mis-shaped keys (\(misshaped.count)): \(misshaped.joined(separator: "; "))") }
            return lines.joined(separator: "\n")
        case let .shapeMismatch(what, expected, got):
            return "\(what): expected shape \(expected), got \(got)"
        case let .nonFiniteSample(step, steps, time):
            return "the sampled images became NaN or infinite at sampling step \(step) of \(steps) (timestep \(time)); "
                + "the weights are probably NaN or infinite, or the model diverged"
        }
    }
}
