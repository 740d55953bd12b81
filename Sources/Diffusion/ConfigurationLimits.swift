/// Upper bounds on every size that comes from outside (command-line options, a checkpoint's or a
/// `--config` file's JSON), checked before anything is computed or allocated from them.
///
/// They sit far above any model this project trains (the reference's largest published Unets
/// use dim 128-256 and 4-5 stages at 256-1024 pixels), and far below what would overflow an
/// `Int` or exhaust memory: the products formed from them (channels × kernel area × channels,
/// parameter counts, batch × image elements) stay below 2^48. An error names the setting, the
/// value and the limit.
public enum ConfigurationLimits {
    /// `dim` (the base width) and `init_dim`.
    public static let maxDim = 4096
    /// Stages (`dim_mults` entries): 2^(stages − 1) is the downsampling factor.
    public static let maxStages = 8
    /// Any channel count inside the Unet (`dim × mult`, `out_dim`).
    public static let maxChannels = 16384
    /// Image channels (`channels`).
    public static let maxImageChannels = 64
    /// Attention heads and head width, per stage.
    public static let maxAttentionHeads = 1024
    public static let maxAttentionDimHead = 4096
    /// Total Unet parameters (2^30 floats: 4 GiB of weights, 16 GiB with EMA and Adam moments).
    public static let maxParameters = 1 << 30
    /// Image height and width.
    public static let maxImageSide = 4096
    /// Diffusion timesteps T (the schedule tables hold ~20 doubles per timestep on the host).
    public static let maxTimesteps = 100_000

    /// Refuses a Unet (either kind) with more than ``maxParameters`` parameters.
    static func checkParameterCount(of specs: [UnetParameterSpec]) throws {
        let count = specs.reduce(0) { $0 + $1.count }
        guard count <= maxParameters else {
            throw DiffusionError.invalidConfiguration(
                "unet: the configuration has \(count) parameters, more than the limit of \(maxParameters)")
        }
    }

    /// Throws `invalidConfiguration` naming `name` when `value` exceeds `limit`.
    static func check(_ value: Int, atMost limit: Int, _ name: String) throws {
        guard value <= limit else {
            throw DiffusionError.invalidConfiguration("\(name) is \(value), more than the limit of \(limit)")
        }
    }
}
