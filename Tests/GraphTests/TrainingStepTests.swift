import Devices
import Graph
import XCTest

/// The training step: optimiser semantics, device traffic, and agreement between devices.
final class TrainingStepTests: XCTestCase {
    /// One step of a linear model against Adam, clipping and EMA computed on the host.
    func testAdamClipAndEMAMatchHostFormulas() throws {
        let queue = try TestDevices.queue("cpu-reference")
        let g = GraphBuilder()
        let x = try g.input("x", [4, 3])
        let w = try g.parameter("w", [2, 3], initializer: .uniform(bound: 1))
        let b = try g.parameter("b", [2], initializer: .uniform(bound: 1))
        let target = try g.constant(testValues(8, seed: 4), shape: [4, 2])
        let loss = try g.mseLoss(g.linear(x, weight: w, bias: b), target)
        var config = TrainingConfiguration()
        config.learningRate = 0.1
        config.maxGradNorm = 0.05          // small enough that the clip is active
        config.ema = .constant(0.9)
        config.logEvery = 1
        config.seed = 11
        let trainer = try TrainingStep(builder: g, loss: loss, queue: queue, configuration: config)
        let p0 = try trainer.parameters.readFlat(queue: queue)
        try trainer.step(testValues(12, seed: 8))
        let record = try XCTUnwrap(trainer.synchronize())
        let grad = try trainer.compiled.readGradients()
        let gradFlat = trainer.parameters.layout.entries.flatMap { grad[$0.name]! }
        let p1 = try trainer.parameters.readFlat(queue: queue)
        let ema = try XCTUnwrap(trainer.ema).readFlat(queue: queue)

        let norm = gradFlat.reduce(0) { $0 + Double($1) * Double($1) }.squareRoot()
        XCTAssertEqual(Double(record.gradNorm), norm, accuracy: 1e-5 * norm)
        XCTAssertGreaterThan(norm, 0.05, "the test needs an active clip")
        let scale = Float(min(1, 0.05 / (norm + 1e-6)))
        for i in p0.indices {
            let gi = gradFlat[i] * scale
            let m = 0.1 * gi, v = 0.01 * gi * gi
            let mHat = m / 0.1, vHat = v / 0.01
            let expected = p0[i] - 0.1 * mHat / (vHat.squareRoot() + 1e-8)
            XCTAssertEqual(p1[i], expected, accuracy: 1e-5, "Adam update of element \(i)")
            XCTAssertEqual(ema[i], p0[i] + 0.1 * (p1[i] - p0[i]), accuracy: 1e-6, "EMA of element \(i)")
        }
        XCTAssertEqual(record.step, 1)
        XCTAssertTrue(record.loss.isFinite && record.loss > 0)
    }

    /// The EMA follows ema-pytorch's schedule (copies, then warm-up decay every `updateEvery` steps).
    func testEMAScheduleMatchesEMAPytorch() throws {
        let queue = try TestDevices.queue("cpu-reference")
        let g = GraphBuilder()
        let x = try g.input("x", [4, 3])
        let w = try g.parameter("w", [2, 3], initializer: .uniform(bound: 1))
        let loss = try g.meanAll(g.square(g.linear(x, weight: w)))
        var config = TrainingConfiguration()
        config.learningRate = 0.05
        var ema = EMAConfiguration()
        ema.updateEvery = 3
        ema.updateAfterStep = 4
        ema.power = 0.75
        ema.minValue = 0.1
        ema.beta = 0.9
        config.ema = ema
        let trainer = try TrainingStep(builder: g, loss: loss, queue: queue, configuration: config)
        var hostEMA = try trainer.parameters.readFlat(queue: queue)
        for k in 0..<20 {
            try trainer.step(testValues(12, seed: UInt64(k)))
            let weights = try trainer.parameters.readFlat(queue: queue)
            if k % 3 == 0 {
                if k <= 4 {
                    hostEMA = weights
                } else {
                    let epoch = Float(k - 4)
                    let decay = min(max(1 - Foundation.pow(1 + epoch, -0.75), 0.1), 0.9)
                    hostEMA = zip(hostEMA, weights).map { $0 + (1 - decay) * ($1 - $0) }
                }
            }
            let deviceEMA = try XCTUnwrap(trainer.ema).readFlat(queue: queue)
            for i in hostEMA.indices {
                XCTAssertEqual(deviceEMA[i], hostEMA[i], accuracy: 1e-6, "EMA[\(i)] after step \(k)")
            }
        }
    }

    /// A constant-decay EMA whose decay the host drives (1 keeps it, 0 copies the weights).
    func testHostDrivenEMADecay() throws {
        let queue = try TestDevices.queue("cpu-reference")
        func build() throws -> (GraphBuilder, Tensor) {
            let g = GraphBuilder()
            let x = try g.input("x", [4, 3])
            let w = try g.parameter("w", [2, 3], initializer: .uniform(bound: 1))
            return (g, try g.meanAll(g.square(g.linear(x, weight: w))))
        }
        var config = TrainingConfiguration()
        config.emaDecay = 0.5
        config.learningRate = 0.1
        let (g, loss) = try build()
        let trainer = try TrainingStep(builder: g, loss: loss, queue: queue, configuration: config)
        let start = try trainer.parameters.readFlat(queue: queue)
        try trainer.setEMADecay(1)
        try trainer.step(testValues(12, seed: 1))
        XCTAssertEqual(try XCTUnwrap(trainer.ema).readFlat(queue: queue), start, "decay 1 leaves the EMA unchanged")
        try trainer.setEMADecay(0)
        try trainer.step(testValues(12, seed: 2))
        XCTAssertEqual(try XCTUnwrap(trainer.ema).readFlat(queue: queue), try trainer.parameters.readFlat(queue: queue),
                       "decay 0 copies the weights")
        let (h, hLoss) = try build()
        let scheduled = try TrainingStep(builder: h, loss: hLoss, queue: queue)
        XCTAssertThrowsError(try scheduled.setEMADecay(0.9), "the warm-up schedule owns the decay")
    }

    /// Per step: the batch is the only upload, at most 64 bytes come back, at most one host wait.
    func testTrainingStepStaysOnTheDevice() throws {
        for device in ["cpu", "opencl"] {
            let net = TinyUnet()
            let queue = try TestDevices.queue(device)
            let (g, loss) = try net.buildLoss()
            var config = TrainingConfiguration()
            config.logEvery = 5
            let trainer = try TrainingStep(builder: g, loss: loss, queue: queue, configuration: config)
            let batch = testValues(net.imageCount, seed: 2).map { $0 * 0.5 + 0.5 }
            let profile = try trainer.profile(steps: 20, batch: batch)
            XCTAssertLessThanOrEqual(profile.uploadBytesPerStep, Double(batch.count * 4), device)
            XCTAssertLessThanOrEqual(profile.downloadBytesPerStep, 64, device)
            XCTAssertLessThanOrEqual(profile.hostSyncsPerStep, 1, device)
            XCTAssertGreaterThanOrEqual(profile.kernelsPerStep, Double(trainer.schedule.count), device)
            XCTAssertLessThanOrEqual(profile.kernelsPerStep, Double(trainer.schedule.count + trainer.emaUpdateTail.count), device)
            XCTAssertLessThan(Double(profile.arenaPeakBytes), 0.5 * Double(profile.intermediateBytes), device)
            XCTAssertEqual(trainer.losses.count, 4, "a loss every 5 of 20 steps on \(device)")
            XCTAssertTrue(trainer.losses.allSatisfy { $0.loss.isFinite }, device)
            print("""
                training step on \(device): \(profile.kernelsPerStep) kernels, \(profile.uploadBytesPerStep) B up, \
                \(profile.downloadBytesPerStep) B down, \(profile.hostSyncsPerStep) syncs per step; arena \
                \(profile.arenaPeakBytes) B vs \(profile.intermediateBytes) B of intermediates; \(profile.parameters) params
                """)
        }
    }

    /// Ten steps of the same seed give the same weights on `cpu` and `opencl`, noise and timesteps included.
    func testTenAdamStepsMatchAcrossCPUAndOpenCL() throws {
        try compareTraining("cpu", "opencl")
    }

    /// The same comparison between the fast and the reference CPU paths.
    func testTenAdamStepsMatchAcrossCPUPaths() throws {
        try compareTraining("cpu", "cpu-reference")
    }

    private func compareTraining(_ first: String, _ second: String) throws {
        let a = try trainTenSteps(first), b = try trainTenSteps(second)
        XCTAssertEqual(a.weights.count, b.weights.count)
        XCTAssertLessThanOrEqual(nmse(a.weights, b.weights), 1e-6, "weights after 10 steps, \(first) vs \(second)")
        XCTAssertLessThanOrEqual(nmse(a.ema, b.ema), 1e-6, "EMA after 10 steps, \(first) vs \(second)")
        XCTAssertLessThanOrEqual(nmse(a.losses, b.losses), 1e-6, "losses, \(first) vs \(second)")
        XCTAssertGreaterThan(nmse(a.weights, a.initial), 1e-8, "the weights must have moved")
    }

    private func trainTenSteps(_ device: String) throws -> (initial: [Float], weights: [Float], ema: [Float], losses: [Float]) {
        let net = TinyUnet()
        let queue = try TestDevices.queue(device)
        let (g, loss) = try net.buildLoss()
        var config = TrainingConfiguration()
        config.learningRate = 1e-3
        config.logEvery = 1
        config.seed = 42
        var ema = EMAConfiguration()
        ema.updateEvery = 2
        ema.updateAfterStep = 3
        config.ema = ema
        let trainer = try TrainingStep(builder: g, loss: loss, queue: queue, configuration: config)
        let initial = try trainer.parameters.readFlat(queue: queue)
        for s in 0..<10 {
            try trainer.step(testValues(net.imageCount, seed: UInt64(100 + s)).map { $0 * 0.5 + 0.5 })
        }
        try trainer.synchronize()
        return (initial, try trainer.parameters.readFlat(queue: queue), try XCTUnwrap(trainer.ema).readFlat(queue: queue),
                trainer.losses.map(\.loss))
    }
}
