#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Devices
import Foundation

/// An in-order asynchronous queue of a ``CPUDevice``: commands run one after another on a serial worker.
///
/// Enqueuing validates the command on the caller's thread (so bad operands throw at once) and
/// returns without waiting. A command that fails while running records its error, which the next
/// ``synchronize()`` throws; later commands still run, as on a device that keeps its queue going.
final class CPUQueue: Queue {
    let cpuDevice: CPUDevice
    private let worker: DispatchQueue
    private let lock = NSLock()
    private var counterState = QueueCounters()
    private var pendingError: Error?
    private var profiling = false

    init(device: CPUDevice) {
        self.cpuDevice = device
        self.worker = DispatchQueue(label: "ddpm.\(device.info.name).queue", qos: .userInitiated)
    }

    var device: Device { cpuDevice }

    var counters: QueueCounters {
        lock.lock()
        defer { lock.unlock() }
        return counterState
    }

    func resetCounters() {
        lock.lock()
        counterState = QueueCounters()
        lock.unlock()
    }

    var isProfiling: Bool {
        get { lock.lock(); defer { lock.unlock() }; return profiling }
        set { lock.lock(); profiling = newValue; lock.unlock() }
    }

    // MARK: Commands

    func upload(_ bytes: UnsafeRawBufferPointer, to destination: BufferSlice) throws {
        let target = try checked(destination, bytes: bytes.count, role: "upload destination")
        lock.lock()
        counterState.bytesUploaded += bytes.count
        lock.unlock()
        guard bytes.count > 0, let source = bytes.baseAddress else { return }
        // Stage the host bytes now: the caller may reuse its memory as soon as this returns.
        let staging = UnsafeMutableRawPointer.allocate(byteCount: bytes.count, alignment: CPUBuffer.alignment)
        staging.copyMemory(from: source, byteCount: bytes.count)
        let count = bytes.count
        enqueue(family: nil) {
            target.buffer.noteWrite()
            memcpy(target.buffer.base + target.offset, staging, count)
            staging.deallocate()
        }
    }

    func download(_ source: BufferSlice, into destination: HostBuffer) throws {
        let count = destination.byteCount
        let from = try checked(source, bytes: count, role: "download source")
        lock.lock()
        counterState.bytesDownloaded += count
        lock.unlock()
        guard count > 0 else { return }
        // The closure keeps `destination` (and its storage) alive until the copy has run.
        enqueue(family: nil) {
            memcpy(destination.pointer, from.buffer.base + from.offset, count)
        }
    }

    func copy(from source: BufferSlice, to destination: BufferSlice, byteCount: Int) throws {
        guard byteCount >= 0 else {
            throw DeviceError.invalidOperands(kernel: "copy", reason: "byte count \(byteCount) is negative")
        }
        let from = try checked(source, bytes: byteCount, role: "copy source")
        let to = try checked(destination, bytes: byteCount, role: "copy destination")
        lock.lock()
        counterState.deviceCopies += 1
        lock.unlock()
        guard byteCount > 0 else { return }
        enqueue(family: nil) {
            // memmove: source and destination may overlap inside one arena.
            to.buffer.noteWrite()
            memmove(to.buffer.base + to.offset, from.buffer.base + from.offset, byteCount)
        }
    }

    func launch(_ kernel: Kernel, _ operands: [BufferSlice]) throws {
        try kernel.validate(operands, on: cpuDevice.info.name)
        var resolved: [(buffer: CPUBuffer, offset: Int, writes: Bool)] = []
        resolved.reserveCapacity(operands.count)
        for (spec, slice) in zip(kernel.operands, operands) {
            guard let buffer = slice.buffer as? CPUBuffer else {
                throw DeviceError.invalidOperands(
                    kernel: kernel.family, reason: "operand '\(spec.name)' is not a buffer of a CPU device")
            }
            resolved.append((buffer, slice.offset, spec.access != .read))
        }
        lock.lock()
        counterState.kernelsLaunched += 1
        if profiling { counterState.launchesPerFamily[kernel.family, default: 0] += 1 }
        lock.unlock()
        let kernels = cpuDevice.kernels
        let workspaces = cpuDevice.workspaces
        enqueue(family: kernel.family) {
            // `resolved` holds the buffers, so they outlive the command even if the caller drops them.
            for operand in resolved where operand.writes { operand.buffer.noteWrite() }
            let args = KernelArgs(pointers: resolved.map { $0.buffer.base + $0.offset },
                                  regions: resolved.map { BufferRegion(buffer: $0.buffer.serial, offset: $0.offset) })
            try workspaces.with { try kernels.run(kernel, args, workspace: $0) }
        }
    }

    // MARK: Synchronisation

    func record() throws -> Event {
        let event = CPUEvent(queue: self)
        worker.async { event.signal() }
        return event
    }

    func waitOnDevice(for event: Event) throws {
        guard let cpuEvent = event as? CPUEvent else {
            throw DeviceError.invalidOperands(
                kernel: "waitOnDevice", reason: "the event was not recorded on a CPU device queue")
        }
        // Commands of this queue already run in order after the event's record point.
        if cpuEvent.queue === self { return }
        worker.async { cpuEvent.block() }
    }

    func synchronize() throws {
        worker.sync {}
        lock.lock()
        counterState.hostSynchronizations += 1
        let error = pendingError
        pendingError = nil
        lock.unlock()
        if let error { throw error }
    }

    /// Counts one host synchronisation (an ``Event/wait()`` on an event of this queue).
    func countHostSynchronization() {
        lock.lock()
        counterState.hostSynchronizations += 1
        lock.unlock()
    }

    // MARK: Internals

    /// Runs `work` on the worker after every command enqueued before it; a thrown error is kept
    /// for the next ``synchronize()``. Internal so tests can inject a failing command.
    func enqueue(family: String?, _ work: @escaping () throws -> Void) {
        let profile = family != nil && isProfiling
        worker.async { [self] in
            let start = profile ? DispatchTime.now().uptimeNanoseconds : 0
            do {
                try work()
            } catch {
                lock.lock()
                if pendingError == nil { pendingError = error }
                lock.unlock()
            }
            if profile, let family {
                let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) * 1e-9
                lock.lock()
                counterState.timePerFamily[family, default: 0] += seconds
                lock.unlock()
            }
        }
    }

    /// Checks that `slice` is a buffer of this device with `bytes` bytes from its offset.
    private func checked(_ slice: BufferSlice, bytes: Int, role: String) throws -> (buffer: CPUBuffer, offset: Int) {
        let name = cpuDevice.info.name
        guard let buffer = slice.buffer as? CPUBuffer, buffer.deviceName == name else {
            throw DeviceError.invalidOperands(
                kernel: role, reason: "buffer lives on device '\(slice.buffer.deviceName)', not '\(name)'")
        }
        guard slice.offset >= 0, bytes <= slice.buffer.byteCount - slice.offset else {
            throw DeviceError.invalidOperands(
                kernel: role,
                reason: "\(bytes) bytes at offset \(slice.offset) do not fit in a buffer of \(slice.buffer.byteCount) bytes")
        }
        return (buffer, slice.offset)
    }
}

/// A completion marker on a ``CPUQueue``: signalled by the worker when it reaches the record point.
final class CPUEvent: Event, @unchecked Sendable {
    let queue: CPUQueue
    private let condition = NSCondition()
    private var done = false

    init(queue: CPUQueue) { self.queue = queue }

    var isComplete: Bool {
        condition.lock()
        defer { condition.unlock() }
        return done
    }

    func wait() throws {
        block()
        queue.countHostSynchronization()
    }

    /// Blocks the calling thread until the event completes, counting nothing.
    func block() {
        condition.lock()
        while !done { condition.wait() }
        condition.unlock()
    }

    func signal() {
        condition.lock()
        done = true
        condition.broadcast()
        condition.unlock()
    }
}
