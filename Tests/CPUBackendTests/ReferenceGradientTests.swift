import Devices
import XCTest
@testable import CPUBackend

/// The oracle's backward kernels against finite differences of its forward kernels, and its
/// linear kernels against their adjoints (⟨A x, y⟩ = ⟨x, Aᵀ y⟩).
final class ReferenceGradientTests: XCTestCase {
    typealias Pointer = UnsafeMutablePointer<Float>
    let kernels = CPUReference()

    /// Random values on `[low, high)`.
    func values(_ count: Int, _ seed: UInt64, _ low: Float = -1, _ high: Float = 1) -> [Float] {
        var random = TestRandom(seed: seed)
        return (0..<count).map { _ in random.float(low, high) }
    }

    /// Central differences of `L(x) = Σ dy · forward(x)` with respect to every element of `x`.
    func numericGradient(_ x: [Float], dy: [Float], h: Float = 1e-3, _ forward: (Pointer, Pointer) -> Void) -> [Float] {
        var x = x
        var y = [Float](repeating: 0, count: dy.count)
        func loss() -> Double {
            x.withUnsafeMutableBufferPointer { xp in y.withUnsafeMutableBufferPointer { forward(xp.baseAddress!, $0.baseAddress!) } }
            return zip(dy, y).reduce(0) { $0 + Double($1.0) * Double($1.1) }
        }
        return (0..<x.count).map { i in
            let saved = x[i]
            x[i] = saved + h
            let plus = loss()
            x[i] = saved - h
            let minus = loss()
            x[i] = saved
            return Float((plus - minus) / (2 * Double(h)))
        }
    }

    func assertClose(_ analytic: [Float], _ numeric: [Float], _ what: String, tolerance: Double = 1e-5,
                     file: StaticString = #filePath, line: UInt = #line) {
        let error = nmse(analytic.map(\.bitPattern), numeric.map(\.bitPattern))
        XCTAssertLessThanOrEqual(error, tolerance, "\(what): NMSE \(error)", file: file, line: line)
    }

    func testUnaryDerivatives() {
        for op in UnaryOp.allCases {
            let positive = op.inputDomain == .positive
            let x = values(16, 3, positive ? 0.2 : -2, positive ? 2 : 2)
            let dy = values(16, 4)
            var dx = [Float](repeating: 0, count: 16)
            var xs = x
            var dys = dy
            kernels.unaryBackward(op, count: 16, x: &xs, dy: &dys, dx: &dx)
            let numeric = numericGradient(x, dy: dy) { kernels.unary(op, count: 16, x: $0, y: $1) }
            assertClose(dx, numeric, "unary_backward.\(op.name)")
        }
    }

    func testSoftmaxAndNormGradients() {
        let r = Reduction(outer: 2, extent: 5, inner: 3)
        var x = values(r.count, 5), dy = values(r.count, 6)
        var y = [Float](repeating: 0, count: r.count), dx = y
        kernels.softmax(r, x: &x, y: &y)
        kernels.softmaxBackward(r, y: &y, dy: &dy, dx: &dx)
        assertClose(dx, numericGradient(x, dy: dy) { kernels.softmax(r, x: $0, y: $1) }, "softmax")

        let n = ChannelNorm(batch: 2, channels: 4, spatial: 3)
        var g = values(4, 7, 0.5, 1.5)
        x = values(n.count, 8)
        dy = values(n.count, 9)
        dx = [Float](repeating: 0, count: n.count)
        var dg = [Float](repeating: 0, count: 4)
        kernels.rmsNormBackward(n, x: &x, g: &g, dy: &dy, dx: &dx, dg: &dg)
        assertClose(dx, numericGradient(x, dy: dy) { kernels.rmsNorm(n, x: $0, g: &g, y: $1) }, "rms_norm dx")
        assertClose(dg, numericGradient(g, dy: dy) { kernels.rmsNorm(n, x: &x, g: $0, y: $1) }, "rms_norm dg")

        let gn = GroupNorm(batch: 2, channels: 4, spatial: 3, groups: 2)
        var gamma = values(4, 10, 0.5, 1.5), beta = values(4, 11)
        var dgamma = [Float](repeating: 0, count: 4), dbeta = dgamma
        kernels.groupNormBackward(gn, x: &x, gamma: &gamma, dy: &dy, dx: &dx, dgamma: &dgamma, dbeta: &dbeta)
        assertClose(dx, numericGradient(x, dy: dy) { kernels.groupNorm(gn, x: $0, gamma: &gamma, beta: &beta, y: $1) },
                    "group_norm dx")
        assertClose(dgamma, numericGradient(gamma, dy: dy) { kernels.groupNorm(gn, x: &x, gamma: $0, beta: &beta, y: $1) },
                    "group_norm dgamma")
        assertClose(dbeta, numericGradient(beta, dy: dy) { kernels.groupNorm(gn, x: &x, gamma: &gamma, beta: $0, y: $1) },
                    "group_norm dbeta")
    }

    /// ⟨a, b⟩ in Double.
    func dot(_ a: [Float], _ b: [Float]) -> Double { zip(a, b).reduce(0) { $0 + Double($1.0) * Double($1.1) } }

    func testConvolutionAdjoints() {
        let c = Conv2d(batch: 2, inChannels: 3, outChannels: 2, height: 5, width: 4, kernelHeight: 3, kernelWidth: 2,
                       padHeight: 1, padWidth: 1, hasBias: true)
        var x = values(c.inputCount, 12), w = values(c.weightCount, 13), dy = values(c.outputCount, 14)
        var zero: [Float] = [0, 0]
        var y = [Float](repeating: 0, count: c.outputCount)
        var dx = [Float](repeating: 0, count: c.inputCount)
        var dw = [Float](repeating: 0, count: c.weightCount), dbias = zero
        kernels.conv2d(c, x: &x, w: &w, y: &y, bias: &zero)
        kernels.conv2dBackwardData(c, dy: &dy, w: &w, dx: &dx)
        kernels.conv2dBackwardWeight(c, x: &x, dy: &dy, dw: &dw, dbias: &dbias)
        let forward = dot(y, dy)
        XCTAssertEqual(forward, dot(x, dx), accuracy: 1e-5 * abs(forward) + 1e-6, "⟨conv x, dy⟩ = ⟨x, convᵀ dy⟩")
        XCTAssertEqual(forward, dot(w, dw), accuracy: 1e-5 * abs(forward) + 1e-6, "⟨conv w, dy⟩ = ⟨w, dW⟩")
        XCTAssertEqual(Double(dbias[0] + dbias[1]), dy.reduce(0) { $0 + Double($1) }, accuracy: 1e-5)
    }

    func testResamplingAdjoints() {
        let r = Resample(batch: 2, channels: 3, height: 6, width: 4, factor: 2)
        var small = values(r.count / 4, 15), large = values(r.count, 16)
        var up = [Float](repeating: 0, count: r.count), down = [Float](repeating: 0, count: r.count / 4)
        kernels.upsampleNearest(r, x: &small, y: &up)
        kernels.upsampleNearestBackward(r, dy: &large, dx: &down)
        XCTAssertEqual(dot(up, large), dot(small, down), accuracy: 1e-5)
        var shuffled = [Float](repeating: 0, count: r.count), back = shuffled
        kernels.pixelUnshuffle(r, x: &large, y: &shuffled)
        kernels.pixelShuffle(r, x: &shuffled, y: &back)
        XCTAssertEqual(back, large, "pixel_shuffle inverts pixel_unshuffle")
    }
}
