import Devices
import Foundation
import SafeTensors
import XCTest
@testable import Diffusion

/// Golden chains of the samplers the reference GaussianDiffusion lacks, written by
/// `Tests/Fixtures/samplers/make_sampler_golden.py` with PyTorch: every step of each chain is
/// compared, on cpu and on opencl (never skipped).
final class SamplerGoldenTests: XCTestCase {
    /// The chain bound of the golden cases (`GoldenRunner.Tolerance.chain`).
    static let tolerance: Float = 1e-3

    struct Case {
        let config: [String: Any]
        let unet: Unet
        let weights: SafeTensorsFile
        let io: SafeTensorsFile

        init(_ name: String) throws {
            let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
                .appendingPathComponent("Fixtures/samplers/\(name)").path
            let data = try Data(contentsOf: URL(fileURLWithPath: directory + "/config.json"))
            config = try XCTUnwrap(try JSONSerialization.jsonObject(with: data) as? [String: Any])
            unet = try Unet(UnetConfiguration(json: try XCTUnwrap(config["unet"] as? [String: Any])))
            weights = try SafeTensorsFile(path: directory + "/weights.safetensors")
            io = try SafeTensorsFile(path: directory + "/io.safetensors")
        }

        var chains: [[String: Any]] { config["chains"] as? [[String: Any]] ?? [] }
        var batch: Int { config["batch"] as? Int ?? 0 }

        func diffusion(_ chain: [String: Any]) throws -> GaussianDiffusion {
            let size = config["image_size"] as? Int ?? 0
            return try GaussianDiffusion(unet: unet, configuration: DiffusionConfiguration(
                json: try XCTUnwrap(chain["diffusion"] as? [String: Any]), imageSize: (size, size)))
        }
    }

    /// The largest difference of any step of `chain` from the recorded `[steps, B, C, H, W]`.
    func worstStep(_ chain: SampledChain, _ expected: [Float]) -> (step: Int, error: Float) {
        var worst = (step: -1, error: Float(0))
        let n = chain.x.first?.count ?? 0
        for (i, x) in chain.x.enumerated() {
            let error = zip(x, expected[(i * n)..<((i + 1) * n)]).map { abs($0 - $1) }.max() ?? .infinity
            if !(error <= worst.error) { worst = (i, error) }
        }
        return worst
    }

    func dpmSolver(on device: String) throws {
        let golden = try Case("dpm-solver")
        XCTAssertEqual(golden.chains.count, 5)
        let queue = try TestDevices.device(device).makeQueue()
        for chain in golden.chains {
            let name = try XCTUnwrap(chain["name"] as? String)
            let s = try XCTUnwrap(chain["sampler"] as? [String: Any])
            let sampler = DPMSolverSampler(steps: try XCTUnwrap(s["steps"] as? Int), order: try XCTUnwrap(s["order"] as? Int),
                                           spacing: try XCTUnwrap(DPMSolverSampler.Spacing(rawValue: s["spacing"] as? String ?? "")))
            let chainSampler = try DiffusionSampler(diffusion: try golden.diffusion(chain), sampler: sampler, batch: golden.batch, queue: queue,
                                                    recordedNoise: true)
            try chainSampler.loadWeights(golden.weights)
            XCTAssertEqual(chainSampler.times, try golden.io.int64s(name + ".times").map(Int.init), name)
            let result = try chainSampler.sample(noise: .recorded(xT: try golden.io.floats(name + ".x_T"), noise: []),
                                                 capture: Array(chainSampler.times.indices))
            let expected = try golden.io.floats(name + ".chain")
            XCTAssertEqual(result.x.count * (result.x.first?.count ?? 0), expected.count, name)
            let worst = worstStep(result, expected)
            print("[\(device)] dpm-solver \(name): \(result.x.count) steps, worst step \(worst.step): max abs err \(worst.error)")
            XCTAssertLessThanOrEqual(worst.error, SamplerGoldenTests.tolerance, "\(device) \(name), step \(worst.step)")
            // The result is the last step, unnormalised.
            XCTAssertEqual(result.images, chainSampler.diffusion.unnormalize(result.x.last ?? []), name)
        }
    }

    func testDPMSolverOnCPU() throws { try dpmSolver(on: "cpu") }
    func testDPMSolverOnOpenCL() throws { try dpmSolver(on: "opencl") }

    func rePaint(on device: String) throws {
        let golden = try Case("repaint")
        XCTAssertEqual(golden.chains.count, 2)
        let queue = try TestDevices.device(device).makeQueue()
        for chain in golden.chains {
            let name = try XCTUnwrap(chain["name"] as? String)
            let s = try XCTUnwrap(chain["sampler"] as? [String: Any])
            let sampler = RePaintSampler(resampleIterations: try XCTUnwrap(s["resample_iter"] as? Int),
                                         jumpLength: try XCTUnwrap(s["resample_jump"] as? Int),
                                         resampleEvery: try XCTUnwrap(s["resample_every"] as? Int), resampling: .reference)
            let chainSampler = try DiffusionSampler(diffusion: try golden.diffusion(chain), sampler: sampler, batch: golden.batch, queue: queue,
                                                    recordedNoise: true)
            try chainSampler.loadWeights(golden.weights)
            XCTAssertEqual(chainSampler.times, try golden.io.int64s(name + ".times").map(Int.init), name)
            // The reference takes the known image in [0, 1] and normalises it.
            let known = try golden.io.floats(name + ".known").map { $0 * 2 - 1 }
            let out = try chainSampler.sample(noise: .recorded(xT: try golden.io.floats(name + ".x_T"), noise: try golden.io.floats(name + ".noise")),
                                              inputs: ["known": known, "mask": try golden.io.floats(name + ".mask")], capture: []).images
            let expected = try golden.io.floats(name + ".out")
            XCTAssertEqual(out.count, expected.count, name)
            let error = zip(out, expected).map { abs($0 - $1) }.max() ?? .infinity
            print("[\(device)] repaint \(name): \(chainSampler.times.count) steps, max abs err \(error)")
            XCTAssertLessThanOrEqual(error, SamplerGoldenTests.tolerance, "\(device) \(name)")
        }
    }

    func testRePaintOnCPU() throws { try rePaint(on: "cpu") }
    func testRePaintOnOpenCL() throws { try rePaint(on: "opencl") }
}
