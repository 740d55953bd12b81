import Devices

/// The raw addresses of one launch's operands, in ``Kernel/operands`` order.
///
/// Resolved on the queue's worker from validated slices, so every pointer is in bounds for the
/// operand's declared size.
struct KernelArgs {
    let pointers: [UnsafeMutableRawPointer]
    /// Per operand, which buffer it lies in and how often that buffer had been written when the
    /// command ran (nil when the caller does not track buffers, e.g. kernels run directly in tests).
    var versions: [BufferVersion?] = []

    init(pointers: [UnsafeMutableRawPointer], versions: [BufferVersion?] = []) {
        self.pointers = pointers
        self.versions = versions
    }

    /// Operand `i`'s buffer version, if known.
    func version(_ i: Int) -> BufferVersion? { i < versions.count ? versions[i] : nil }

    /// Operand `i` as Float elements.
    func float(_ i: Int) -> UnsafeMutablePointer<Float> { pointers[i].assumingMemoryBound(to: Float.self) }
    /// Operand `i` as Int32 elements (indices, integer random numbers).
    func int32(_ i: Int) -> UnsafeMutablePointer<Int32> { pointers[i].assumingMemoryBound(to: Int32.self) }
    /// Operand `i` as UInt32 elements (random state).
    func uint32(_ i: Int) -> UnsafeMutablePointer<UInt32> { pointers[i].assumingMemoryBound(to: UInt32.self) }
}

/// Identifies the contents of an operand: its buffer (``CPUBuffer/serial``), its byte offset
/// there, and the buffer's write count when the command ran. Two launches that see the same
/// version read the same bytes.
struct BufferVersion: Hashable, Sendable {
    let buffer: UInt64
    let offset: Int
    let writes: UInt64
}

/// One implementation of the whole kernel vocabulary on host memory.
///
/// ``CPUReference`` is the oracle (plain loops, Double accumulation); ``CPUFast`` is the fast path
/// (OpenBLAS and parallel SIMD-friendly loops). A ``CPUQueue`` runs one of them on its worker.
protocol CPUKernelSet: Sendable {
    /// Executes `kernel` on `args`; `workspace` holds reusable scratch memory for this call only.
    func run(_ kernel: Kernel, _ args: KernelArgs, workspace: Workspace) throws
}
