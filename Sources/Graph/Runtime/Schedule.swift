import Devices

/// One kernel launch of a schedule: the kernel and its operand slices, fixed at lowering time.
public struct Launch: @unchecked Sendable {
    public let kernel: Kernel
    public let operands: [BufferSlice]
    /// The graph node it comes from (`downs.0.0.block1/conv2d`), or the training tail's step name.
    public let label: String
}

/// An immutable list of kernel launches over fixed buffers: what an ``Executor`` replays.
///
/// Every operand is a slice of a buffer allocated when the schedule was made (the arena,
/// the parameter/gradient/optimizer buffers, inputs, constants, outputs), so replaying it
/// allocates nothing and does no host work beyond one `queue.launch` per entry.
public struct Schedule: @unchecked Sendable {
    public let launches: [Launch]

    public init(_ launches: [Launch]) { self.launches = launches }

    public var count: Int { launches.count }

    /// Forward-equivalent floating-point operations of one replay.
    public var flops: Double { launches.reduce(0) { $0 + $1.kernel.flops } }

    /// Appends `other` after this schedule.
    public func followed(by other: Schedule) -> Schedule { Schedule(launches + other.launches) }
}

/// Replays a ``Schedule`` on one queue.
///
/// The schedule is prepared once (``Queue/prepare(_:)``: every launch validated, and handed to
/// the device whole where it records schedules), so a run does no per-launch checking: one
/// backend launch per entry, or one replay call.
public final class Executor {
    public let queue: Queue
    public let schedule: Schedule
    private let prepared: PreparedSchedule

    public init(schedule: Schedule, queue: Queue) throws {
        self.schedule = schedule
        self.queue = queue
        self.prepared = try queue.prepare(schedule.launches.map { PreparedLaunch(kernel: $0.kernel, operands: $0.operands) })
    }

    /// Enqueues every launch in order; returns without waiting for the device.
    public func run() throws {
        try queue.run(prepared)
    }
}
