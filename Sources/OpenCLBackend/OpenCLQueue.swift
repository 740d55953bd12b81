import COpenCL
import Devices

/// An in-order OpenCL command queue: the raw queue slots of an ``OpenCLDevice``.
///
/// Every command is enqueued without blocking; the host waits only in ``synchronize()`` and
/// event waits. Upload staging copies are kept alive until the write's event reports
/// completion; completed commands are reclaimed opportunistically on later enqueues and all of
/// them on synchronisation. Validation, counters and operand keep-alives are the front end's.
///
/// The `cl_command_queue` is always created with profiling enabled, so that switching
/// profiling on never has to drain and recreate it; kernel events are only requested and read
/// while profiling is on.
public final class OpenCLQueue: QueueBackend {
    let openCLDevice: OpenCLDevice
    let commandQueue: cl_command_queue

    /// Host objects kept alive until their command completes, in enqueue order.
    private var inFlight: [(event: cl_event, retained: AnyObject)] = []
    /// The kernel events of each timed launch (a launch may enqueue several kernels, or none),
    /// in launch order, until their duration is taken.
    private var profiled: [[cl_event]] = []
    /// Durations of completed timed launches not yet taken, in launch order.
    private var launchTimes: [Double] = []
    /// The first failure reported by an asynchronous command, thrown by the next synchronisation.
    private var asynchronousError: DeviceError?
    /// `cl_kernel` objects of this queue, by "file/function".
    var kernels: [String: cl_kernel] = [:]
    /// Work-group sizes chosen per kernel (see ``localSize(for:limit:)``).
    var localSizes: [String: Int] = [:]
    /// Work-group shapes chosen for launches without one, by global range (see ``dividingGroup(_:)``).
    var dividingGroups: [[Int]: [Int]] = [:]
    /// Queue-private device memory for multi-pass kernels (partial sums, norm statistics).
    private var scratch: (memory: cl_mem, bytes: Int)?

    private(set) var isProfiling = false

    init(device: OpenCLDevice) throws {
        openCLDevice = device
        var status: cl_int = CL_SUCCESS
        let properties = cl_command_queue_properties(CL_QUEUE_PROFILING_ENABLE)
        let queue = clCreateCommandQueue(device.context, device.handle.device, properties, &status)
        try CLError.check(status, "clCreateCommandQueue", device: device.info.name)
        guard let queue else {
            throw DeviceError.backendFailure(device: device.info.name, call: "clCreateCommandQueue",
                                             code: Int(status), message: "returned no queue")
        }
        commandQueue = queue
    }

    deinit {
        // Staging copies and download targets must outlive the commands that use them.
        clFinish(commandQueue)
        for entry in inFlight { clReleaseEvent(entry.event) }
        for event in profiled.joined() { clReleaseEvent(event) }
        for kernel in kernels.values { clReleaseKernel(kernel) }
        if let scratch { clReleaseMemObject(scratch.memory) }
        clReleaseCommandQueue(commandQueue)
    }

    var deviceName: String { openCLDevice.info.name }

    public var supportsProfiling: Bool { true }

    public func setProfiling(_ enabled: Bool) throws { isProfiling = enabled }

    public func takeLaunchTimes() throws -> [Double] {
        collectProfiles()
        defer { launchTimes.removeAll(keepingCapacity: true) }
        return launchTimes
    }

    // MARK: - Synchronisation

    public func synchronize() throws {
        let status = clFinish(commandQueue)
        // After a failed clFinish some commands may still be running: release only what finished.
        reclaim(all: status == CL_SUCCESS)
        collectProfiles()
        try CLError.check(status, "clFinish", device: deviceName)
        if let error = asynchronousError {
            asynchronousError = nil
            throw error
        }
    }

    public func record() throws -> EventBackend {
        var event: cl_event?
        try CLError.check(clEnqueueMarkerWithWaitList(commandQueue, 0, nil, &event),
                          "clEnqueueMarkerWithWaitList", device: deviceName)
        // Submit now, so that polling `isComplete` and waits from other queues make progress.
        try CLError.check(clFlush(commandQueue), "clFlush", device: deviceName)
        guard let event else {
            throw DeviceError.backendFailure(device: deviceName, call: "clEnqueueMarkerWithWaitList",
                                             code: 0, message: "returned no event")
        }
        return OpenCLEvent(event: event, queue: self)
    }

    public func waitOnDevice(for event: EventBackend) throws {
        guard let event = event as? OpenCLEvent else {
            throw DeviceError.invalidOperands(
                kernel: "waitOnDevice", reason: "the event was recorded on another kind of device, not on '\(deviceName)'")
        }
        guard event.queue.openCLDevice === openCLDevice else {
            throw DeviceError.invalidOperands(
                kernel: "waitOnDevice",
                reason: "the event belongs to another instance of '\(event.queue.deviceName)' (a different OpenCL context)")
        }
        var waitList: cl_event? = event.event
        try CLError.check(clEnqueueBarrierWithWaitList(commandQueue, 1, &waitList, nil),
                          "clEnqueueBarrierWithWaitList", device: deviceName)
    }

    /// Called by ``OpenCLEvent/wait()`` after the host blocked on one of this queue's events.
    func eventWaited() {
        reclaim(all: false)
        collectProfiles()
    }

    // MARK: - Bookkeeping used by the command extensions

    /// Keeps `object` alive until `event` completes, then releases both.
    func retain(_ object: AnyObject, until event: cl_event) {
        reclaim(all: false)
        inFlight.append((event, object))
    }

    /// Opens the event group of a timed launch.
    func beginTimedLaunch() { profiled.append([]) }

    /// Adds a kernel event to the current timed launch.
    func profile(_ event: cl_event) {
        if profiled.isEmpty { profiled.append([]) }
        profiled[profiled.count - 1].append(event)
    }

    /// Queue-private scratch memory of at least `bytes`, valid until the next call.
    ///
    /// Reusing one allocation is safe because the queue is in order: a later kernel that
    /// overwrites it runs after every earlier kernel that read it. Growing releases the old
    /// buffer, which OpenCL frees only once the commands using it have completed.
    func scratchMemory(bytes: Int) throws -> cl_mem {
        if let scratch, scratch.bytes >= bytes { return scratch.memory }
        let size = max(bytes, 4096, (scratch?.bytes ?? 0) * 2)
        var status: cl_int = CL_SUCCESS
        let memory = clCreateBuffer(openCLDevice.context, cl_mem_flags(CL_MEM_READ_WRITE), size, nil, &status)
        try CLError.check(status, "clCreateBuffer(scratch)", device: deviceName, requestedBytes: size)
        guard let memory else {
            throw DeviceError.outOfMemory(device: deviceName, requested: size)
        }
        if let old = scratch { clReleaseMemObject(old.memory) }
        scratch = (memory, size)
        return memory
    }

    // MARK: - Private

    private func executionStatus(_ event: cl_event) -> cl_int {
        var status: cl_int = CL_QUEUED
        let query = clGetEventInfo(event, cl_event_info(CL_EVENT_COMMAND_EXECUTION_STATUS),
                                   MemoryLayout<cl_int>.size, &status, nil)
        return query == CL_SUCCESS ? status : query
    }

    /// Releases finished in-flight entries from the front (all of them after a `clFinish`).
    private func reclaim(all: Bool) {
        var finished = 0
        for entry in inFlight {
            let status = executionStatus(entry.event)
            if status > CL_COMPLETE && !all { break }
            if status < 0, asynchronousError == nil {
                asynchronousError = .backendFailure(device: deviceName, call: "transfer command",
                                                    code: Int(status), message: CLError.name(status))
            }
            clReleaseEvent(entry.event)
            finished += 1
        }
        inFlight.removeFirst(finished)
    }

    /// Moves the durations of the completed prefix of timed launches into ``launchTimes``
    /// (the sum of each launch's kernels).
    private func collectProfiles() {
        var finished = 0
        for group in profiled {
            if group.contains(where: { executionStatus($0) > CL_COMPLETE }) { break }
            var seconds = 0.0
            for event in group {
                let status = executionStatus(event)
                if status < 0, asynchronousError == nil {
                    asynchronousError = .backendFailure(device: deviceName, call: "kernel", code: Int(status),
                                                        message: CLError.name(status))
                }
                var start: cl_ulong = 0
                var end: cl_ulong = 0
                if status == CL_COMPLETE,
                   clGetEventProfilingInfo(event, cl_profiling_info(CL_PROFILING_COMMAND_START),
                                           MemoryLayout<cl_ulong>.size, &start, nil) == CL_SUCCESS,
                   clGetEventProfilingInfo(event, cl_profiling_info(CL_PROFILING_COMMAND_END),
                                           MemoryLayout<cl_ulong>.size, &end, nil) == CL_SUCCESS, end >= start {
                    seconds += Double(end - start) * 1e-9
                }
                clReleaseEvent(event)
            }
            launchTimes.append(seconds)
            finished += 1
        }
        profiled.removeFirst(finished)
    }
}

/// A marker recorded on an ``OpenCLQueue`` (`clEnqueueMarkerWithWaitList`).
final class OpenCLEvent: EventBackend {
    let event: cl_event
    /// Kept alive so a wait can count on it and reclaim its finished commands.
    let queue: OpenCLQueue

    init(event: cl_event, queue: OpenCLQueue) {
        self.event = event
        self.queue = queue
    }

    deinit { clReleaseEvent(event) }

    var isComplete: Bool {
        var status: cl_int = CL_QUEUED
        let query = clGetEventInfo(event, cl_event_info(CL_EVENT_COMMAND_EXECUTION_STATUS),
                                   MemoryLayout<cl_int>.size, &status, nil)
        return query == CL_SUCCESS && status <= CL_COMPLETE
    }

    func wait() throws {
        var list: cl_event? = event
        let status = clWaitForEvents(1, &list)
        queue.eventWaited()
        try CLError.check(status, "clWaitForEvents", device: queue.deviceName)
    }
}
