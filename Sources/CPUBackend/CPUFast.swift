import Devices

/// The fast kernels of the `cpu` device: OpenBLAS for GEMM, im2col/GEMM convolution, and loops
/// the compiler vectorises, split over the cores when large.
final class CPUFast: CPUKernelSet, @unchecked Sendable {
    typealias Pointer = UnsafeMutablePointer<Float>

    let blas: OpenBLAS
    let deviceName: String
    /// Families not yet given a tuned implementation run the oracle's loops.
    private let reference = CPUReference()

    init(blas: OpenBLAS, deviceName: String) {
        self.blas = blas
        self.deviceName = deviceName
    }

    func run(_ kernel: Kernel, _ a: KernelArgs, workspace: Workspace) throws {
        switch kernel {
        case let .gemm(g):
            try gemm(g, a: a.float(0), b: a.float(1), c: a.float(2), bias: g.bias == .none ? nil : a.float(3))
        default:
            try reference.run(kernel, a, workspace: workspace)
        }
    }
}
