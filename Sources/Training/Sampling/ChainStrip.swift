/// `--save-chain N`: evenly spaced intermediate states of a chain as one picture, so a user can
/// watch an image appear.
public enum ChainStrip {
    /// The most steps one strip shows.
    public static let maxSteps = 1000

    /// `count` step indices spread evenly over a chain of `steps` steps, always including the
    /// first and the last (`round(linspace(0, steps − 1, count))`, duplicates removed).
    public static func steps(count: Int, of steps: Int) -> [Int] {
        guard count >= 2, steps >= 2 else { return [max(steps - 1, 0)] }
        let picked = (0..<count).map { Int((Double($0) * Double(steps - 1) / Double(count - 1)).rounded()) }
        return picked.enumerated().filter { $0.offset == 0 || $0.element != picked[$0.offset - 1] }.map(\.element)
    }

    /// Two rows per image for the first `images` images of the batch: x_t after each kept step,
    /// then the x̂₀ that step predicted, both mapped to [0, 1] by `unnormalize` (x_t is noisy
    /// early on, and clamped when written).
    public static func make(_ chain: SampledChainView, images: Int, channels: Int, height: Int, width: Int) -> Image {
        let n = channels * height * width
        let shown = max(1, min(images, chain.batch))
        var tiles: [Float] = []
        for i in 0..<shown {
            for row in [chain.x, chain.xStart] {
                for state in row { tiles += chain.unnormalize(Array(state[(i * n)..<((i + 1) * n)])) }
            }
        }
        return ImageGrid.make(tiles, count: 2 * shown * chain.x.count, channels: channels, height: height, width: width, columns: chain.x.count)
    }
}

/// What ``ChainStrip`` needs of a chain: the kept states `[B, C, H, W]` each, and the map to [0, 1].
public struct SampledChainView {
    public var x: [[Float]]
    public var xStart: [[Float]]
    public var batch: Int
    public var unnormalize: ([Float]) -> [Float]

    public init(x: [[Float]], xStart: [[Float]], batch: Int, unnormalize: @escaping ([Float]) -> [Float]) {
        self.x = x
        self.xStart = xStart
        self.batch = batch
        self.unnormalize = unnormalize
    }
}
