import XCTest
@testable import Diffusion
import SafeTensors

/// Compares the host-side schedule math with PyTorch's own buffers
/// (`Tests/Fixtures/diffusion/schedules.safetensors`, written by `make_schedule_reference.py`).
final class NoiseScheduleReferenceTests: XCTestCase {
    static var reference: SafeTensorsFile {
        get throws {
            let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
                .appendingPathComponent("Fixtures/diffusion/schedules.safetensors").path
            return try SafeTensorsFile(path: path)
        }
    }

    /// Distance in float32 units in the last place.
    static func ulps(_ a: Float, _ b: Float) -> Int {
        if a == b { return 0 }
        func key(_ x: Float) -> Int64 {
            let bits = Int64(Int32(bitPattern: x.bitPattern))
            return bits < 0 ? Int64(Int32.min) - bits : bits
        }
        return Int(abs(key(a) - key(b)))
    }

    func schedule(_ tag: String) throws -> BetaSchedule {
        switch tag {
        case "linear": return .linear
        case "cosine": return .cosineDefault
        case "sigmoid": return .sigmoidDefault
        case "cosine,s=0.02": return .cosine(s: 0.02)
        case "sigmoid,start=-2,end=4,tau=0.7": return .sigmoid(start: -2, end: 4, tau: 0.7)
        default: throw XCTSkip("unknown tag \(tag)")
        }
    }

    func testEveryBufferMatchesPyTorch() throws {
        let ref = try Self.reference
        var worst: [String: Int] = [:]
        var checked = 0
        for name in ref.names where !name.hasPrefix("ddim") {
            let parts = name.split(separator: "/").map(String.init)
            let (tag, timesteps, buffer) = (parts[0], Int(parts[1])!, parts[2])
            var objective = Objective.predNoise
            var gamma: Double?
            if buffer == "loss_weight" {
                objective = try Objective(name: parts[3])
                gamma = parts[4] == "minsnr5" ? 5 : nil
            }
            let s = try NoiseSchedule(schedule: schedule(tag), timesteps: timesteps, objective: objective, minSNRGamma: gamma)
            let values = s.namedBuffers.first { $0.name == buffer }!.values
            let expected = try ref.floats(name)
            XCTAssertEqual(values.count, expected.count, name)
            let ulps = zip(values, expected).map { Self.ulps($0, $1) }.max() ?? 0
            worst[buffer] = max(worst[buffer] ?? 0, ulps)
            checked += 1
        }
        XCTAssertGreaterThan(checked, 300)
        // The port follows the reference's float64 operations one by one, so every float32
        // buffer is bit-identical to PyTorch's.
        for (buffer, ulps) in worst {
            XCTAssertEqual(ulps, 0, "\(buffer): \(ulps) ulp")
        }
    }

    func testDDIMTimeListsMatchPyTorch() throws {
        let ref = try Self.reference
        var checked = 0
        for name in ref.names where name.hasPrefix("ddim_times/") {
            let parts = name.split(separator: "/").map { Int($0) }
            let (t, s) = (parts[1]!, parts[2]!)
            let pairs = try NoiseSchedule.ddimTimePairs(timesteps: t, samplingTimesteps: s)
            let times = pairs.map { Int64($0.time) } + [Int64(pairs.last!.next)]
            XCTAssertEqual(times, try ref.int64s(name), name)
            checked += 1
        }
        XCTAssertEqual(checked, 21)
    }

    func testDDIMCoefficientsMatchPyTorch() throws {
        let ref = try Self.reference
        let expected = try ref.floats("ddim_coefficients/sigmoid/1000/33/eta0.5")
        let schedule = try NoiseSchedule(schedule: .sigmoidDefault, timesteps: 1000, objective: .predV)
        let steps = try schedule.ddimSteps(samplingTimesteps: 33, eta: 0.5).filter { !$0.isLast }
        XCTAssertEqual(steps.count * 3, expected.count)
        for (i, step) in steps.enumerated() {
            XCTAssertLessThanOrEqual(Self.ulps(step.sqrtAlphaNext, expected[3 * i]), 1, "step \(i) sqrt(alpha_next)")
            XCTAssertLessThanOrEqual(Self.ulps(step.c, expected[3 * i + 1]), 1, "step \(i) c")
            XCTAssertLessThanOrEqual(Self.ulps(step.sigma, expected[3 * i + 2]), 1, "step \(i) sigma")
        }
    }
}
