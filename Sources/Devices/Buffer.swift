/// Opaque device memory. The host never dereferences it: data moves only through a ``Queue``.
///
/// A buffer is freed when its last reference goes away (after any queued work that uses it has
/// been submitted; backends keep operands alive until their commands complete).
public protocol Buffer: AnyObject, Sendable {
    /// Size in bytes.
    var byteCount: Int { get }
    /// Registry name of the device that owns this buffer.
    var deviceName: String { get }
}

extension Buffer {
    /// A view starting `offset` bytes into this buffer.
    public func slice(offset: Int = 0) -> BufferSlice { BufferSlice(self, offset: offset) }
}

/// A tensor's address on a device: a buffer and a byte offset into it.
///
/// Kernels address every operand this way, so a memory planner can place many tensors in one
/// arena. OpenCL kernels receive it as a `(__global float* base, ulong offset)` pair; see
/// `docs/kernel-abi.md`.
public struct BufferSlice: @unchecked Sendable {
    public let buffer: Buffer
    /// Byte offset from the start of `buffer`; a multiple of 4 for every kernel operand.
    public let offset: Int

    public init(_ buffer: Buffer, offset: Int = 0) {
        self.buffer = buffer
        self.offset = offset
    }

    /// Bytes from `offset` to the end of the buffer.
    public var availableBytes: Int { buffer.byteCount - offset }

    /// The same buffer, `bytes` further on.
    public func advanced(by bytes: Int) -> BufferSlice { BufferSlice(buffer, offset: offset + bytes) }
}
