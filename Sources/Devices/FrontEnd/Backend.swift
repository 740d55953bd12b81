/// The raw slots a device implementation provides: the Swift mirror of `ddpm_device.h`.
///
/// A backend implements only these primitives; ``FrontEndDevice`` turns one into a ``Device``
/// and does, once for every backend, what used to be written per backend: operand validation
/// (``Kernel/validate(_:on:)``), the support check, buffer ownership, allocation limits, queue
/// counters, per-family kernel times, keep-alives and memory statistics. Built-in devices
/// (`cpu`, `cpu-reference`) implement these protocols in Swift; a plugin implements the C table,
/// which `Backends.PluginDevice` adapts to them. Either way the front end is the same.
///
/// Every slice a backend receives has been checked: its buffer is one this backend allocated,
/// it is in bounds for the kernel's operand, and its byte offset is a multiple of 4.
public protocol DeviceBackend: AnyObject, Sendable {
    /// What the device is. `name` is its registry name.
    var info: DeviceInfo { get }

    /// Allocates `bytes` (0 allowed, at most `info.maxAllocationBytes`); the contents are undefined.
    ///
    /// Throws ``DeviceError/outOfMemory(device:requested:)`` when the device cannot provide it.
    func allocateBuffer(bytes: Int) throws -> Buffer

    /// Makes a new in-order queue.
    func makeBackendQueue() throws -> QueueBackend

    /// Whether the device implements `kernel` with these parameters.
    func supports(_ kernel: Kernel) -> Bool
}

/// The raw slots of an in-order queue. The front end calls them from one thread at a time.
public protocol QueueBackend: AnyObject {
    /// Copies `bytes` into `destination`; the bytes must be staged before this returns.
    func upload(_ bytes: UnsafeRawBufferPointer, to destination: BufferSlice) throws
    /// Enqueues a copy of `byteCount` bytes into `host`, which stays valid until the command completes.
    func download(_ source: BufferSlice, into host: UnsafeMutableRawPointer, byteCount: Int) throws
    /// Enqueues a device copy; the ranges never overlap (the front end rejects that).
    func copy(from source: BufferSlice, to destination: BufferSlice, byteCount: Int) throws
    /// Enqueues one validated, supported kernel.
    func launch(_ kernel: Kernel, _ operands: [BufferSlice]) throws
    /// An event completing when everything enqueued so far has.
    func record() throws -> EventBackend
    /// Later commands wait for `event` (of a queue of the same device) without blocking the host.
    func waitOnDevice(for event: EventBackend) throws
    /// Blocks until everything has completed; throws the first deferred error since the last call.
    func synchronize() throws

    /// Whether the queue can time launches (the optional profiling slots).
    var supportsProfiling: Bool { get }
    /// Starts or stops timing launches.
    func setProfiling(_ enabled: Bool) throws
    /// Durations in seconds of completed timed launches, oldest first, in launch order; removes them.
    func takeLaunchTimes() throws -> [Double]

    /// A backend-side recording of `launches` (the optional schedule slots), or nil to have the
    /// front end replay them one by one.
    func makeSchedule(_ launches: [PreparedLaunch]) throws -> ScheduleBackend?
    /// Replays a schedule this queue made.
    func replay(_ schedule: ScheduleBackend) throws
}

/// A completion marker of a ``QueueBackend``.
public protocol EventBackend: AnyObject {
    var isComplete: Bool { get }
    func wait() throws
}

/// A schedule recorded by a backend (``QueueBackend/makeSchedule(_:)``).
public protocol ScheduleBackend: AnyObject {}

/// One launch of a schedule, as a backend receives it (slices of backend buffers).
public struct PreparedLaunch: @unchecked Sendable {
    public let kernel: Kernel
    public let operands: [BufferSlice]

    public init(kernel: Kernel, operands: [BufferSlice]) {
        self.kernel = kernel
        self.operands = operands
    }
}

extension QueueBackend {
    public var supportsProfiling: Bool { false }
    public func setProfiling(_ enabled: Bool) throws {}
    public func takeLaunchTimes() throws -> [Double] { [] }
    public func makeSchedule(_ launches: [PreparedLaunch]) throws -> ScheduleBackend? { nil }
    public func replay(_ schedule: ScheduleBackend) throws {
        preconditionFailure("replay called on a queue whose makeSchedule returns nil")
    }
}
