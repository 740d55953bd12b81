/// A compute device: opaque memory, in-order queues, and a fixed kernel vocabulary.
///
/// A device is the whole contract a backend implements (ggml-backend style): allocate opaque
/// buffers, make in-order queues, and say which ``Kernel``s it supports. Everything above the
/// `Devices` layer talks to this protocol and never to a concrete backend.
///
/// ```swift
/// let device = try DeviceRegistry.device(named: "opencl")
/// let queue = try device.makeQueue()
/// let x = try device.allocate(bytes: 4 * 1024)
/// try queue.upload([Float](repeating: 1, count: 1024), to: x.slice())
/// try queue.launch(.unary(.silu, count: 1024), [x.slice(), x.slice()])
/// let y = try queue.readFloats(x.slice(), count: 1024)   // one host synchronisation
/// ```
public protocol Device: AnyObject, Sendable {
    /// What the device is and what it can do (name, vendor, memory, limits, capabilities).
    var info: DeviceInfo { get }

    /// Allocates `bytes` of device memory, aligned to `info.alignment`.
    ///
    /// Must throw ``DeviceError/allocationTooLarge(device:requested:limit:)`` when `bytes`
    /// exceeds `info.maxAllocationBytes`, and ``DeviceError/outOfMemory(device:requested:)``
    /// when the device cannot provide it. Never crashes. Zero bytes is legal.
    func allocate(bytes: Int) throws -> Buffer

    /// Makes a new in-order queue on this device.
    func makeQueue() throws -> Queue

    /// Whether the device implements `kernel` with these parameters. A conformance run reports
    /// unsupported kernels as "not supported", never as failures.
    func supports(_ kernel: Kernel) -> Bool

    /// Live allocations and bytes, for leak checks.
    var memoryStats: MemoryStats { get }
}

/// Live-allocation counters of a device, read by leak checks in the conformance suite.
public struct MemoryStats: Sendable, Equatable {
    public var liveBuffers: Int
    public var liveBytes: Int
    public var peakBytes: Int

    public init(liveBuffers: Int = 0, liveBytes: Int = 0, peakBytes: Int = 0) {
        self.liveBuffers = liveBuffers
        self.liveBytes = liveBytes
        self.peakBytes = peakBytes
    }
}
