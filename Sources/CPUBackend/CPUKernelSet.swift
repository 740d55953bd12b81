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

    /// The operands, to bind to their names with ``Kernel/call(_:)``.
    var operands: [CPUOperand] {
        pointers.indices.map { CPUOperand(pointer: pointers[$0], region: $0 < regions.count ? regions[$0] : nil) }
    }
}

/// One operand on the host: its address and, when tracked, the buffer region it is.
struct CPUOperand {
    let pointer: UnsafeMutableRawPointer
    let region: BufferRegion?

    /// As Float elements.
    var float: UnsafeMutablePointer<Float> { pointer.assumingMemoryBound(to: Float.self) }
    /// As Int32 elements (indices, integer random numbers).
    var int32: UnsafeMutablePointer<Int32> { pointer.assumingMemoryBound(to: Int32.self) }
    /// As UInt32 elements (random state, raw random output).
    var uint32: UnsafeMutablePointer<UInt32> { pointer.assumingMemoryBound(to: UInt32.self) }
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
