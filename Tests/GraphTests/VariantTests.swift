import Devices
import Graph
import XCTest

/// Loss-graph variants of one training step, and `stopGradient`.
final class VariantTests: XCTestCase {
    func testStopGradientBlocksOnlyItsPath() throws {
        // d/dx Σ x·stop(x)·r = stop(x)·r = x·r (finite differences would give 2x·r: stopGradient
        // deliberately is not the derivative of the function it computes).
        let queue = try TestDevices.queue("cpu-reference")
        let g = GraphBuilder()
        let values = testValues(12, seed: 3), r = testValues(12, seed: 4)
        let x = try g.parameter("x", [3, 4], initializer: .values(values))
        let loss = try g.sumAll(g.mul(g.mul(x, g.stopGradient(x)), g.constant(r, shape: [3, 4])))
        let compiled = try CompiledGraph(g, differentiating: loss, queue: queue)
        try compiled.parameters.initialize(seed: 0, queue: queue)
        try compiled.run()
        let grad = try XCTUnwrap(compiled.readGradients()["x"])
        for i in values.indices { XCTAssertEqual(grad[i], values[i] * r[i], accuracy: 1e-6) }
    }

    /// A small self-conditioned model: variant 1 first predicts without self-conditioning under
    /// `stopGradient`, then conditions on that prediction; variant 0 conditions on zeros.
    private func build(selfCondition: Bool) throws -> (GraphBuilder, Tensor) {
        let g = GraphBuilder()
        let x = try g.input("image", [2, 2, 4, 4])
        let noise = try g.randomNormal([2, 2, 4, 4])
        let xt = try g.add(g.mul(x, 0.8), g.mul(noise, 0.6))
        let w1 = try g.parameter("conv1.weight", [4, 4, 3, 3], initializer: .pytorchDefault(fanIn: 36))
        let b1 = try g.parameter("conv1.bias", [4], initializer: .pytorchDefault(fanIn: 36))
        let w2 = try g.parameter("conv2.weight", [2, 4, 1, 1], initializer: .pytorchDefault(fanIn: 4))
        func model(_ cond: Tensor) throws -> Tensor {
            try g.conv2d(g.silu(g.conv2d(g.concat([cond, xt], axis: 1), w1, bias: b1)), w2, padding: 0)
        }
        let zeros = try g.expand(g.scalar(0), to: [2, 2, 4, 4])
        let cond = selfCondition ? try g.stopGradient(model(zeros)) : zeros
        return (g, try g.mseLoss(model(cond), noise))
    }

    func testVariantsShareOneOptimizerAcrossDevices() throws {
        func train(_ device: String) throws -> [Float] {
            let queue = try TestDevices.queue(device)
            var config = TrainingConfiguration()
            config.learningRate = 1e-2
            config.logEvery = 1
            config.seed = 5
            let trainer = try TrainingStep(variants: [try build(selfCondition: false), try build(selfCondition: true)],
                                           queue: queue, configuration: config)
            XCTAssertTrue(trainer.variants[1].parameters === trainer.parameters)
            for s in 0..<6 {
                try trainer.step(testValues(64, seed: UInt64(s)), variant: s % 2)
            }
            try trainer.synchronize()
            XCTAssertEqual(trainer.losses.map(\.step), [1, 2, 3, 4, 5, 6])
            return try trainer.parameters.readFlat(queue: queue) + trainer.losses.map(\.loss)
        }
        let cpu = try train("cpu"), reference = try train("cpu-reference"), opencl = try train("opencl")
        XCTAssertLessThanOrEqual(nmse(cpu, reference), 1e-6)
        XCTAssertLessThanOrEqual(nmse(opencl, reference), 1e-6)
        XCTAssertThrowsError(try TrainingStep(variants: [try build(selfCondition: false), (GraphBuilder(), GraphBuilder().scalar(1))],
                                              queue: TestDevices.queue("cpu")))
    }
}
