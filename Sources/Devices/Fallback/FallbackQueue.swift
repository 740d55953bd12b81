import Foundation

/// The queue of a ``FallbackDevice``: one queue on each device, launches placed per kernel.
final class FallbackQueue: Queue {
    let owner: FallbackDevice
    let primary: Queue
    let fallback: Queue
    private var own = QueueCounters()
    private var profiling = false

    init(device: FallbackDevice, primary: Queue, fallback: Queue) {
        self.owner = device
        self.primary = primary
        self.fallback = fallback
    }

    var device: Device { owner }

    /// This queue's own counts (what its caller asked for, plus the fallback traffic), with the
    /// two devices' per-family times merged.
    var counters: QueueCounters {
        var merged = own
        for source in [primary.counters, fallback.counters] {
            merged.timePerFamily.merge(source.timePerFamily, uniquingKeysWith: +)
        }
        return merged
    }

    func resetCounters() {
        own = QueueCounters()
        primary.resetCounters()
        fallback.resetCounters()
    }

    var isProfiling: Bool {
        get { profiling }
        set {
            profiling = newValue
            primary.isProfiling = newValue
            fallback.isProfiling = newValue
        }
    }

    // MARK: Transfers (always on the primary device)

    func upload(_ bytes: UnsafeRawBufferPointer, to destination: BufferSlice) throws {
        let buffer = try own(destination, "upload destination")
        try primary.upload(bytes, to: BufferSlice(buffer.primary, offset: destination.offset))
        buffer.written(destination.offset..<destination.offset + bytes.count, on: .primary)
        own.bytesUploaded += bytes.count
    }

    func download(_ source: BufferSlice, into destination: HostBuffer) throws {
        let buffer = try own(source, "download source")
        try makeCurrent([(buffer, source.offset..<source.offset + destination.byteCount)], on: .primary)
        try primary.download(BufferSlice(buffer.primary, offset: source.offset), into: destination)
        own.bytesDownloaded += destination.byteCount
    }

    func copy(from source: BufferSlice, to destination: BufferSlice, byteCount: Int) throws {
        let from = try own(source, "copy source"), to = try own(destination, "copy destination")
        try makeCurrent([(from, source.offset..<source.offset + max(byteCount, 0))], on: .primary)
        try primary.copy(from: BufferSlice(from.primary, offset: source.offset),
                         to: BufferSlice(to.primary, offset: destination.offset), byteCount: byteCount)
        to.written(destination.offset..<destination.offset + byteCount, on: .primary)
        own.deviceCopies += 1
    }

    // MARK: Kernels

    func launch(_ kernel: Kernel, _ operands: [BufferSlice]) throws {
        try kernel.validate(operands, on: owner.info.name)
        let place: Placement = owner.primary.supports(kernel) ? .primary : .fallback
        let buffers = try operands.map { try own($0, "operand of \(kernel.family)") }
        let specs = kernel.operands
        var reads: [(FallbackBuffer, Range<Int>)] = []
        for (spec, (buffer, slice)) in zip(specs, zip(buffers, operands)) where spec.needsCurrentContents {
            reads.append((buffer, slice.offset..<slice.offset + max(spec.byteCount, 0)))
        }
        try makeCurrent(reads, on: place)
        let slices = try zip(buffers, operands).map { BufferSlice(try $0.0.raw(place), offset: $0.1.offset) }
        switch place {
        case .primary: try primary.launch(kernel, slices)
        case .fallback:
            try fallback.launch(kernel, slices)
            own.fallbackLaunchesPerFamily[kernel.family, default: 0] += 1
        }
        for (spec, (buffer, slice)) in zip(specs, zip(buffers, operands)) where spec.access != .read {
            buffer.written(slice.offset..<slice.offset + max(spec.byteCount, 0), on: place)
        }
        own.kernelsLaunched += 1
        if profiling { own.launchesPerFamily[kernel.family, default: 0] += 1 }
    }

    func prepare(_ launches: [PreparedLaunch]) throws -> PreparedSchedule {
        guard launches.allSatisfy({ owner.primary.supports($0.kernel) }) else {
            // Mixed: replayed launch by launch, each placed and its data moved as needed.
            return PreparedSchedule(queue: self, launches: launches, recorded: nil, buffers: [])
        }
        // Every launch runs on the primary device: it gets the whole schedule; a run only makes
        // the inputs current there and marks what it writes.
        var reads: [(FallbackBuffer, Range<Int>)] = []
        var writes: [(FallbackBuffer, Range<Int>)] = []
        let raw = try launches.map { launch -> PreparedLaunch in
            let buffers = try launch.operands.map { try own($0, "operand of \(launch.kernel.family)") }
            for (spec, (buffer, slice)) in zip(launch.kernel.operands, zip(buffers, launch.operands)) {
                let range = slice.offset..<slice.offset + max(spec.byteCount, 0)
                if spec.needsCurrentContents { reads.append((buffer, range)) }
                if spec.access != .read { writes.append((buffer, range)) }
            }
            return PreparedLaunch(kernel: launch.kernel, operands: zip(buffers, launch.operands).map {
                BufferSlice($0.0.primary, offset: $0.1.offset)
            })
        }
        let inner = try primary.prepare(raw)
        return PreparedSchedule(queue: self, launches: launches, recorded: PrimarySchedule(inner: inner, reads: reads, writes: writes),
                                buffers: [])
    }

    func run(_ schedule: PreparedSchedule) throws {
        guard schedule.queue === self else {
            throw DeviceError.invalidOperands(kernel: "schedule", reason: "the schedule was prepared on another queue")
        }
        guard let whole = schedule.recorded as? PrimarySchedule else {
            for entry in schedule.launches { try launch(entry.kernel, entry.operands) }
            return
        }
        try makeCurrent(whole.reads.filter { !$0.0.staleOnPrimary.isEmpty }, on: .primary)
        try primary.run(whole.inner)
        for (buffer, range) in whole.writes where buffer.mirror != nil { buffer.written(range, on: .primary) }
        own.kernelsLaunched += whole.inner.count
        if profiling { for family in schedule.launches.map(\.kernel.family) { own.launchesPerFamily[family, default: 0] += 1 } }
    }

    // MARK: Synchronisation

    func record() throws -> Event {
        FallbackEvent(primary: try primary.record(), fallback: try fallback.record())
    }

    func waitOnDevice(for event: Event) throws {
        guard let event = event as? FallbackEvent else {
            throw DeviceError.invalidOperands(kernel: "waitOnDevice", reason: "the event was not recorded on a queue of '\(owner.info.name)'")
        }
        try primary.waitOnDevice(for: event.primary)
        try fallback.waitOnDevice(for: event.fallback)
    }

    func synchronize() throws {
        own.hostSynchronizations += 1
        try fallback.synchronize()
        try primary.synchronize()
    }

    // MARK: Moving data

    private func own(_ slice: BufferSlice, _ role: String) throws -> FallbackBuffer {
        guard let buffer = slice.buffer as? FallbackBuffer, buffer.owner === owner else {
            throw DeviceError.invalidOperands(kernel: role, reason: "\(role) lives on device '\(slice.buffer.deviceName)', not on this queue's '\(owner.info.name)'")
        }
        return buffer
    }

    /// Copies the stale parts of `ranges` to `place` from the other side, with one host wait for
    /// all of them.
    private func makeCurrent(_ ranges: [(FallbackBuffer, Range<Int>)], on place: Placement) throws {
        // A mirror made now starts stale everywhere: make it before asking what is stale.
        if place == .fallback { for (buffer, _) in ranges { _ = try buffer.fallbackBuffer() } }
        // The stale bytes each buffer needs, merged: two operands may read overlapping ranges of
        // one buffer, and each stale byte must cross once and none may be left out.
        var needed: [(buffer: FallbackBuffer, parts: ByteRanges)] = []
        for (buffer, range) in ranges {
            let stale = place == .primary ? buffer.staleOnPrimary : buffer.staleOnFallback
            let parts = stale.intersection(range)
            guard !parts.isEmpty else { continue }
            let index = needed.firstIndex { $0.buffer === buffer } ?? {
                needed.append((buffer, ByteRanges()))
                return needed.count - 1
            }()
            for part in parts { needed[index].parts.insert(part) }
        }
        let moves = needed.flatMap { entry in
            entry.parts.ranges.map { (buffer: entry.buffer, range: $0, host: HostBuffer(byteCount: $0.count)) }
        }
        guard !moves.isEmpty else { return }
        let (source, target) = place == .primary ? (fallback, primary) : (primary, fallback)
        for move in moves {
            let from = place == .primary ? try move.buffer.fallbackBuffer() : move.buffer.primary
            try source.download(BufferSlice(from, offset: move.range.lowerBound), into: move.host)
        }
        try source.synchronize()   // the host waits here, and only here, for the data to cross
        own.hostSynchronizations += 1
        for move in moves {
            let to = try move.buffer.raw(place)
            try target.upload(UnsafeRawBufferPointer(start: move.host.pointer, count: move.range.count),
                              to: BufferSlice(to, offset: move.range.lowerBound))
            switch place {
            case .primary:
                move.buffer.staleOnPrimary.remove(move.range)
                own.bytesFromFallback += move.range.count
            case .fallback:
                move.buffer.staleOnFallback.remove(move.range)
                own.bytesToFallback += move.range.count
            }
        }
    }
}

/// A schedule all of whose launches run on the primary device, with the byte ranges it reads and writes.
final class PrimarySchedule: ScheduleBackend {
    let inner: PreparedSchedule
    let reads: [(FallbackBuffer, Range<Int>)]
    let writes: [(FallbackBuffer, Range<Int>)]

    init(inner: PreparedSchedule, reads: [(FallbackBuffer, Range<Int>)], writes: [(FallbackBuffer, Range<Int>)]) {
        self.inner = inner
        self.reads = reads
        self.writes = writes
    }
}

/// An event of a ``FallbackQueue``: one on each device's queue.
final class FallbackEvent: Event {
    let primary: Event
    let fallback: Event

    init(primary: Event, fallback: Event) {
        self.primary = primary
        self.fallback = fallback
    }

    var isComplete: Bool { primary.isComplete && fallback.isComplete }

    func wait() throws {
        try fallback.wait()
        try primary.wait()
    }
}
