import Devices

/// A grad-mode case: a forward kernel, the backward launches that should compute its
/// gradients, and how to check them against central finite differences (ggml's grad mode).
///
/// With random upstream gradients `dy` for the forward outputs, the loss is `L = Σ dy·f(x)`;
/// the backward program must produce `∂L/∂x` for every input in ``wrt``. Both sides run on the
/// device under test: the check is that the device's backward kernels are the derivatives of
/// its own forward kernel.
public struct GradientCase: Sendable {
    /// A buffer of a backward launch.
    public indirect enum Ref: Sendable, Hashable {
        /// Forward operand `i` (inputs as drawn; outputs as the forward launch left them).
        case value(Int)
        /// The upstream gradient of forward output operand `i`.
        case upstream(Int)
        /// The gradient with respect to forward input operand `i` (zeroed before the backward program).
        case gradient(Int)
        /// Scratch buffer `i` of ``temporaries`` (zeroed).
        case temporary(Int)
        /// `ref`, `elements` floats further on.
        case offset(Ref, elements: Int)
    }

    /// One launch of the backward program.
    public struct Step: Sendable {
        public var kernel: Kernel
        public var operands: [Ref]

        public init(_ kernel: Kernel, _ operands: [Ref]) {
            self.kernel = kernel
            self.operands = operands
        }
    }

    /// The finite-difference stencil.
    public enum Stencil: Sendable {
        /// `(L(x+ε) − L(x−ε)) / 2ε`: exact for functions linear in the perturbed element.
        case central2
        /// `(8(L(x+ε) − L(x−ε)) − (L(x+2ε) − L(x−2ε))) / 12ε`: error O(ε⁴) for smooth functions.
        case central4
    }

    /// Short description of the forward and the backward kernels, printed for failures.
    public var name: String
    public var forward: Kernel
    /// Forward input operands to differentiate.
    public var wrt: [Int]
    public var steps: [Step]
    /// Element counts of scratch buffers used by ``steps``.
    public var temporaries: [Int]
    public var epsilon: Float
    public var stencil: Stencil
    /// Largest accepted relative error ‖g − g_fd‖ / max(‖g‖, ‖g_fd‖) per differentiated input.
    public var threshold: Double
    /// Points where the function has a kink (relu, abs, clamp): inputs are kept 5ε or more
    /// away so the stencil never straddles one.
    public var kinks: [Float]

    public init(name: String, forward: Kernel, wrt: [Int], steps: [Step], temporaries: [Int] = [],
                epsilon: Float, stencil: Stencil, threshold: Double, kinks: [Float] = []) {
        self.name = name
        self.forward = forward
        self.wrt = wrt
        self.steps = steps
        self.temporaries = temporaries
        self.epsilon = epsilon
        self.stencil = stencil
        self.threshold = threshold
        self.kinks = kinks
    }

    /// Settings for functions linear in each perturbed element (GEMM, convolution, copies, sums):
    /// a large step, because the stencil is exact and a large step drowns float rounding.
    static let linear = (epsilon: Float(0.5), stencil: Stencil.central2, threshold: 1e-4)
    /// Settings for smooth non-linear functions.
    static let smooth = (epsilon: Float(1e-2), stencil: Stencil.central4, threshold: 1e-3)

    /// A case with the family name of the backward kernels appended to the forward case string.
    static func make(_ forward: Kernel, wrt: [Int], steps: [Step], temporaries: [Int] = [], linear: Bool,
                     kinks: [Float] = [], label: String? = nil) -> GradientCase {
        let settings = linear ? GradientCase.linear : GradientCase.smooth
        let names = forward.operands
        let wrtNames = wrt.map { names[$0].name }.joined(separator: ", ")
        var via: [String] = []
        for step in steps where !via.contains(step.kernel.family) { via.append(step.kernel.family) }
        let name = "grad \(forward.caseString) d/d[\(wrtNames)] via \(label ?? via.joined(separator: " + "))"
        return GradientCase(name: name, forward: forward, wrt: wrt, steps: steps, temporaries: temporaries,
                            epsilon: settings.epsilon, stencil: settings.stencil, threshold: settings.threshold,
                            kinks: kinks)
    }
}
