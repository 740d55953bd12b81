import XCTest
@testable import Devices

final class PhiloxTests: XCTestCase {
    /// Known-answer vectors of Random123's kat_vectors for philox4x32_10.
    func testKnownAnswers() {
        let zero = Philox.block((0, 0, 0, 0), key: (0, 0))
        XCTAssertEqual([zero.0, zero.1, zero.2, zero.3], [0x6627_e8d5, 0xe169_c58d, 0xbc57_ac4c, 0x9b00_dbd8])
        let ones = Philox.block((0xffff_ffff, 0xffff_ffff, 0xffff_ffff, 0xffff_ffff), key: (0xffff_ffff, 0xffff_ffff))
        XCTAssertEqual([ones.0, ones.1, ones.2, ones.3], [0x408f_276d, 0x41c8_3b0e, 0xa20b_c7c6, 0x6d54_51fd])
        let pi = Philox.block((0x243f_6a88, 0x85a3_08d3, 0x1319_8a2e, 0x0370_7344), key: (0xa409_3822, 0x299f_31d0))
        XCTAssertEqual([pi.0, pi.1, pi.2, pi.3], [0xd16c_fe09, 0x94fd_cceb, 0x5001_e420, 0x2412_6ea1])
    }

    func testUniformRangeAndIntegers() {
        let state: [UInt32] = [7, 11, 3, 0]
        let u = Philox.generate(.uniform(low: -1, high: 1), count: 1001, stream: 0, state: state).map { Float(bitPattern: $0) }
        XCTAssertTrue(u.allSatisfy { $0 >= -1 && $0 < 1 })
        XCTAssertEqual(u.reduce(0, +) / Float(u.count), 0, accuracy: 0.1)
        let ints = Philox.generate(.integer(low: 5, high: 9), count: 999, stream: 1, state: state).map { Int32(bitPattern: $0) }
        XCTAssertEqual(Set(ints), [5, 6, 7, 8])
        let normals = Philox.generate(.normal(mean: 0, std: 1), count: 4000, stream: 2, state: state).map { Float(bitPattern: $0) }
        let mean = normals.reduce(0, +) / 4000
        let variance = normals.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / 4000
        XCTAssertEqual(mean, 0, accuracy: 0.06)
        XCTAssertEqual(variance, 1, accuracy: 0.08)
    }

    func testStreamsAndStepsDiffer() {
        let a = Philox.generate(.uniform(low: 0, high: 1), count: 8, stream: 0, state: [1, 2, 0, 0])
        let b = Philox.generate(.uniform(low: 0, high: 1), count: 8, stream: 1, state: [1, 2, 0, 0])
        let c = Philox.generate(.uniform(low: 0, high: 1), count: 8, stream: 0, state: [1, 2, 1, 0])
        XCTAssertNotEqual(a, b)
        XCTAssertNotEqual(a, c)
    }
}
