import Devices
import Graph
import XCTest
@testable import Training

/// Gradient accumulation equals one step on the concatenated batch.
final class AccumulationTests: XCTestCase {
    /// loss = mean over the batch of mean_j (w_j · x_ij − 1)², a batch-mean loss like the diffusion's.
    private func build(batch: Int) throws -> (GraphBuilder, Tensor) {
        let g = GraphBuilder()
        let w = try g.parameter("w", [1, 6], initializer: .values([0.5, -0.25, 1, 2, -1, 0.75]))
        let x = try g.input("image", [batch, 6])
        let residual = try g.add(g.mul(x, w), -1.0)
        return (g, try g.meanAll(g.square(residual)))
    }

    func testAccumulatedStepMatchesOneStepOnTheWholeBatch() throws {
        let device = try TinyRun.device("cpu-reference")
        var config = TrainingConfiguration()
        config.learningRate = 0.05
        config.logEvery = 1
        config.maxGradNorm = 0.1  // active: the gradient norm here exceeds it
        var ema = EMAConfiguration()  // ema-pytorch's schedule: compared with TrainingStep's device form
        ema.updateEvery = 2
        ema.updateAfterStep = 1
        config.ema = ema
        let data: [Float] = (0..<24).map { Float($0 % 5) * 0.3 - 0.4 }
        let (wholeGraph, wholeLoss) = try build(batch: 4)
        let whole = try TrainingStep(builder: wholeGraph, loss: wholeLoss, queue: device.makeQueue(), configuration: config)
        let (microGraph, microLoss) = try build(batch: 2)
        let micro = try TrainingStep(variants: [(microGraph, microLoss)], queue: device.makeQueue(), configuration: config,
                                     microBatches: 2)
        for _ in 0..<6 {
            try whole.step(data)
            try micro.step([Batch(index: 0, values: Array(data[0..<12])), Batch(index: 1, values: Array(data[12..<24]))])
        }
        try whole.waitForDevice()
        try micro.waitForDevice()
        XCTAssertEqual(micro.lossCount, 6)
        for i in 0..<6 {
            let a = whole.loss(at: i), b = micro.loss(at: i)
            XCTAssertEqual(a.step, b.step)
            XCTAssertEqual(a.loss, b.loss, accuracy: 1e-6)
            XCTAssertEqual(a.gradNorm, b.gradNorm, accuracy: 1e-6)
        }
        XCTAssertGreaterThan(whole.loss(at: 0).gradNorm, 0.1, "clipping is exercised")
        let wa = try whole.parameters.readFlat(queue: whole.queue), wb = try micro.parameters.readFlat(queue: micro.queue)
        for (a, b) in zip(wa, wb) { XCTAssertEqual(a, b, accuracy: 1e-6) }
        let ea = try whole.ema!.readFlat(queue: whole.queue), eb = try micro.ema!.readFlat(queue: micro.queue)
        for (a, b) in zip(ea, eb) { XCTAssertEqual(a, b, accuracy: 1e-6) }
        XCTAssertEqual(try micro.readOptimizerState().step, 6)
        XCTAssertNotEqual(ea, wa, "the EMA lags the weights after its warm-up updates")
    }

    func testAccumulatedTrainingResumesExactly() throws {
        var config = TinyRun.configuration(steps: 6, batch: 2, seed: 5)
        config.training.gradientAccumulation = 2
        let whole = try TinyRun.train(config)
        defer { try? FileManager.default.removeItem(atPath: whole.directory) }
        let part = try TinyRun.train(config, stopAfter: 3)
        defer { try? FileManager.default.removeItem(atPath: part.directory) }
        XCTAssertEqual(try Checkpoint(contentsOf: "\(part.directory)/checkpoint-00000003.safetensors").dataPosition, 12)
        let rest = try TinyRun.train(config, in: part.directory, resume: true)
        XCTAssertEqual(rest.losses, whole.losses)
        XCTAssertEqual(whole.losses.count, 6)
    }
}
