import Devices

/// One test-mode case: a kernel launch plus how its inputs are drawn and laid out.
///
/// The case string (``name``) is ``Kernel/caseDescription`` plus a bracketed variant when the
/// same kernel is run with different inputs or aliasing, e.g.
/// `unary.tanh(count=33) [special values]` or `softmax(outer=3, extent=7, inner=1) [in-place]`.
public struct KernelCase: Sendable {
    /// How the values of the readable operands are drawn.
    public enum Inputs: Sendable, Equatable {
        /// Per ``Operand/Domain``: U(-1, 1) for `.any`, U(0.25, 2) for `.positive`, and so on.
        case standard
        /// As `.standard`, with `.any` operands scaled by this factor (softmax overflow, wide
        /// arguments of saturating functions).
        case scaled(Float)
        /// `.any` operands cycle through large, tiny, signed-zero and saturating values
        /// interleaved with random ones; `.positive` operands through 1e-30 ... 1e30.
        case specialValues
        /// `.index` operands drawn from `-bound ..< 2·bound`, to exercise clamping.
        case outOfRangeIndices
    }

    public var kernel: Kernel
    /// Short label of what distinguishes this case from the plain kernel, if anything.
    public var variant: String?
    public var inputs: Inputs
    /// Operand index → index of the earlier operand whose slice it reuses (in-place launches).
    public var aliases: [Int: Int]
    /// Large Unet-sized cases: run by `ddpm conformance` but left out of the unit tests, where a
    /// debug-built oracle would take minutes on them.
    public var isHeavy: Bool

    public init(_ kernel: Kernel, variant: String? = nil, inputs: Inputs = .standard,
                aliases: [Int: Int] = [:], heavy: Bool = false) {
        self.kernel = kernel
        self.variant = variant
        self.inputs = inputs
        self.aliases = aliases
        self.isHeavy = heavy
    }

    /// The exact case string printed for failures and matched by `--filter`.
    ///
    /// Parameters that ``Kernel/caseDescription`` leaves out (batch strides of a GEMM, the
    /// range of a random distribution, Adam's betas) are appended in braces, so every case
    /// string names its launch completely and uniquely.
    public var name: String {
        guard let variant else { return kernel.caseString }
        return "\(kernel.caseString) [\(variant)]"
    }

    /// The same kernel run in place: operand `output` reuses operand `input`'s slice.
    public static func inPlace(_ kernel: Kernel, output: Int, input: Int) -> KernelCase {
        KernelCase(kernel, variant: "in-place", aliases: [output: input])
    }
}

extension Kernel {
    /// ``caseDescription`` plus, in braces, the parameters it leaves out: a unique case string.
    public var caseString: String {
        guard let hidden = undescribedParameters else { return caseDescription }
        return "\(caseDescription) {\(hidden)}"
    }

    /// The parameters of this launch that ``caseDescription`` does not print, or nil.
    var undescribedParameters: String? {
        switch self {
        case let .gemm(g):
            let natural = Gemm(batch: g.batch, m: g.m, n: g.n, k: g.k, transA: g.transA, transB: g.transB,
                               lda: g.lda, ldb: g.ldb, ldc: g.ldc)
            if (g.strideA, g.strideB, g.strideC) == (natural.strideA, natural.strideB, natural.strideC) { return nil }
            return "strides=\(g.strideA)/\(g.strideB)/\(g.strideC)"
        case let .random(.uniform(low, high), _, _): return "low=\(low), high=\(high)"
        case let .random(.normal(mean, std), _, _): return "mean=\(mean), std=\(std)"
        case let .random(.integer(low, high), _, _): return "low=\(low), high=\(high)"
        case let .adam(a):
            let standard = Adam(count: a.count, weightDecay: a.weightDecay)
            if a == standard { return nil }
            return "beta1=\(a.beta1), beta2=\(a.beta2), eps=\(a.eps)"
        default: return nil
        }
    }
}
