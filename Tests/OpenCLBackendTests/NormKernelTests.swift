import Devices
import XCTest
@testable import OpenCLBackend

/// `norm.cl`: channel RMS norm and group norm, forward against double precision, backward against
/// finite differences of the double-precision forward.
final class NormKernelTests: XCTestCase {
    func testRMSNormForwardAndBackward() throws {
        let queue = try makeQueue()
        let n = ChannelNorm(batch: 2, channels: 5, spatial: 6)
        var data = TestData(seed: 10)
        var xValues = data.floats(n.count).map(Double.init)
        for c in 0..<n.channels { xValues[(1 * n.channels + c) * n.spatial + 4] = 0 }  // a zero vector: the eps clamp
        let gValues = data.floats(n.channels, in: 0.5...1.5).map(Double.init)
        let upstream = data.floats(n.count).map(Double.init)
        let x = try upload(xValues.map { Float($0) }, on: queue, padding: 1)
        let g = try upload(gValues.map { Float($0) }, on: queue)
        let y = try output(n.count, on: queue)
        try queue.launch(.rmsNorm(n), [x, g, y])
        let forward = Naive.rmsNorm(n, x: xValues, g: gValues)
        assertClose(try queue.readFloats(y, count: n.count), forward.map { Float($0) }, tolerance: 1e-6)

        let dy = try upload(upstream.map { Float($0) }, on: queue)
        let dx = try output(n.count, on: queue)
        let dg = try output(n.channels, on: queue, padding: 2)
        try queue.launch(.rmsNormBackward(n), [x, g, dy, dx, dg])
        var expectedDx = Naive.gradient(of: { Naive.rmsNorm(n, x: $0, g: gValues) }, at: xValues, dy: upstream)
        // At the zero vector the norm is clamped to eps, where only the direct term x/eps remains.
        for c in 0..<n.channels {
            let i = (1 * n.channels + c) * n.spatial + 4
            expectedDx[i] = upstream[i] * gValues[c] * Double(n.channels).squareRoot() / Double(n.eps)
        }
        let expectedDg = Naive.gradient(of: { Naive.rmsNorm(n, x: xValues, g: $0) }, at: gValues, dy: upstream)
        let gotDx = try queue.readFloats(dx, count: n.count)
        let clamped = Set((0..<n.channels).map { (1 * n.channels + $0) * n.spatial + 4 })
        let regular = (0..<n.count).filter { !clamped.contains($0) }
        assertClose(regular.map { gotDx[$0] }, regular.map { Float(expectedDx[$0]) }, tolerance: 1e-4, "dx")
        for i in clamped.sorted() {
            XCTAssertEqual(Double(gotDx[i]), expectedDx[i], accuracy: abs(expectedDx[i]) * 1e-5, "clamped dx")
        }
        assertClose(try queue.readFloats(dg, count: n.channels), expectedDg.map { Float($0) }, tolerance: 1e-4, "dg")
    }

    func testGroupNormForwardAndBackward() throws {
        let queue = try makeQueue()
        var data = TestData(seed: 11)
        for n in [GroupNorm(batch: 2, channels: 6, spatial: 5, groups: 3), GroupNorm(batch: 1, channels: 4, spatial: 300, groups: 2)] {
            let xValues = data.floats(n.count, in: -2...3).map(Double.init)
            let gammaValues = data.floats(n.channels, in: 0.5...1.5).map(Double.init)
            let betaValues = data.floats(n.channels).map(Double.init)
            let upstream = data.floats(n.count).map(Double.init)
            let x = try upload(xValues.map { Float($0) }, on: queue)
            let gamma = try upload(gammaValues.map { Float($0) }, on: queue)
            let beta = try upload(betaValues.map { Float($0) }, on: queue, padding: 1)
            let y = try output(n.count, on: queue)
            try queue.launch(.groupNorm(n), [x, gamma, beta, y])
            let forward = Naive.groupNorm(n, x: xValues, gamma: gammaValues, beta: betaValues)
            assertClose(try queue.readFloats(y, count: n.count), forward.map { Float($0) }, tolerance: 1e-5, "\(n)")

            let dy = try upload(upstream.map { Float($0) }, on: queue)
            let dx = try output(n.count, on: queue)
            let dgamma = try output(n.channels, on: queue)
            let dbeta = try output(n.channels, on: queue)
            try queue.launch(.groupNormBackward(n), [x, gamma, dy, dx, dgamma, dbeta])
            let expectedDx = Naive.gradient(of: { Naive.groupNorm(n, x: $0, gamma: gammaValues, beta: betaValues) },
                                            at: xValues, dy: upstream)
            let expectedDgamma = Naive.gradient(of: { Naive.groupNorm(n, x: xValues, gamma: $0, beta: betaValues) },
                                                at: gammaValues, dy: upstream)
            let expectedDbeta = Naive.gradient(of: { Naive.groupNorm(n, x: xValues, gamma: gammaValues, beta: $0) },
                                               at: betaValues, dy: upstream)
            assertClose(try queue.readFloats(dx, count: n.count), expectedDx.map { Float($0) }, tolerance: 1e-4, "dx")
            assertClose(try queue.readFloats(dgamma, count: n.channels), expectedDgamma.map { Float($0) }, tolerance: 1e-4)
            assertClose(try queue.readFloats(dbeta, count: n.channels), expectedDbeta.map { Float($0) }, tolerance: 1e-4)
        }
    }
}
