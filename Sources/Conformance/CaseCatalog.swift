import Devices

/// Every test-mode kernel case, family by family (the ggml `make_test_cases_eval` of ddpm).
///
/// Shapes mix odd sizes (1, 3, 7, 17, 33, 127, 1027), zero sizes where the kernel allows them,
/// layout corner cases (broadcasts, transposes, leading dimensions, batch stride 0, byte offsets
/// come from the guards) and the shapes the reference Unet really runs. Shapes of the full
/// Unet(dim 64) at batch 16 are marked heavy: `ddpm conformance` runs them, the unit tests do not.
public enum CaseCatalog {
    /// All kernel cases in catalog order (memory, elementwise, reductions, norms, linear
    /// algebra, resampling, diffusion helpers, optimisation).
    public static func kernelCases() -> [KernelCase] {
        memoryCases() + unaryCases() + unaryBackwardCases() + binaryCases() + reductionCases()
            + softmaxCases() + normalisationCases() + gemmCases() + convolutionCases()
            + resamplingCases() + diffusionCases() + optimisationCases()
    }

    /// Odd element counts used by the elementwise families.
    static let oddCounts = [1, 7, 33, 1027]
}

extension CaseCatalog {
    static func memoryCases() -> [KernelCase] {
        var cases: [KernelCase] = []
        for (count, value) in [(0, 1), (1, 0), (3, -2.5), (17, 1), (127, 0.125), (4099, 3), (65537, -1)] as [(Int, Float)] {
            cases.append(KernelCase(.fill(count: count, value: value)))
        }
        cases.append(KernelCase(.fill(count: 33, value: .infinity)))
        cases.append(KernelCase(.fill(count: 33, value: -0.0)))

        func copy(_ shape: [Int], _ src: [Int], _ dst: [Int], accumulate: Bool = false, heavy: Bool = false) -> KernelCase {
            KernelCase(.copy(StridedCopy(shape: shape, srcStrides: src, dstStrides: dst, accumulate: accumulate)), heavy: heavy)
        }
        // Contiguous copies of odd sizes, including empty.
        for n in [0, 1, 7, 33, 1027, 100_003] { cases.append(KernelCase(.copy(.contiguous(n)))) }
        for n in [1, 17, 4099] { cases.append(KernelCase(.copy(.contiguous(n, accumulate: true)))) }
        // Slice: the first 5 columns of a [3, 8] row-major matrix.
        cases.append(copy([3, 5], [8, 1], [5, 1]))
        // Concat: [2, 3, 4] into channels 0..<3 of a [2, 7, 4] tensor (the slice offset places it).
        cases.append(copy([2, 3, 4], [12, 4, 1], [28, 4, 1]))
        // Its adjoint: accumulate the slice back out of the concatenation.
        cases.append(copy([2, 3, 4], [28, 4, 1], [12, 4, 1], accumulate: true))
        cases.append(copy([3, 5], [5, 1], [8, 1], accumulate: true))
        // Transposes and permutes.
        cases.append(copy([17, 33], [1, 17], [33, 1]))
        cases.append(copy([2, 5, 7, 3], [105, 7, 1, 35], [105, 21, 3, 1]))   // NCHW -> NHWC
        cases.append(copy([2, 3, 5, 7], [105, 1, 21, 3], [105, 35, 7, 1]))   // NHWC -> NCHW
        // Attention head split: [b, h·d, n] viewed as [b, h, n, d] (transpose of the last two).
        cases.append(copy([2, 4, 64, 32], [8192, 2048, 1, 64], [8192, 2048, 32, 1]))
        // Broadcasts (stride 0 in the source).
        cases.append(copy([4, 5], [0, 1], [5, 1]))
        cases.append(copy([7, 3], [1, 0], [3, 1]))
        cases.append(copy([2, 1, 3, 1, 2, 2], [0, 0, 1, 0, 0, 0], [12, 12, 4, 4, 2, 1]))
        // Several source elements onto one destination element (destination stride 0): with
        // accumulate, the adjoint of a broadcast (a sum, added in sequential-loop order); without,
        // the last one wins, as in a sequential loop.
        cases.append(copy([4, 5], [5, 1], [0, 1], accumulate: true))
        cases.append(copy([3, 7, 2], [14, 2, 1], [2, 0, 1], accumulate: true))
        cases.append(copy([4, 5], [5, 1], [0, 1]))
        // Rank 6 with every stride different.
        cases.append(copy([2, 3, 2, 2, 3, 2], [1, 2, 6, 12, 24, 72], [144, 48, 24, 12, 4, 2]))
        // Negative strides walk backwards from the view's highest element (the slice starts at its
        // lowest address): reversal and a column flip. Devices may decline them in supports().
        cases.append(copy([17], [-1], [1]))
        cases.append(copy([3, 4], [4, -1], [4, 1]))
        cases.append(copy([3, 4], [4, 1], [-4, 1], accumulate: true))
        // Empty extents.
        cases.append(copy([0, 5], [5, 1], [5, 1]))
        cases.append(copy([3, 0, 2], [0, 2, 1], [2, 2, 1]))
        // Unet skip concatenation: [N, 64, 32, 32] into the first half of [N, 128, 32, 32].
        cases.append(copy([2, 64, 1024], [65536, 1024, 1], [131072, 1024, 1]))
        cases.append(copy([16, 64, 1024], [65536, 1024, 1], [131072, 1024, 1], heavy: true))
        return cases
    }
}
