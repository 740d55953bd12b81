import Devices
import XCTest
@testable import CPUBackend

/// Transformed Winograd filters kept between launches (``WinogradFilterCache``): kept only for
/// weights seen unchanged, never stale after any kind of write to the weights, never filled by
/// a training-like alternation of launches and updates, and released with the weights' buffer.
final class WinogradFilterCacheTests: XCTestCase {
    /// A 4×4 map (F(2×2, 3×3)) and an 8×8 map (F(4×4, 3×3)).
    private let shapes = [
        Conv2d(batch: 2, inChannels: 16, outChannels: 24, height: 4, width: 4, kernel: 3),
        Conv2d(batch: 2, inChannels: 24, outChannels: 16, height: 8, width: 8, kernel: 3),
    ]

    private struct Setup {
        let device: FrontEndDevice
        let queue: Queue
        let cache: WinogradFilterCache
        let buffers: [Buffer]
        var inputs: [[Float]]
    }

    /// Operand buffers for `kernel` on a fresh fast CPU device, filled with random inputs.
    private func setUp(_ kernel: Kernel, seed: UInt64) throws -> Setup {
        let backend = try CPUDevice(mode: .fast)
        let device = FrontEndDevice(backend)
        let queue = try device.makeQueue()
        let cache = try XCTUnwrap((backend.kernels as? CPUFast)?.filterCache)
        let inputs = makeInputs(for: kernel, seed: seed).map { $0.map(Float.init(bitPattern:)) }
        let buffers = try inputs.map { try queue.makeBuffer($0) }
        return Setup(device: device, queue: queue, cache: cache, buffers: buffers, inputs: inputs)
    }

    /// Launches `kernel` on the setup's buffers and checks its output against the reference
    /// device on the setup's current inputs.
    private func launchAndCheck(_ kernel: Kernel, _ s: Setup, _ context: String) throws {
        try s.queue.launch(kernel, s.buffers.map { $0.slice() })
        let expected = try reference(kernel, s.inputs)
        let output = 2   // y of conv2d, dx of conv2d.backward_data
        let actual = try s.queue.readFloats(s.buffers[output].slice(), count: kernel.operands[output].count)
        let error = nmse(actual.map(\.bitPattern), expected[output].map(\.bitPattern))
        XCTAssertLessThanOrEqual(error, 1e-10, "\(kernel.caseDescription) \(context): NMSE \(error)")
    }

    func testBanksAreKeptForUnchangedWeightsAndNeverServedStale() throws {
        for c in shapes {
            for kernel in [Kernel.conv2d(c), .conv2dBackwardData(c)] {
                var s = try setUp(kernel, seed: 3)
                try launchAndCheck(kernel, s, "first launch")
                XCTAssertEqual(s.cache.byteCount, 0, "nothing kept after one sight of the weights")
                try launchAndCheck(kernel, s, "second launch")
                XCTAssertGreaterThan(s.cache.byteCount, 0, "the second sight keeps the bank")
                let (kept, hits) = (s.cache.byteCount, s.cache.hits)
                try launchAndCheck(kernel, s, "served from the cache")
                XCTAssertEqual(s.cache.byteCount, kept)
                XCTAssertEqual(s.cache.hits, hits + 1, "the third sight is served from the cache")

                // New weights by upload: the kept bank must not be used.
                s.inputs[1] = s.inputs[1].map { -0.5 * $0 + 0.25 }
                try s.queue.upload(s.inputs[1], to: s.buffers[1].slice())
                try launchAndCheck(kernel, s, "after an upload of new weights")
                XCTAssertEqual(s.cache.byteCount, 0, "the stale bank is released")

                // New weights written by a kernel (as an optimizer step does).
                try launchAndCheck(kernel, s, "second sight of the uploaded weights")
                try s.queue.launch(.unary(.affine(scale: 2, shift: -0.125), count: s.inputs[1].count),
                                   [s.buffers[1].slice(), s.buffers[1].slice()])
                s.inputs[1] = s.inputs[1].map { 2 * $0 - 0.125 }
                try launchAndCheck(kernel, s, "after a kernel wrote the weights")

                // New weights by a device copy.
                let other = try s.queue.makeBuffer(s.inputs[1].map { $0 * 0.75 })
                try launchAndCheck(kernel, s, "second sight of the kernel-written weights")
                try s.queue.copy(from: other.slice(), to: s.buffers[1].slice(), byteCount: s.inputs[1].count * 4)
                s.inputs[1] = s.inputs[1].map { $0 * 0.75 }
                try launchAndCheck(kernel, s, "after a device copy into the weights")
            }
        }
    }

    func testTrainingLikeUpdatesNeverFillTheCache() throws {
        for c in shapes {
            var s = try setUp(.conv2d(c), seed: 4)
            for step in 0..<4 {
                try launchAndCheck(.conv2d(c), s, "step \(step)")
                try s.queue.launch(.unary(.affine(scale: 0.9, shift: 0.01), count: s.inputs[1].count),
                                   [s.buffers[1].slice(), s.buffers[1].slice()])
                s.inputs[1] = s.inputs[1].map { 0.9 * $0 + 0.01 }
                XCTAssertEqual(s.cache.byteCount, 0, "weights written every step are never kept")
            }
        }
    }

    func testAWriteToTheWeightsReleasesTheirBanksAtOnce() throws {
        // Sampling during training: banks kept while sampling must not stay through the
        // training steps that follow, which write the weights but launch no forward with them.
        let c = shapes[0]
        var s = try setUp(.conv2d(c), seed: 6)
        for _ in 0..<3 { try launchAndCheck(.conv2d(c), s, "sampling") }
        XCTAssertGreaterThan(s.cache.byteCount, 0)
        try s.queue.launch(.unary(.affine(scale: 0.5, shift: 0), count: s.inputs[1].count),
                           [s.buffers[1].slice(), s.buffers[1].slice()])
        try s.queue.synchronize()
        XCTAssertEqual(s.cache.byteCount, 0, "the optimizer's write drops the banks")
        s.inputs[1] = s.inputs[1].map { 0.5 * $0 }
        try launchAndCheck(.conv2d(c), s, "after the write")
    }

    func testBanksAreReleasedWithTheirWeights() throws {
        let c = shapes[1]
        var s: Setup? = try setUp(.conv2d(c), seed: 5)
        for _ in 0..<2 { try launchAndCheck(.conv2d(c), s!, "launch") }
        let cache = s!.cache
        XCTAssertGreaterThan(cache.byteCount, 0)
        try s!.queue.synchronize()
        s = nil
        XCTAssertEqual(cache.byteCount, 0, "freeing the weights' buffer drops its banks")
    }

    func testCapacityBoundsWhatIsKept() {
        let cache = WinogradFilterCache(capacity: 4096)
        let key = WinogradFilterCache.Key(buffer: 1, offset: 0, rows: 8, columns: 8, transposed: false, positions: 16)
        for _ in 0..<3 {
            guard case .miss = cache.lookup(key, count: 16 * 64 + 1) else {
                return XCTFail("a bank larger than the capacity must never be kept")
            }
        }
        XCTAssertEqual(cache.byteCount, 0)
    }
}
