import Foundation
import XCTest
@testable import CPUBackend

/// The vectorisable `exp` of the fast path against Double `exp`.
final class FastMathTests: XCTestCase {
    func testExpIsWithinTwoUlpOverTheNormalRange() {
        var worst = 0.0
        var x: Float = -87
        while x < 88.7 {
            let exact = Foundation.exp(Double(x))
            let error = abs(Double(FastMath.exp(x)) - exact) / exact
            worst = max(worst, error)
            x += 0.013
        }
        XCTAssertLessThanOrEqual(worst, 2 * 0x1p-24, "relative error \(worst)")
    }

    func testExpSpecialValues() {
        XCTAssertEqual(FastMath.exp(0), 1)
        XCTAssertEqual(FastMath.exp(89), .infinity)
        XCTAssertEqual(FastMath.exp(.infinity), .infinity)
        XCTAssertEqual(FastMath.exp(-.infinity), 0)
        XCTAssertEqual(FastMath.exp(-110), 0)
        XCTAssertTrue(FastMath.exp(.nan).isNaN)
        // Subnormal results round like libm's.
        XCTAssertEqual(FastMath.exp(-100), Foundation.exp(Float(-100)), accuracy: 2 * Float.leastNonzeroMagnitude)
        XCTAssertEqual(FastMath.exp(88.72), Foundation.exp(Float(88.72)), accuracy: 1e32)
    }
}
