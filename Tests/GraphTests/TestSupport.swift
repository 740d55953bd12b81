import Backends
import Devices
import Graph
import XCTest

/// Devices and comparisons shared by the graph tests.
enum TestDevices {
    /// A device by registry name; unavailable devices throw (so a missing OpenCL fails the test).
    static func device(_ name: String) throws -> Device {
        try DeviceRegistry.device(named: name)
    }

    static func queue(_ name: String) throws -> Queue {
        try device(name).makeQueue()
    }
}

/// Normalised mean squared error `Σ(a−b)² / max(Σb², tiny)`.
func nmse(_ a: [Float], _ b: [Float]) -> Double {
    precondition(a.count == b.count, "nmse of \(a.count) vs \(b.count) elements")
    var num = 0.0, den = 0.0
    for (x, y) in zip(a, b) {
        num += Double(x - y) * Double(x - y)
        den += Double(y) * Double(y)
    }
    return num / max(den, 1e-30)
}

/// Deterministic test data in `[-1, 1)` (a small LCG, so tests need no global RNG).
func testValues(_ count: Int, seed: UInt64, scale: Float = 1) -> [Float] {
    var s = seed &* 6364136223846793005 &+ 1442695040888963407
    return (0..<count).map { _ in
        s = s &* 6364136223846793005 &+ 1442695040888963407
        return (Float(s >> 40) / Float(1 << 24) * 2 - 1) * scale
    }
}
