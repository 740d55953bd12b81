/// An in-order, asynchronous command queue on one device.
///
/// Commands run in the order they are enqueued; enqueuing never waits for the device (except
/// where a method says it synchronises). The queue counts what it does in ``counters``: tests
/// use those counts to prove that a training step stays on the device.
///
/// Operand conventions for ``launch(_:_:)`` are fixed per kernel by ``Kernel/operands``: the
/// queue validates the count, bounds and 4-byte alignment of every slice before enqueuing and
/// throws ``DeviceError/invalidOperands(kernel:reason:)`` instead of touching memory it does not own.
public protocol Queue: AnyObject {
    /// The device this queue belongs to.
    var device: Device { get }

    /// Copies `bytes` from host memory into `destination`.
    ///
    /// The host bytes are read (copied to staging) before this returns, so the caller may reuse
    /// them at once; the transfer itself is ordered with the other commands. Counts
    /// `bytes.count` in ``QueueCounters/bytesUploaded``.
    func upload(_ bytes: UnsafeRawBufferPointer, to destination: BufferSlice) throws

    /// Enqueues a copy of `source` into `destination`, which must hold at least `source.byteCount`.
    ///
    /// Asynchronous: the contents of `destination` are valid after a later ``synchronize()`` or
    /// the completion of an ``Event`` recorded after this call. Counts bytes downloaded.
    func download(_ source: BufferSlice, into destination: HostBuffer) throws

    /// Enqueues a device-to-device copy of `byteCount` bytes.
    ///
    /// Source and destination must not overlap in one buffer: that throws
    /// ``DeviceError/invalidOperands(kernel:reason:)`` on every device.
    func copy(from source: BufferSlice, to destination: BufferSlice, byteCount: Int) throws

    /// Enqueues one kernel. `operands` follow ``Kernel/operands`` in order.
    func launch(_ kernel: Kernel, _ operands: [BufferSlice]) throws

    /// Checks `launches` once for replay on this queue (see ``PreparedSchedule``).
    func prepare(_ launches: [PreparedLaunch]) throws -> PreparedSchedule

    /// Enqueues every launch of a schedule prepared on this queue, in order, without re-checking.
    func run(_ schedule: PreparedSchedule) throws

    /// Records an event that completes when every command enqueued so far has completed.
    func record() throws -> Event

    /// Makes later commands on this queue wait for `event` (possibly from another queue of the
    /// same device) without blocking the host.
    func waitOnDevice(for event: Event) throws

    /// Blocks the host until every enqueued command has completed. Counts one host synchronisation.
    /// Errors raised by asynchronous commands surface here.
    func synchronize() throws

    /// What this queue has done since it was made or last reset.
    var counters: QueueCounters { get }

    /// Sets all counters to zero.
    func resetCounters()

    /// When true, the queue measures the time of every command and accumulates it per kernel
    /// family in ``QueueCounters/timePerFamily`` (costs a little per command).
    var isProfiling: Bool { get set }
}

/// A completion marker recorded on a ``Queue``.
public protocol Event: AnyObject {
    /// Whether every command before the record point has completed (does not block).
    var isComplete: Bool { get }
    /// Blocks the host until the event completes. Counts one host synchronisation on its queue.
    func wait() throws
}

/// What a queue has done: the counters that prove a step stays on the device.
public struct QueueCounters: Sendable, Equatable {
    public var kernelsLaunched: Int = 0
    public var bytesUploaded: Int = 0
    public var bytesDownloaded: Int = 0
    public var deviceCopies: Int = 0
    /// Times the host blocked on the device (``Queue/synchronize()``, ``Event/wait()``).
    public var hostSynchronizations: Int = 0
    /// Seconds spent per kernel family (``Kernel/family``); filled only while profiling.
    public var timePerFamily: [String: Double] = [:]
    /// Launches per kernel family; filled only while profiling.
    public var launchesPerFamily: [String: Int] = [:]
    /// Launches per kernel family that ran on the fallback device of a ``FallbackDevice`` (always counted).
    public var fallbackLaunchesPerFamily: [String: Int] = [:]
    /// Bytes a ``FallbackDevice`` copied from its primary device to the fallback device, and back.
    public var bytesToFallback: Int = 0
    public var bytesFromFallback: Int = 0

    public init() {}
}

/// Host memory that receives asynchronous downloads.
///
/// Its storage stays alive while any download into it is in flight, because the queue keeps a
/// reference until the command completes. Read it only after synchronising.
public final class HostBuffer: @unchecked Sendable {
    public let byteCount: Int
    public let pointer: UnsafeMutableRawPointer

    public init(byteCount: Int) {
        self.byteCount = byteCount
        self.pointer = UnsafeMutableRawPointer.allocate(byteCount: max(byteCount, 1), alignment: 64)
        self.pointer.initializeMemory(as: UInt8.self, repeating: 0, count: max(byteCount, 1))
    }

    deinit { pointer.deallocate() }

    /// The contents as `count` floats (default: all of it).
    public func floats(count: Int? = nil) -> [Float] {
        let n = count ?? byteCount / 4
        precondition(n * 4 <= byteCount, "HostBuffer holds \(byteCount) bytes, asked for \(n) floats")
        return Array(UnsafeBufferPointer(start: pointer.assumingMemoryBound(to: Float.self), count: n))
    }

    /// The contents reinterpreted as `count` values of `T`.
    public func values<T>(_ type: T.Type, count: Int) -> [T] {
        precondition(count * MemoryLayout<T>.stride <= byteCount)
        return Array(UnsafeBufferPointer(start: pointer.assumingMemoryBound(to: T.self), count: count))
    }
}
