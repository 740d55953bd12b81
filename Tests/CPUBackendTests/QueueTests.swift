import Devices
import Foundation
import XCTest
@testable import CPUBackend

/// The CPU queue's contract: ordering, counters, events, error reporting and validation.
final class QueueTests: XCTestCase {
    func testFactoryListsBothDevices() throws {
        let entries = CPUDeviceFactory().enumerate()
        XCTAssertEqual(entries.map(\.name), ["cpu", "cpu-reference"])
        for entry in entries {
            guard case let .available(make) = entry.status else { return XCTFail("\(entry.name) unavailable") }
            let device = try make()
            XCTAssertEqual(device.info.name, entry.name)
            XCTAssertEqual(device.info.alignment, 64)
        }
        let blas = TestDevices.fast.info.properties.first { $0.key == "blas" }?.value ?? ""
        XCTAssertTrue(blas.hasPrefix("OpenBLAS "), blas)
        XCTAssertTrue(blas.contains("core "), blas)
        XCTAssertFalse(blas.contains("core Prescott"), "OpenBLAS fell back to its slowest kernel: \(blas)")
    }

    func testCountersCountEveryCommand() throws {
        let device = TestDevices.fast
        let queue = try device.makeQueue()
        let a = try queue.makeBuffer([Float](repeating: 1, count: 100))
        let b = try device.allocate(bytes: 400)
        try queue.launch(.unary(.neg, count: 100), [a.slice(), b.slice()])
        try queue.launch(.fill(count: 10, value: 2), [a.slice()])
        try queue.copy(from: b.slice(), to: a.slice(offset: 40), byteCount: 40)
        let values = try queue.readFloats(a.slice(), count: 20)
        XCTAssertEqual(values, [Float](repeating: 2, count: 10) + [Float](repeating: -1, count: 10))
        try queue.record().wait()
        let c = queue.counters
        XCTAssertEqual(c.kernelsLaunched, 2)
        XCTAssertEqual(c.bytesUploaded, 400)
        XCTAssertEqual(c.bytesDownloaded, 80)
        XCTAssertEqual(c.deviceCopies, 1)
        XCTAssertEqual(c.hostSynchronizations, 2)
        XCTAssertTrue(c.timePerFamily.isEmpty)
        queue.resetCounters()
        XCTAssertEqual(queue.counters, QueueCounters())
    }

    func testProfilingRecordsFamilies() throws {
        let queue = try TestDevices.fast.makeQueue()
        queue.isProfiling = true
        let x = try TestDevices.fast.allocate(bytes: 4096)
        try queue.launch(.fill(count: 1024, value: 1), [x.slice()])
        try queue.launch(.unary(.silu, count: 1024), [x.slice(), x.slice()])
        try queue.launch(.unary(.silu, count: 1024), [x.slice(), x.slice()])
        try queue.synchronize()
        let c = queue.counters
        XCTAssertEqual(c.launchesPerFamily, ["fill": 1, "unary.silu": 2])
        XCTAssertEqual(Set(c.timePerFamily.keys), ["fill", "unary.silu"])
        XCTAssertTrue(c.timePerFamily.values.allSatisfy { $0 >= 0 })
    }

    func testLaunchReturnsBeforeWorkAndErrorsSurfaceAtSynchronize() throws {
        let queue = try TestDevices.reference.makeQueue()
        let gate = DispatchSemaphore(value: 0)
        queue.cpuBackend.enqueue(timed: false) { gate.wait() }
        queue.cpuBackend.enqueue(timed: false) { throw DeviceError.outOfMemory(device: "cpu-reference", requested: 1) }
        let x = try queue.makeBuffer([Float](repeating: 3, count: 4))
        let event = try queue.record()
        XCTAssertFalse(event.isComplete, "the worker is blocked, so nothing after it can have run")
        gate.signal()
        XCTAssertThrowsError(try queue.synchronize()) { error in
            XCTAssertEqual(error as? DeviceError, .outOfMemory(device: "cpu-reference", requested: 1))
        }
        XCTAssertTrue(event.isComplete)
        // The failing command did not stop the queue, and the error is reported once.
        XCTAssertEqual(try queue.readFloats(x.slice(), count: 4), [3, 3, 3, 3])
    }

    func testWaitOnDeviceOrdersAcrossQueues() throws {
        let device = TestDevices.fast
        let producer = try device.makeQueue()
        let consumer = try device.makeQueue()
        let x = try device.allocate(bytes: 16)
        let y = try device.allocate(bytes: 16)
        let gate = DispatchSemaphore(value: 0)
        producer.cpuBackend.enqueue(timed: false) { gate.wait() }
        try producer.launch(.fill(count: 4, value: 5), [x.slice()])
        let ready = try producer.record()
        try consumer.waitOnDevice(for: ready)
        try consumer.launch(.unary(.square, count: 4), [x.slice(), y.slice()])
        let done = try consumer.record()
        Thread.sleep(forTimeInterval: 0.02)
        XCTAssertFalse(done.isComplete, "the consumer must wait for the producer's event")
        gate.signal()
        XCTAssertEqual(try consumer.readFloats(y.slice(), count: 4), [25, 25, 25, 25])
        XCTAssertEqual(consumer.counters.hostSynchronizations, 1)
        XCTAssertEqual(producer.counters.hostSynchronizations, 0)
    }

    func testAllocationLimitsAndMemoryStats() throws {
        let device = FrontEndDevice(try CPUDevice(mode: .reference))
        let limit = device.info.maxAllocationBytes
        XCTAssertLessThanOrEqual(limit, 16 << 30)
        XCTAssertThrowsError(try device.allocate(bytes: limit + 1)) { error in
            XCTAssertEqual(error as? DeviceError, .allocationTooLarge(device: "cpu-reference", requested: limit + 1, limit: limit))
        }
        XCTAssertThrowsError(try device.allocate(bytes: -1))
        var buffers = [try device.allocate(bytes: 100), try device.allocate(bytes: 0)]
        XCTAssertEqual(device.memoryStats, MemoryStats(liveBuffers: 2, liveBytes: 100, peakBytes: 100))
        buffers.removeAll()
        XCTAssertEqual(device.memoryStats, MemoryStats(liveBuffers: 0, liveBytes: 0, peakBytes: 100))
    }

    func testInvalidOperandsThrowBeforeEnqueuing() throws {
        let queue = try TestDevices.fast.makeQueue()
        let x = try TestDevices.fast.allocate(bytes: 64)
        let foreign = try TestDevices.reference.allocate(bytes: 64)
        let cases: [(Kernel, [BufferSlice], String)] = [
            (.unary(.exp, count: 16), [x.slice()], "expected 2 operands"),
            (.unary(.exp, count: 17), [x.slice(), x.slice()], "needs 68 bytes"),
            (.fill(count: 4, value: 0), [x.slice(offset: 2)], "multiple of 4"),
            (.fill(count: 4, value: 0), [foreign.slice()], "lives on device 'cpu-reference'"),
            (.groupNorm(GroupNorm(batch: 1, channels: 3, spatial: 1, groups: 2)),
             [x.slice(), x.slice(), x.slice(), x.slice()], "groups 2 must divide channels 3"),
        ]
        for (kernel, operands, message) in cases {
            XCTAssertThrowsError(try queue.launch(kernel, operands)) { error in
                guard case let .invalidOperands(_, reason)? = error as? DeviceError else { return XCTFail("\(error)") }
                XCTAssertTrue(reason.contains(message), "\(reason) should mention \(message)")
            }
        }
        XCTAssertThrowsError(try queue.upload([Float](repeating: 0, count: 17), to: x.slice()))
        XCTAssertThrowsError(try queue.download(x.slice(offset: 8), into: HostBuffer(byteCount: 64)))
        XCTAssertThrowsError(try queue.copy(from: x.slice(), to: foreign.slice(), byteCount: 4))
        XCTAssertEqual(queue.counters.kernelsLaunched, 0)
        try queue.synchronize()
    }

    func testAliasedOperandsOnBothDevices() throws {
        for device in [TestDevices.fast, TestDevices.reference] {
            let queue = try device.makeQueue()
            let n = 40_000   // large enough for the fast path's parallel loops
            let x = try queue.makeBuffer((0..<n).map { Float($0 % 7) - 3 })
            try queue.launch(.unary(.square, count: n), [x.slice(), x.slice()])
            try queue.launch(.binary(.add, .dense(n)), [x.slice(), x.slice(), x.slice()])
            let r = Reduction(outer: 4, extent: 5, inner: 2000)
            try queue.launch(.softmax(r), [x.slice(), x.slice()])
            let y = try queue.readFloats(x.slice(), count: n)
            let expected = try reference(.softmax(r), [(0..<n).map { 2 * (Float($0 % 7) - 3) * (Float($0 % 7) - 3) },
                                                        [Float](repeating: 0, count: n)])[1]
            XCTAssertLessThanOrEqual(nmse(y.map(\.bitPattern), expected.map(\.bitPattern)), 1e-12, device.info.name)
        }
    }
}
