import Devices
import Foundation
import XCTest
@testable import OpenCLBackend

/// `resample.cl`, `diffusion.cl`, `random.cl` and `optim.cl`.
final class MiscKernelTests: XCTestCase {
    func testPixelUnshuffleShuffleAndNearestUpsampling() throws {
        let queue = try makeQueue()
        let r = Resample(batch: 1, channels: 1, height: 4, width: 4, factor: 2)
        let x = try upload((0..<16).map(Float.init), on: queue, padding: 1)
        let unshuffled = try output(16, on: queue)
        try queue.launch(.pixelUnshuffle(r), [x, unshuffled])
        XCTAssertEqual(try queue.readFloats(unshuffled, count: 16),
                       [0, 2, 8, 10, 1, 3, 9, 11, 4, 6, 12, 14, 5, 7, 13, 15])
        let restored = try output(16, on: queue)
        try queue.launch(.pixelShuffle(r), [unshuffled, restored])
        XCTAssertEqual(try queue.readFloats(restored, count: 16), (0..<16).map(Float.init))

        let wide = Resample(batch: 2, channels: 3, height: 6, width: 9, factor: 3)
        var data = TestData(seed: 70)
        let values = data.floats(wide.count)
        let input = try upload(values, on: queue)
        let middle = try output(wide.count, on: queue)
        let back = try output(wide.count, on: queue)
        try queue.launch(.pixelUnshuffle(wide), [input, middle])
        try queue.launch(.pixelShuffle(wide), [middle, back])
        XCTAssertEqual(try queue.readFloats(back, count: wide.count), values, "shuffle inverts unshuffle")

        let small = try upload([1, 2, 3, 4], on: queue)
        let big = try output(16, on: queue)
        try queue.launch(.upsampleNearest(r), [small, big])
        XCTAssertEqual(try queue.readFloats(big, count: 16), [1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4])
        let summed = try output(4, on: queue)
        try queue.launch(.upsampleNearestBackward(r), [x, summed])
        XCTAssertEqual(try queue.readFloats(summed, count: 4), [10, 18, 42, 50])
    }

    func testTimestepEmbedding() throws {
        let queue = try makeQueue()
        let times: [Float] = [0, 1, 17, 999]
        let dim = 16, theta: Float = 10_000
        let t = try upload(times, on: queue, padding: 1)
        let out = try output(times.count * dim, on: queue)
        try queue.launch(.timestepEmbedding(count: times.count, dim: dim, theta: theta), [t, out])
        let half = dim / 2
        let step = Float(-log(Double(theta)) / Double(half - 1))
        var expected: [Float] = []
        for time in times {
            let angles = (0..<half).map { Double(time) * Double(Float(exp(Double(Float($0) * step)))) }
            expected += angles.map { Float(sin($0)) } + angles.map { Float(cos($0)) }
        }
        assertClose(try queue.readFloats(out, count: expected.count), expected, tolerance: 5e-4)
        XCTAssertEqual(Array(try queue.readFloats(out, count: dim)), [Float](repeating: 0, count: half) + [Float](repeating: 1, count: half))
    }

    func testGatherClampsIndices() throws {
        let queue = try makeQueue()
        let table = try upload([1, 2, 10, 20, 100, 200], on: queue)
        let index = try queue.makeBuffer([Int32(2), -3, 1, 99])
        let out = try output(8, on: queue, padding: 1)
        try queue.launch(.gather(rows: 4, width: 2, tableRows: 3), [table, index.slice(), out])
        XCTAssertEqual(try queue.readFloats(out, count: 8), [100, 200, 1, 2, 10, 20, 100, 200])
    }

    func testRandomStreamsAreBitIdenticalToPhilox() throws {
        let queue = try makeQueue()
        let state: [UInt32] = [0xDEAD_BEEF, 0x1234_5678, 41, 0]
        let stateBuffer = try queue.makeBuffer([UInt32](repeating: 7, count: 2) + state)
        let stateSlice = stateBuffer.slice(offset: 8)
        let count = 1001
        let out = try queue.device.allocate(bytes: (count + 3) * 4)
        for (distribution, stream) in [(RandomDistribution.uniform(low: -3, high: 5), UInt32(0)),
                                       (.uniform(low: 0, high: 1), 9), (.integer(low: -5, high: 1000), 2),
                                       (.integer(low: Int32.min, high: Int32.max), 3), (.integer(low: 0, high: 1), 4)] {
            try queue.launch(.random(distribution, count: count, stream: stream), [stateSlice, out.slice(offset: 12)])
            XCTAssertEqual(try queue.read(UInt32.self, out.slice(offset: 12), count: count),
                           Philox.generate(distribution, count: count, stream: stream, state: state), "\(distribution)")
        }
        let normal = RandomDistribution.normal(mean: 0.5, std: 2)
        try queue.launch(.random(normal, count: count, stream: 5), [stateSlice, out.slice()])
        let got = try queue.readFloats(out.slice(), count: count)
        let want = Philox.generate(normal, count: count, stream: 5, state: state).map(Float.init(bitPattern:))
        XCTAssertLessThan(nmse(got, want), 1e-12)
        let exact = zip(got, want).filter { $0 == $1 }.count
        XCTAssertGreaterThan(exact, count / 2, "normals may differ only in the last bits of sin/cos/log")
    }

    func testRandomAdvanceChangesTheStream() throws {
        let queue = try makeQueue()
        let state = try queue.makeBuffer([UInt32(1), 2, UInt32.max, 9])
        let first = try output(8, on: queue)
        let second = try output(8, on: queue)
        try queue.launch(.random(.uniform(low: 0, high: 1), count: 8, stream: 0), [state.slice(), first])
        try queue.launch(.randomAdvance, [state.slice()])
        try queue.launch(.random(.uniform(low: 0, high: 1), count: 8, stream: 0), [state.slice(), second])
        XCTAssertEqual(try queue.read(UInt32.self, state.slice(), count: 4), [1, 2, 0, 9], "step wraps around")
        let advanced = Philox.generate(.uniform(low: 0, high: 1), count: 8, stream: 0, state: [1, 2, 0, 9])
        XCTAssertEqual(try queue.readFloats(second, count: 8).map(\.bitPattern), advanced)
        XCTAssertNotEqual(try queue.readFloats(first, count: 8), try queue.readFloats(second, count: 8))
    }

    func testAdamAndAdamW() throws {
        let queue = try makeQueue()
        for weightDecay in [Float(0), 0.1] {
            let a = Adam(count: 3, beta1: 0.9, beta2: 0.99, eps: 1e-8, weightDecay: weightDecay)
            let param = try upload([1, -2, 0.5], on: queue, padding: 1)
            let grad = try upload([0.4, -0.2, 0], on: queue)
            let m = try upload([0.1, 0.0, -0.3], on: queue)
            let v = try upload([0.01, 0.02, 0.5], on: queue)
            let hyper = try upload([1e-2, 3, 0.5], on: queue)
            try queue.launch(.adam(a), [param, grad, m, v, hyper])
            var wantP: [Float] = [], wantM: [Float] = [], wantV: [Float] = []
            for (p0, g0, m0, v0) in [(1.0, 0.4, 0.1, 0.01), (-2.0, -0.2, 0.0, 0.02), (0.5, 0.0, -0.3, 0.5)] {
                let g = g0 * 0.5, lr = 1e-2
                let p = p0 * (1 - lr * Double(weightDecay))
                let m1 = 0.9 * m0 + 0.1 * g, v1 = 0.99 * v0 + 0.01 * g * g
                let denominator = v1.squareRoot() / (1 - pow(0.99, 3)).squareRoot() + 1e-8
                wantP.append(Float(p - lr / (1 - pow(0.9, 3)) * m1 / denominator))
                wantM.append(Float(m1))
                wantV.append(Float(v1))
            }
            assertClose(try queue.readFloats(param, count: 3), wantP, tolerance: 1e-6, "param wd=\(weightDecay)")
            assertClose(try queue.readFloats(m, count: 3), wantM, tolerance: 1e-6)
            assertClose(try queue.readFloats(v, count: 3), wantV, tolerance: 1e-6)
        }
    }

    func testEMAAndGradientClipScale() throws {
        let queue = try makeQueue()
        let ema = try upload([0, 1, 2], on: queue)
        let param = try upload([10, 1, -2], on: queue)
        let decay = try upload([0.9], on: queue)
        try queue.launch(.emaUpdate(count: 3), [ema, param, decay])
        assertClose(try queue.readFloats(ema, count: 3), [1, 1, 1.6], tolerance: 1e-6)

        let sums = try upload([16, 0.25], on: queue)
        let scale = try output(1, on: queue)
        try queue.launch(.gradClipScale(maxNorm: 1), [sums, scale])
        XCTAssertEqual(try queue.readFloats(scale, count: 1)[0], Float(1 / (4 + 1e-6)), accuracy: 1e-7)
        try queue.launch(.gradClipScale(maxNorm: 1), [sums.advanced(by: 4), scale])
        XCTAssertEqual(try queue.readFloats(scale, count: 1), [1])
    }
}
