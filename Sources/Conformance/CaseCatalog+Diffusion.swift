import Devices

extension CaseCatalog {
    static func diffusionCases() -> [KernelCase] {
        var cases: [KernelCase] = []
        for (count, dim, theta) in [(1, 4, 10000), (16, 32, 10000), (3, 6, 100), (16, 128, 10000), (5, 10, 10000), (0, 8, 10000)] as [(Int, Int, Float)] {
            cases.append(KernelCase(.timestepEmbedding(count: count, dim: dim, theta: theta)))
        }
        for (rows, width, table) in [(1, 1, 1), (16, 1, 1000), (7, 5, 3), (16, 4, 1000), (0, 3, 5), (3, 0, 5)] {
            cases.append(KernelCase(.gather(rows: rows, width: width, tableRows: table)))
        }
        cases.append(KernelCase(.gather(rows: 33, width: 2, tableRows: 4), variant: "out-of-range indices", inputs: .outOfRangeIndices))

        let distributions: [RandomDistribution] = [
            .uniform(low: 0, high: 1), .uniform(low: -3, high: 5),
            .normal(mean: 0, std: 1), .normal(mean: 2, std: 0.5),
            .integer(low: 0, high: 1000), .integer(low: -5, high: 5), .integer(low: 0, high: 1),
            .integer(low: Int32.min, high: Int32.max),
        ]
        for distribution in distributions {
            for (count, stream) in [(1, 0), (5, 3), (1027, 7)] as [(Int, UInt32)] {
                cases.append(KernelCase(.random(distribution, count: count, stream: stream)))
            }
        }
        // Noise for a batch of 16 RGB 32×32 images, and timesteps for the batch.
        cases.append(KernelCase(.random(.normal(mean: 0, std: 1), count: 16 * 3 * 32 * 32, stream: 1)))
        cases.append(KernelCase(.random(.integer(low: 0, high: 1000), count: 16, stream: 0)))
        cases.append(KernelCase(.random(.uniform(low: 0, high: 1), count: 0, stream: 0)))
        cases.append(KernelCase(.randomAdvance))
        return cases
    }

    static func optimisationCases() -> [KernelCase] {
        var cases: [KernelCase] = []
        for count in [1, 7, 1027, 65537] { cases.append(KernelCase(.adam(Adam(count: count)))) }
        cases.append(KernelCase(.adam(Adam(count: 1027, weightDecay: 0.01))))
        cases.append(KernelCase(.adam(Adam(count: 333, beta1: 0.5, beta2: 0.9, eps: 1e-6, weightDecay: 0.1))))
        cases.append(KernelCase(.adam(Adam(count: 0))))
        for count in [1, 33, 10007] { cases.append(KernelCase(.emaUpdate(count: count))) }
        for maxNorm in [0.1, 1, 100] as [Float] { cases.append(KernelCase(.gradClipScale(maxNorm: maxNorm))) }
        return cases
    }
}
