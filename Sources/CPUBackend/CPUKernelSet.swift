import Devices

/// The raw addresses of one launch's operands, in ``Kernel/operands`` order.
///
/// Resolved on the queue's worker from validated slices, so every pointer is in bounds for the
/// operand's declared size.
struct KernelArgs {
    let pointers: [UnsafeMutableRawPointer]
    /// Per operand, which buffer region it is (empty when the caller does not track buffers, e.g.
    /// kernels run directly in tests: nothing is then kept between launches).
    let regions: [BufferRegion]

    init(pointers: [UnsafeMutableRawPointer], regions: [BufferRegion] = []) {
        self.pointers = pointers
        self.regions = regions
    }

    /// Operand `i`'s buffer region, if known.
    func region(_ i: Int) -> BufferRegion? { i < regions.count ? regions[i] : nil }

    /// Operand `i` as Float elements.
    func float(_ i: Int) -> UnsafeMutablePointer<Float> { pointers[i].assumingMemoryBound(to: Float.self) }
    /// Operand `i` as Int32 elements (indices, integer random numbers).
    func int32(_ i: Int) -> UnsafeMutablePointer<Int32> { pointers[i].assumingMemoryBound(to: Int32.self) }
    /// Operand `i` as UInt32 elements (random state).
    func uint32(_ i: Int) -> UnsafeMutablePointer<UInt32> { pointers[i].assumingMemoryBound(to: UInt32.self) }
}

/// Where an operand lies: its buffer (``CPUBuffer/serial``) and byte offset there. Data a kernel
/// derives from a region may be kept until the device drops it: before any command writes the
/// buffer, and when the buffer is freed (``CPUBuffer/noteWrite()``).
struct BufferRegion: Hashable, Sendable {
    let buffer: UInt64
    let offset: Int
}

/// One implementation of the whole kernel vocabulary on host memory.
///
/// ``CPUReference`` is the oracle (plain loops, Double accumulation); ``CPUFast`` is the fast path
/// (OpenBLAS and parallel SIMD-friendly loops). A ``CPUQueue`` runs one of them on its worker.
protocol CPUKernelSet: Sendable {
    /// Executes `kernel` on `args`; `workspace` holds reusable scratch memory for this call only.
    func run(_ kernel: Kernel, _ args: KernelArgs, workspace: Workspace) throws
}
