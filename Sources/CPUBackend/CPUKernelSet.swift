import Devices

/// The raw addresses of one launch's operands, in ``Kernel/operands`` order.
///
/// Resolved on the queue's worker from validated slices, so every pointer is in bounds for the
/// operand's declared size.
struct KernelArgs {
    let pointers: [UnsafeMutableRawPointer]

    /// Operand `i` as Float elements.
    func float(_ i: Int) -> UnsafeMutablePointer<Float> { pointers[i].assumingMemoryBound(to: Float.self) }
    /// Operand `i` as Int32 elements (indices, integer random numbers).
    func int32(_ i: Int) -> UnsafeMutablePointer<Int32> { pointers[i].assumingMemoryBound(to: Int32.self) }
    /// Operand `i` as UInt32 elements (random state).
    func uint32(_ i: Int) -> UnsafeMutablePointer<UInt32> { pointers[i].assumingMemoryBound(to: UInt32.self) }
}

/// One implementation of the whole kernel vocabulary on host memory.
///
/// ``CPUReference`` is the oracle (plain loops, Double accumulation); ``CPUFast`` is the fast path
/// (OpenBLAS and parallel SIMD-friendly loops). A ``CPUQueue`` runs one of them on its worker.
protocol CPUKernelSet: Sendable {
    /// Executes `kernel` on `args`; `workspace` holds reusable scratch memory for this call only.
    func run(_ kernel: Kernel, _ args: KernelArgs, workspace: Workspace) throws
}
