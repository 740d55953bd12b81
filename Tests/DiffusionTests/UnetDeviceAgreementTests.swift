import XCTest
@testable import Diffusion
import Devices
import Graph
import SafeTensors

/// Generated configurations the golden cases do not cover, run on cpu, opencl and the
/// cpu-reference oracle with the same seeded weights and inputs: the devices must agree.
final class UnetDeviceAgreementTests: XCTestCase {
    /// Forward of `config` on `device` with weights from `seed` (the same on every device).
    func forward(_ config: UnetConfiguration, height: Int, width: Int, batch: Int, device: String,
                 selfCondition: Bool) throws -> [Float] {
        let unet = try Unet(config)
        let g = GraphBuilder()
        let w = try unet.declareParameters(in: g)
        let shape = [batch, config.channels, height, width]
        let x = try g.input("x", shape)
        let t = try g.input("t", [batch])
        let cond = selfCondition ? try g.input("cond", shape) : nil
        let out = try unet.forward(g, weights: w, x: x, time: t, selfCondition: cond)
        XCTAssertEqual(out.shape, [batch, config.resolvedOutDim, height, width])
        let queue = try TestDevices.device(device).makeQueue()
        let compiled = try CompiledGraph(g, outputs: ["out": out], queue: queue)
        try compiled.parameters.initialize(seed: 7, queue: queue)
        let n = shape.reduce(1, *)
        try compiled.setInput("x", (0..<n).map { Float(sin(Double($0) * 0.37)) })
        try compiled.setInput("t", (0..<batch).map { Float(($0 * 397) % 1000) })
        if selfCondition { try compiled.setInput("cond", (0..<n).map { Float(cos(Double($0) * 0.11)) * 0.5 }) }
        try compiled.run()
        return try compiled.readOutput("out")
    }

    func maxAbs(_ a: [Float], _ b: [Float]) -> Float { zip(a, b).map { abs($0 - $1) }.max() ?? .infinity }

    func testSelfConditioningPerStageAttentionNonSquare() throws {
        let config = UnetConfiguration(dim: 8, initDim: 6, dimMults: [1, 2, 3], channels: 2, selfCondition: true,
                                       sinusoidalPosEmbTheta: 500, attnDimHead: .each([4, 8, 4]), attnHeads: .each([2, 1, 3]),
                                       fullAttn: .each([false, true, false]))
        let reference = try forward(config, height: 8, width: 12, batch: 2, device: "cpu-reference", selfCondition: true)
        XCTAssertTrue(reference.allSatisfy(\.isFinite))
        for device in ["cpu", "opencl"] {
            let got = try forward(config, height: 8, width: 12, batch: 2, device: device, selfCondition: true)
            XCTAssertLessThanOrEqual(maxAbs(got, reference), 1e-4, device)
        }
        // The self-conditioning input matters: zeros give a different output.
        let zeros = try forward(config, height: 8, width: 12, batch: 2, device: "cpu", selfCondition: false)
        XCTAssertGreaterThan(maxAbs(zeros, reference), 1e-3)
    }

    func testLearnedVarianceOutDimAndSingleStage() throws {
        let config = UnetConfiguration(dim: 4, dimMults: [1], channels: 1, learnedVariance: true,
                                       attnDimHead: .all(4), attnHeads: .all(1))
        let reference = try forward(config, height: 3, width: 5, batch: 3, device: "cpu-reference", selfCondition: false)
        for device in ["cpu", "opencl"] {
            let got = try forward(config, height: 3, width: 5, batch: 3, device: device, selfCondition: false)
            XCTAssertLessThanOrEqual(maxAbs(got, reference), 1e-4, device)
        }
    }

    func testImageSizesThatDoNotDivideAreRefused() throws {
        let unet = try Unet(UnetConfiguration(dim: 8, dimMults: [1, 2, 4]))
        let g = GraphBuilder()
        let w = try unet.declareParameters(in: g)
        XCTAssertThrowsError(try unet.forward(g, weights: w, x: g.input("x", [1, 3, 8, 6]), time: g.input("t", [1]))) {
            XCTAssertTrue("\($0)".contains("multiples of 4"), "\($0)")
        }
        XCTAssertThrowsError(try unet.forward(g, weights: w, x: g.input("y", [1, 2, 8, 8]), time: g.input("u", [1])))
    }
}
