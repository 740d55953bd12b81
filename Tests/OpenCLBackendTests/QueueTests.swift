import Devices
import XCTest
@testable import OpenCLBackend

/// Transfers, ordering, events, counters, memory accounting and operand validation.
final class QueueTests: XCTestCase {
    func testRoundTripsAtOddOffsetsAndSizes() throws {
        let queue = try makeQueue()
        let buffer = try queue.device.allocate(bytes: 1031)
        var expected = [UInt8](repeating: 0, count: 1031)
        try queue.upload(expected, to: buffer.slice())
        var data = TestData(seed: 1)
        for (offset, size) in [(0, 1), (1, 5), (3, 13), (7, 1000), (1030, 1), (513, 0), (2, 1029)] {
            let bytes = data.floats(size).map { UInt8(truncatingIfNeeded: Int(($0 + 1) * 127)) }
            try queue.upload(bytes, to: buffer.slice(offset: offset))
            expected.replaceSubrange(offset..<(offset + size), with: bytes)
        }
        XCTAssertEqual(try queue.read(UInt8.self, buffer.slice(), count: 1031), expected)
        for (offset, size) in [(1, 7), (5, 1026), (1029, 2), (333, 1)] {
            XCTAssertEqual(try queue.read(UInt8.self, buffer.slice(offset: offset), count: size),
                           Array(expected[offset..<(offset + size)]), "download at \(offset)")
        }
    }

    func testUploadReadsHostBytesBeforeReturning() throws {
        let queue = try makeQueue()
        let buffer = try queue.device.allocate(bytes: 4096 * 4)
        var values = [Float](repeating: 2, count: 4096)
        try values.withUnsafeBytes { try queue.upload($0, to: buffer.slice()) }
        for i in values.indices { values[i] = -1 }
        XCTAssertEqual(try queue.readFloats(buffer.slice(), count: 4096), [Float](repeating: 2, count: 4096))
    }

    func testDownloadsBeyondTheBufferAreRejected() throws {
        let queue = try makeQueue()
        let buffer = try queue.device.allocate(bytes: 16)
        XCTAssertThrowsError(try queue.download(buffer.slice(offset: 8), into: HostBuffer(byteCount: 12))) {
            XCTAssertTrue("\($0)".contains("download source"), "\($0)")
        }
        XCTAssertThrowsError(try queue.upload([Float](repeating: 0, count: 5), to: buffer.slice()))
        XCTAssertThrowsError(try queue.upload([Float](repeating: 0, count: 1), to: buffer.slice(offset: -4)))
    }

    func testCommandsRunInEnqueueOrder() throws {
        let queue = try makeQueue()
        let count = 10_000
        let a = try output(count, on: queue)
        let b = try output(count, on: queue)
        var expected: Float = 0
        for step in 0..<40 {
            if step % 3 == 0 {
                try queue.launch(.fill(count: count, value: Float(step)), [a])
                expected = Float(step)
            } else {
                try queue.launch(.unary(.affine(scale: 2, shift: 1), count: count), [a, b])
                try queue.copy(from: b, to: a, byteCount: count * 4)
                expected = 2 * expected + 1
            }
            try queue.upload([Float(step)], to: b)
        }
        let result = try queue.readFloats(a, count: count)
        XCTAssertEqual(result, [Float](repeating: expected, count: count))
        XCTAssertEqual(try queue.readFloats(b, count: 1), [39])
    }

    func testDeviceCopiesAndOverlapChecks() throws {
        let queue = try makeQueue()
        let source = try queue.makeBuffer((0..<16).map(Float.init))
        let target = try queue.makeBuffer([Float](repeating: -1, count: 16))
        try queue.copy(from: source.slice(offset: 4), to: target.slice(offset: 32), byteCount: 20)
        try queue.copy(from: source.slice(), to: source.slice(offset: 48), byteCount: 16)
        try queue.copy(from: source.slice(), to: target.slice(), byteCount: 0)
        XCTAssertEqual(try queue.readFloats(target.slice(), count: 16),
                       [-1, -1, -1, -1, -1, -1, -1, -1, 1, 2, 3, 4, 5, -1, -1, -1])
        XCTAssertEqual(try queue.readFloats(source.slice(offset: 48), count: 4), [0, 1, 2, 3])
        XCTAssertThrowsError(try queue.copy(from: source.slice(), to: source.slice(offset: 8), byteCount: 16))
        XCTAssertThrowsError(try queue.copy(from: source.slice(), to: target.slice(offset: 4), byteCount: 64))
        XCTAssertEqual(queue.counters.deviceCopies, 3)
    }

    func testEventsCompleteAndOrderQueues() throws {
        let device = try TestDevice.shared()
        let producer = try makeQueue()
        let consumer = try device.makeQueue()
        let count = 1 << 16
        let shared = try device.allocate(bytes: count * 4)
        let result = try device.allocate(bytes: count * 4)
        try producer.launch(.fill(count: count, value: 7), [shared.slice()])
        let produced = try producer.record()
        try consumer.waitOnDevice(for: produced)
        try consumer.launch(.unary(.square, count: count), [shared.slice(), result.slice()])
        let consumed = try consumer.record()
        try consumed.wait()
        XCTAssertTrue(consumed.isComplete)
        XCTAssertTrue(produced.isComplete)
        XCTAssertEqual(consumer.counters.hostSynchronizations, 1, "Event.wait counts on its queue")
        XCTAssertEqual(producer.counters.hostSynchronizations, 0)
        XCTAssertEqual(try consumer.readFloats(result.slice(), count: count), [Float](repeating: 49, count: count))

        let other = try FrontEndDevice.openCL(sameHardwareAs: device, cacheDirectory: nil)
        let foreign = try other.makeQueue().record()
        XCTAssertThrowsError(try consumer.waitOnDevice(for: foreign)) {
            XCTAssertTrue("\($0)".contains("another instance"), "\($0)")
        }
    }

    func testCountersFollowTheQueueContract() throws {
        let queue = try makeQueue()
        let buffer = try queue.device.allocate(bytes: 400)
        queue.resetCounters()
        XCTAssertEqual(queue.counters, QueueCounters())
        try queue.upload([Float](repeating: 1, count: 25), to: buffer.slice())
        try queue.launch(.fill(count: 10, value: 3), [buffer.slice()])
        try queue.launch(.unary(.neg, count: 0), [buffer.slice(), buffer.slice()])
        try queue.copy(from: buffer.slice(), to: buffer.slice(offset: 200), byteCount: 40)
        let host = HostBuffer(byteCount: 12)
        try queue.download(buffer.slice(offset: 4), into: host)
        XCTAssertEqual(queue.counters.hostSynchronizations, 0, "nothing waits before synchronize")
        try queue.synchronize()
        XCTAssertEqual(host.floats(), [3, 3, 3])
        var expected = QueueCounters()
        expected.kernelsLaunched = 2
        expected.bytesUploaded = 100
        expected.bytesDownloaded = 12
        expected.deviceCopies = 1
        expected.hostSynchronizations = 1
        XCTAssertEqual(queue.counters, expected)
        try queue.record().wait()
        XCTAssertEqual(queue.counters.hostSynchronizations, 2)
        queue.resetCounters()
        XCTAssertEqual(queue.counters, QueueCounters())
    }

    func testProfilingTimesKernelsPerFamily() throws {
        let queue = try makeQueue()
        let x = try output(1 << 16, on: queue)
        try queue.launch(.fill(count: 1 << 16, value: 1), [x])
        try queue.synchronize()
        XCTAssertEqual(queue.counters.timePerFamily, [:], "nothing is timed while profiling is off")
        queue.isProfiling = true
        try queue.launch(.fill(count: 1 << 16, value: 2), [x])
        try queue.launch(.unary(.silu, count: 1 << 16), [x, x])
        try queue.launch(.unary(.silu, count: 1 << 16), [x, x])
        try queue.synchronize()
        XCTAssertEqual(queue.counters.launchesPerFamily, ["fill": 1, "unary.silu": 2])
        XCTAssertEqual(Set(queue.counters.timePerFamily.keys), ["fill", "unary.silu"])
        XCTAssertGreaterThan(queue.counters.timePerFamily["unary.silu"] ?? 0, 0)
    }

    func testAllocationLimitsAndMemoryStats() throws {
        let device = try FrontEndDevice.openCL(sameHardwareAs: try TestDevice.shared(), cacheDirectory: nil)
        let limit = device.info.maxAllocationBytes
        XCTAssertThrowsError(try device.allocate(bytes: limit + 1)) { error in
            XCTAssertEqual(error as? DeviceError, .allocationTooLarge(device: device.info.name, requested: limit + 1, limit: limit))
        }
        XCTAssertThrowsError(try device.allocate(bytes: -1))
        XCTAssertEqual(device.memoryStats, MemoryStats())
        var buffers: [Buffer] = [try device.allocate(bytes: 100), try device.allocate(bytes: 0), try device.allocate(bytes: 28)]
        XCTAssertEqual(device.memoryStats, MemoryStats(liveBuffers: 3, liveBytes: 128, peakBytes: 128))
        buffers.removeFirst()
        XCTAssertEqual(device.memoryStats, MemoryStats(liveBuffers: 2, liveBytes: 28, peakBytes: 128))
        buffers.removeAll()
        XCTAssertEqual(device.memoryStats, MemoryStats(liveBuffers: 0, liveBytes: 0, peakBytes: 128))
    }

    func testZeroSizeBuffersAndLaunchesAreNoOps() throws {
        let queue = try makeQueue()
        let empty = try queue.device.allocate(bytes: 0)
        try queue.upload([Float](), to: empty.slice())
        try queue.launch(.fill(count: 0, value: 1), [empty.slice()])
        try queue.launch(.gemm(Gemm(batch: 0, m: 3, n: 3, k: 2)), [empty.slice(), empty.slice(), empty.slice()])
        try queue.launch(.random(.uniform(low: 0, high: 1), count: 0, stream: 0), [try queue.makeBuffer([UInt32](repeating: 0, count: 4)).slice(), empty.slice()])
        XCTAssertEqual(try queue.readFloats(empty.slice(), count: 0), [])
        XCTAssertThrowsError(try queue.launch(.fill(count: 1, value: 1), [empty.slice()]), "still validated")
    }

    func testOperandValidation() throws {
        let queue = try makeQueue()
        let buffer = try queue.device.allocate(bytes: 64)
        func assertInvalid(_ kernel: Kernel, _ operands: [BufferSlice], _ fragment: String, line: UInt = #line) {
            XCTAssertThrowsError(try queue.launch(kernel, operands), line: line) { error in
                guard case let .invalidOperands(_, reason) = error as? DeviceError else {
                    return XCTFail("expected invalidOperands, got \(error)", line: line)
                }
                XCTAssertTrue(reason.contains(fragment), reason, line: line)
            }
        }
        assertInvalid(.fill(count: 4, value: 0), [], "expected 1 operands")
        assertInvalid(.fill(count: 17, value: 0), [buffer.slice()], "needs 68 bytes")
        assertInvalid(.fill(count: 2, value: 0), [buffer.slice(offset: 2)], "multiple of 4")
        let stranger = try FrontEndDevice.openCL(sameHardwareAs: try TestDevice.shared(), cacheDirectory: nil).allocate(bytes: 64)
        assertInvalid(.fill(count: 2, value: 0), [stranger.slice()], "another instance")
        assertInvalid(.fill(count: -3, value: 0), [buffer.slice()], "negative")
        // Valid parameters this device declines: the contract's error is unsupportedKernel.
        XCTAssertThrowsError(try queue.launch(.copy(StridedCopy(shape: [2], srcStrides: [-1], dstStrides: [1])),
                                              [buffer.slice(offset: 4), buffer.slice()])) { error in
            guard case let .unsupportedKernel(device, kernel) = error as? DeviceError else { return XCTFail("\(error)") }
            XCTAssertEqual(device, "opencl:0")
            XCTAssertTrue(kernel.hasPrefix("copy(shape=[2], src=[-1]"), kernel)
        }
        XCTAssertEqual(queue.counters.kernelsLaunched, 0)
    }

    func testSupportsReflectsThe32BitIndexLimit() throws {
        let device = try TestDevice.shared()
        XCTAssertTrue(device.supports(.fill(count: 1 << 20, value: 0)))
        XCTAssertFalse(device.supports(.fill(count: Int(Int32.max) + 1, value: 0)))
        XCTAssertFalse(device.supports(.copy(StridedCopy(shape: [4], srcStrides: [-1], dstStrides: [1]))))
        XCTAssertFalse(device.supports(.groupNorm(GroupNorm(batch: 1, channels: 6, spatial: 4, groups: 4))))
        XCTAssertTrue(device.supports(.gemm(Gemm(batch: 1, m: 4, n: 4, k: 4, strideA: 1 << 40))), "unused batch stride")
        XCTAssertFalse(device.supports(.gemm(Gemm(batch: 3, m: 4, n: 4, k: 4, strideA: 1 << 40))))
        XCTAssertFalse(device.supports(.gather(rows: 2, width: 3, tableRows: 0)))
        XCTAssertTrue(device.supports(.gather(rows: 0, width: 3, tableRows: 0)))
        XCTAssertTrue(device.supports(.conv2d(Conv2d(batch: 1, inChannels: 3, outChannels: 8, height: 9, width: 7, kernel: 7))))
    }

    /// The work groups chosen for launches without their own divide the range exactly, stay within
    /// `groupItems`, and leave every compute unit several groups where the range allows.
    func testDividingGroupsDivideTheRangeAndSpreadOverTheUnits() throws {
        let queue = try OpenCLQueue(device: TestDevice.shared().openCL)
        let units = max(1, try TestDevice.shared().capabilities.computeUnits)
        for global in [[1], [7], [512], [65536], [131072], [129, 64, 16], [16, 32, 16], [4, 16, 32], [1027, 3], [97, 89]] {
            let shape = queue.dividingGroup(global)
            XCTAssertEqual(shape.count, global.count, "\(global)")
            for (extent, size) in zip(global, shape) { XCTAssertEqual(extent % size, 0, "\(global) → \(shape)") }
            let items = shape.reduce(1, *), total = global.reduce(1, *)
            XCTAssertLessThanOrEqual(items, OpenCLQueue.groupItems, "\(global) → \(shape)")
            if total >= units * OpenCLQueue.groupsPerUnit * OpenCLQueue.groupItems {
                // Large ranges: the budget is the full group unless no divisor comes close.
                XCTAssertGreaterThanOrEqual(total / items, units * OpenCLQueue.groupsPerUnit, "\(global) → \(shape)")
            } else {
                XCTAssertGreaterThanOrEqual(total / items, min(total, units * OpenCLQueue.groupsPerUnit), "\(global) → \(shape)")
            }
        }
        XCTAssertEqual(queue.dividingGroup([65536]), [256])
        XCTAssertEqual(queue.dividingGroup([97, 89]), [97, 1], "a prime extent within the budget is one group row")
        XCTAssertEqual(queue.dividingGroup([521, 3]), [1, 3], "a prime extent above it is split into single items")
    }
}
