import Diffusion
import Foundation
import SafeTensors
import XCTest
@testable import Training

/// A model trained on one device samples on another: checkpoints are device-neutral, and the
/// samplers agree across devices for the same seed.
final class CrossDeviceTests: XCTestCase {
    private func samples(_ checkpoint: String, on device: String) throws -> [Float] {
        let generator = try SampleGenerator(model: SamplingModel(checkpoint: checkpoint), device: TinyRun.device(device))
        return try generator.generate(count: 3, batchSize: 2, seed: 21)
    }

    private func assertClose(_ a: [Float], _ b: [Float], file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(a.count, b.count, file: file, line: line)
        let worst = zip(a, b).map { abs($0 - $1) }.max() ?? .infinity
        XCTAssertLessThan(worst, 2e-3, "largest difference \(worst)", file: file, line: line)
        XCTAssertTrue(a.allSatisfy(\.isFinite), file: file, line: line)
    }

    func testTrainOnCPUSampleOnOpenCL() throws {
        let run = try TinyRun.train(TinyRun.configuration(channels: 3, steps: 3))
        defer { try? FileManager.default.removeItem(atPath: run.directory) }
        let onCPU = try samples(run.directory, on: "cpu")
        let onOpenCL = try samples(run.directory, on: "opencl")
        XCTAssertEqual(onCPU.count, 3 * 3 * 8 * 8)
        assertClose(onCPU, onOpenCL)
    }

    func testTrainOnOpenCLSampleOnCPU() throws {
        let run = try TinyRun.train(TinyRun.configuration(channels: 1, data: .digits, steps: 3), device: "opencl")
        defer { try? FileManager.default.removeItem(atPath: run.directory) }
        XCTAssertEqual(run.losses.count, 3)
        XCTAssertTrue(run.losses.values.allSatisfy(\.isFinite))
        // The same steps on the CPU give (nearly) the same losses: same weights, noise and data.
        let cpu = try TinyRun.train(TinyRun.configuration(channels: 1, data: .digits, steps: 3))
        defer { try? FileManager.default.removeItem(atPath: cpu.directory) }
        for step in 1...3 { XCTAssertEqual(run.losses[step]!, cpu.losses[step]!, accuracy: 1e-3, "step \(step)") }
        assertClose(try samples(run.directory, on: "cpu"), try samples(run.directory, on: "opencl"))
    }

    func testPlainStateDictSamplesLikeTheCheckpoint() throws {
        // Export a checkpoint's EMA weights as a plain state_dict and sample through --weights/--config.
        let run = try TinyRun.train(TinyRun.configuration(steps: 2))
        defer { try? FileManager.default.removeItem(atPath: run.directory) }
        let checkpoint = try Checkpoint(contentsOf: try CheckpointDirectory.resolve(run.directory))
        let weights = "\(run.directory)/unet.safetensors", config = "\(run.directory)/config.json"
        let unet = try Diffusion.Unet(checkpoint.configuration.unet)
        try SafeTensors.SafeTensorsWriter.write(unet.parameterSpecs.map {
            SafeTensors.SafeTensor(name: $0.name, shape: $0.shape, floats: checkpoint.ema[$0.name]!)
        }, to: weights)
        try Data(checkpoint.configuration.jsonString.utf8).write(to: URL(fileURLWithPath: config))
        let plain = try SampleGenerator(model: SamplingModel(stateDict: weights, configuration: config), device: TinyRun.device())
        XCTAssertEqual(try plain.generate(count: 3, batchSize: 2, seed: 21), try samples(run.directory, on: "cpu"))
    }
}
