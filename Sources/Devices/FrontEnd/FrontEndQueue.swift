import Foundation

/// The ``Queue`` of a ``FrontEndDevice``: checks every command, counts it, keeps its operands
/// alive, and hands it to the backend.
///
/// The contract it enforces for every device alike:
/// - every operand is a buffer of this device, in bounds, 4-byte aligned (``Kernel/validate(_:on:)``);
/// - a kernel the device does not support throws ``DeviceError/unsupportedKernel(device:kernel:)``
///   before anything is enqueued;
/// - a device copy whose source and destination overlap in one buffer throws
///   ``DeviceError/invalidOperands(kernel:reason:)`` (no backend needs memmove semantics);
/// - buffers and download targets stay alive until a ``synchronize()`` or an event wait covers
///   the commands that use them.
public final class FrontEndQueue: Queue {
    let frontDevice: FrontEndDevice
    /// The implementation behind this queue.
    public let backend: QueueBackend
    private let lock = NSLock()
    private var counterState = QueueCounters()
    private var profiling = false
    /// Families of timed launches whose durations the backend has not reported yet, in order.
    private var untimed: [String] = []
    private var untimedStart = 0
    /// Objects used by commands not yet known to be complete, oldest first.
    private var keepAlive: [AnyObject] = []
    /// How many objects were dropped from the front of ``keepAlive`` so far.
    private var keepAliveBase = 0

    init(device: FrontEndDevice, backend: QueueBackend) {
        self.frontDevice = device
        self.backend = backend
    }

    /// Drains the backend before the operands it may still use are released.
    deinit { try? backend.synchronize() }

    public var device: Device { frontDevice }
    private var name: String { frontDevice.info.name }

    public var counters: QueueCounters {
        collectLaunchTimes()
        return lock.withLock { counterState }
    }

    public func resetCounters() { lock.withLock { counterState = QueueCounters() } }

    public var isProfiling: Bool {
        get { lock.withLock { profiling } }
        set {
            // A backend that cannot switch keeps its old state; profiling is best effort.
            if backend.supportsProfiling, (try? backend.setProfiling(newValue)) == nil { return }
            lock.withLock { profiling = newValue }
        }
    }

    // MARK: Transfers

    public func upload(_ bytes: UnsafeRawBufferPointer, to destination: BufferSlice) throws {
        let target = try own(destination, bytes: bytes.count, role: "upload destination", operation: "upload")
        if bytes.count > 0 { try backend.upload(bytes, to: target) }
        lock.withLock { counterState.bytesUploaded += bytes.count }
    }

    public func download(_ source: BufferSlice, into destination: HostBuffer) throws {
        let count = destination.byteCount
        let from = try own(source, bytes: count, role: "download source", operation: "download")
        if count > 0 {
            try backend.download(from, into: destination.pointer, byteCount: count)
            keepAlive.append(destination)
            keepAlive.append(source.buffer)
        }
        lock.withLock { counterState.bytesDownloaded += count }
    }

    public func copy(from source: BufferSlice, to destination: BufferSlice, byteCount: Int) throws {
        guard byteCount >= 0 else {
            throw DeviceError.invalidOperands(kernel: "copy", reason: "byte count \(byteCount) is negative")
        }
        let from = try own(source, bytes: byteCount, role: "copy source", operation: "copy")
        let to = try own(destination, bytes: byteCount, role: "copy destination", operation: "copy")
        if byteCount > 0, from.buffer === to.buffer, from.offset < to.offset + byteCount, to.offset < from.offset + byteCount {
            throw DeviceError.invalidOperands(
                kernel: "copy",
                reason: "source [\(from.offset), \(from.offset + byteCount)) and destination "
                    + "[\(to.offset), \(to.offset + byteCount)) overlap in one buffer")
        }
        if byteCount > 0 {
            try backend.copy(from: from, to: to, byteCount: byteCount)
            keepAlive.append(source.buffer)
            keepAlive.append(destination.buffer)
        }
        lock.withLock { counterState.deviceCopies += 1 }
    }

    // MARK: Kernels

    public func launch(_ kernel: Kernel, _ operands: [BufferSlice]) throws {
        let raw = try checked(kernel, operands)
        try hostTimed(kernel.family) { try backend.launch(kernel, raw) }
        for slice in operands { keepAlive.append(slice.buffer) }
        counted(launches: 1, families: CollectionOfOne(kernel.family))
    }

    public func prepare(_ launches: [PreparedLaunch]) throws -> PreparedSchedule {
        var raw: [PreparedLaunch] = []
        raw.reserveCapacity(launches.count)
        var buffers: [ObjectIdentifier: Buffer] = [:]
        for launch in launches {
            raw.append(PreparedLaunch(kernel: launch.kernel, operands: try checked(launch.kernel, launch.operands)))
            for slice in launch.operands { buffers[ObjectIdentifier(slice.buffer)] = slice.buffer }
        }
        let recorded = try backend.makeSchedule(raw)
        return PreparedSchedule(queue: self, launches: raw, recorded: recorded, buffers: Array(buffers.values))
    }

    public func run(_ schedule: PreparedSchedule) throws {
        guard schedule.queue === self else {
            throw DeviceError.invalidOperands(kernel: "schedule", reason: "the schedule was prepared on another queue")
        }
        if let recorded = schedule.recorded {
            try backend.replay(recorded)
        } else {
            for (launch, family) in zip(schedule.launches, schedule.families) {
                try hostTimed(family) { try backend.launch(launch.kernel, launch.operands) }
            }
        }
        counted(launches: schedule.launches.count, families: schedule.families)
    }

    // MARK: Synchronisation

    public func record() throws -> Event {
        FrontEndEvent(queue: self, backend: try backend.record(), keepAliveMark: keepAliveBase + keepAlive.count)
    }

    public func waitOnDevice(for event: Event) throws {
        guard let event = event as? FrontEndEvent, event.queue.frontDevice === frontDevice else {
            let place = (event as? FrontEndEvent).map { $0.queue.frontDevice.info.name == name ? "another instance of '\(name)'" : "device '\($0.queue.frontDevice.info.name)'" }
                ?? "a queue outside the device front end"
            throw DeviceError.invalidOperands(kernel: "waitOnDevice", reason: "the event was recorded on \(place), not on '\(name)'")
        }
        try backend.waitOnDevice(for: event.backend)
    }

    public func synchronize() throws {
        lock.withLock { counterState.hostSynchronizations += 1 }
        defer {
            keepAliveBase += keepAlive.count
            keepAlive.removeAll(keepingCapacity: true)
            collectLaunchTimes()
        }
        try backend.synchronize()
    }

    /// Called after the host waited on `event`: everything before its record point is done.
    fileprivate func waited(upTo mark: Int) {
        lock.withLock { counterState.hostSynchronizations += 1 }
        let done = min(mark - keepAliveBase, keepAlive.count)
        if done > 0 {
            keepAlive.removeFirst(done)
            keepAliveBase += done
        }
        collectLaunchTimes()
    }

    // MARK: Checks and bookkeeping

    /// The backend slice behind `slice`, which must be a buffer of this device with `bytes` bytes.
    private func own(_ slice: BufferSlice, bytes: Int, role: String, operation: String) throws -> BufferSlice {
        guard let managed = slice.buffer as? ManagedBuffer, managed.device === frontDevice else {
            let place = slice.buffer.deviceName == name ? "another instance of '\(name)'" : "device '\(slice.buffer.deviceName)'"
            throw DeviceError.invalidOperands(kernel: operation, reason: "\(role) lives on \(place), not on this queue's '\(name)'")
        }
        guard slice.offset >= 0, bytes <= slice.availableBytes else {
            throw DeviceError.invalidOperands(
                kernel: operation,
                reason: "\(role) needs \(bytes) bytes at offset \(slice.offset), but its buffer has \(slice.buffer.byteCount)")
        }
        return BufferSlice(managed.raw, offset: slice.offset)
    }

    /// Validates a launch and returns its operands as backend slices.
    private func checked(_ kernel: Kernel, _ operands: [BufferSlice]) throws -> [BufferSlice] {
        try kernel.validate(operands, on: name)
        guard frontDevice.backend.supports(kernel) else {
            throw DeviceError.unsupportedKernel(device: name, kernel: kernel.caseDescription)
        }
        // `validate` checked the device name; this catches another instance of the same device.
        return try operands.map { slice in
            guard let managed = slice.buffer as? ManagedBuffer, managed.device === frontDevice else {
                throw DeviceError.invalidOperands(kernel: kernel.family, reason: "an operand lives on another instance of '\(name)'")
            }
            return BufferSlice(managed.raw, offset: slice.offset)
        }
    }

    /// Runs a backend launch; while profiling a backend that cannot time launches itself, adds
    /// the host time of the call to the family: the kernel time for a backend that runs launches
    /// synchronously (as simple plugins do), only the cost of enqueuing for an asynchronous one.
    @inline(__always)
    private func hostTimed(_ family: String, _ body: () throws -> Void) rethrows {
        guard !backend.supportsProfiling, lock.withLock({ profiling }) else { return try body() }
        let start = DispatchTime.now().uptimeNanoseconds
        try body()
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) * 1e-9
        lock.withLock { counterState.timePerFamily[family, default: 0] += seconds }
    }

    private func counted<Families: Collection>(launches: Int, families: Families) where Families.Element == String {
        lock.withLock {
            counterState.kernelsLaunched += launches
            guard profiling else { return }
            for family in families { counterState.launchesPerFamily[family, default: 0] += 1 }
            if backend.supportsProfiling { untimed.append(contentsOf: families) }
        }
    }

    /// Adds the backend's completed launch times to their families.
    private func collectLaunchTimes() {
        guard backend.supportsProfiling, let times = try? backend.takeLaunchTimes(), !times.isEmpty else { return }
        lock.withLock {
            for seconds in times where untimedStart < untimed.count {
                counterState.timePerFamily[untimed[untimedStart], default: 0] += seconds
                untimedStart += 1
            }
            if untimedStart == untimed.count {
                untimed.removeAll(keepingCapacity: true)
                untimedStart = 0
            }
        }
    }
}

/// An ``Event`` of a ``FrontEndQueue``.
final class FrontEndEvent: Event {
    let queue: FrontEndQueue
    let backend: EventBackend
    let keepAliveMark: Int

    init(queue: FrontEndQueue, backend: EventBackend, keepAliveMark: Int) {
        self.queue = queue
        self.backend = backend
        self.keepAliveMark = keepAliveMark
    }

    var isComplete: Bool { backend.isComplete }

    func wait() throws {
        try backend.wait()
        queue.waited(upTo: keepAliveMark)
    }
}
