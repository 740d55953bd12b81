/// A list of launches checked once and replayed many times on one queue (``Queue/prepare(_:)``).
///
/// The graph layer records a training or sampling step as a schedule; preparing it validates
/// every launch and, where the device implements the optional schedule slots (a device that
/// compiles graphs), hands the whole list to the device once. ``Queue/run(_:)`` then replays it
/// with no per-launch checks. The schedule keeps its buffers alive.
public final class PreparedSchedule {
    /// The queue it was prepared on; nil for a queue that replays launch by launch.
    let queue: AnyObject?
    /// The launches, with backend slices for a front-end queue.
    public let launches: [PreparedLaunch]
    /// The backend's own recording, when it has the optional slots.
    let recorded: ScheduleBackend?
    /// Kernel family of every launch, in order.
    let families: [String]
    private let buffers: [Buffer]

    init(queue: AnyObject?, launches: [PreparedLaunch], recorded: ScheduleBackend?, buffers: [Buffer]) {
        self.queue = queue
        self.launches = launches
        self.recorded = recorded
        self.families = launches.map(\.kernel.family)
        self.buffers = buffers
    }

    /// Launches per replay.
    public var count: Int { launches.count }
    /// Whether the device replays it by handle (the optional schedule slots).
    public var isRecordedByDevice: Bool { recorded != nil }
}

extension Queue {
    /// Default for queues outside the front end (test doubles): keep the launches as they are.
    public func prepare(_ launches: [PreparedLaunch]) throws -> PreparedSchedule {
        PreparedSchedule(queue: nil, launches: launches, recorded: nil, buffers: [])
    }

    /// Default for queues outside the front end: one ``launch(_:_:)`` per entry.
    public func run(_ schedule: PreparedSchedule) throws {
        for launch in schedule.launches { try self.launch(launch.kernel, launch.operands) }
    }
}
