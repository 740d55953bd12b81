import XCTest
@testable import Diffusion
import Devices
import Graph

final class TrainingLossTests: XCTestCase {
    let unetConfig = UnetConfiguration(dim: 8, dimMults: [1, 2], channels: 1, attnDimHead: .all(4), attnHeads: .all(2))

    func diffusion(_ edit: (inout DiffusionConfiguration) -> Void = { _ in }) throws -> GaussianDiffusion {
        var c = DiffusionConfiguration(imageHeight: 4, imageWidth: 4, timesteps: 100, objective: .predNoise, betaSchedule: .linear)
        edit(&c)
        return try GaussianDiffusion(unet: Unet(unetConfig), configuration: c)
    }

    /// The loss of `d` with recorded t, noise (and offset noise) on the cpu, weights from seed 3.
    func loss(_ d: GaussianDiffusion, image: [Float], t: [Int32], noise: [Float], offset: [Float]? = nil) throws -> Float {
        let g = GraphBuilder()
        let built = try d.buildTrainingLoss(in: g, batch: t.count, timesteps: .input("t"), noise: .input("noise"))
        let queue = try TestDevices.device("cpu").makeQueue()
        let compiled = try CompiledGraph(g, outputs: ["loss": built.loss], queue: queue)
        try compiled.parameters.initialize(seed: 3, queue: queue)
        try compiled.setInput("image", image)
        try compiled.setInput("t", integers: t)
        try compiled.setInput("noise", noise)
        if let offset { try compiled.setInput("noise.offset", offset) }
        try compiled.run()
        return try compiled.readOutput("loss")[0]
    }

    let image: [Float] = (0..<32).map { Float($0 % 7) / 6 }
    let noise: [Float] = (0..<32).map { Float(sin(Double($0))) }
    let t: [Int32] = [3, 77]

    func testAutoNormalizeMapsZeroOneToMinusOneOne() throws {
        let normalized = try loss(diffusion(), image: image, t: t, noise: noise)
        let raw = try loss(diffusion { $0.autoNormalize = false }, image: image.map { $0 * 2 - 1 }, t: t, noise: noise)
        XCTAssertEqual(normalized, raw, accuracy: 1e-6)
    }

    /// Offset noise adds `s·n[b, c]` to every pixel of the noise (and so to the pred_noise target).
    func testOffsetNoiseIsAddedPerSampleAndChannel() throws {
        let offset: [Float] = [0.8, -1.5]
        let withOffset = try loss(diffusion { $0.offsetNoiseStrength = 0.1 }, image: image, t: t, noise: noise, offset: offset)
        let shifted = noise.enumerated().map { $0.element + 0.1 * offset[$0.offset / 16] }
        let equivalent = try loss(diffusion(), image: image, t: t, noise: shifted)
        XCTAssertEqual(withOffset, equivalent, accuracy: 1e-6)
        XCTAssertNotEqual(withOffset, try loss(diffusion(), image: image, t: t, noise: noise))
    }

    /// Min-SNR weighting only lowers the weight of the low-noise timesteps for pred_noise.
    func testMinSNRChangesOnlyClampedTimesteps() throws {
        let plain = try loss(diffusion(), image: image, t: [90, 95], noise: noise)
        let clamped = try loss(diffusion { $0.minSNRLossWeight = true }, image: image, t: [90, 95], noise: noise)
        XCTAssertEqual(plain, clamped, accuracy: 1e-7, "snr < 5 at late timesteps: weight 1 either way")
        let early = try loss(diffusion(), image: image, t: [0, 1], noise: noise)
        let earlyClamped = try loss(diffusion { $0.minSNRLossWeight = true }, image: image, t: [0, 1], noise: noise)
        XCTAssertLessThan(earlyClamped, early)
    }

    /// A training step with t and noise drawn on the device uploads only the image batch and
    /// downloads only the loss, every `logEvery` steps; the loss goes down on a fixed batch.
    func testTrainingStepStaysOnTheDeviceAndLearns() throws {
        let d = try diffusion { $0.objective = .predX0 }
        let g = GraphBuilder()
        let built = try d.buildTrainingLoss(in: g, batch: 2)
        var settings = TrainingConfiguration()
        settings.learningRate = 3e-3
        settings.logEvery = 5
        settings.seed = 1
        let queue = try TestDevices.device("cpu").makeQueue()
        let step = try TrainingStep(builder: g, loss: built.loss, queue: queue, configuration: settings)
        try step.synchronize()
        queue.resetCounters()
        for _ in 0..<60 { try step.step(image) }
        try step.synchronize()
        let c = queue.counters
        XCTAssertEqual(c.bytesUploaded, 60 * image.count * 4)
        XCTAssertEqual(c.bytesDownloaded, 12 * 8, "loss and gradient norm, every 5 steps")
        let losses = step.losses.map(\.loss)
        XCTAssertEqual(losses.count, 12)
        XCTAssertTrue(losses.allSatisfy(\.isFinite))
        XCTAssertLessThan(losses.suffix(3).reduce(0, +), losses.prefix(3).reduce(0, +) * 0.7, "\(losses)")
    }

    /// The device coin is exactly 0 or 1: every run's loss is one of the two outcomes, and both occur.
    func testSelfConditioningCoinOnTheDevice() throws {
        let d = try GaussianDiffusion(
            unet: Unet(UnetConfiguration(dim: 8, dimMults: [1, 2], channels: 1, selfCondition: true, attnDimHead: .all(4), attnHeads: .all(2))),
            configuration: DiffusionConfiguration(imageHeight: 4, imageWidth: 4, timesteps: 100, objective: .predV))
        let queue = try TestDevices.device("cpu").makeQueue()
        func compile(_ coin: TrainingSource) throws -> CompiledGraph {
            let g = GraphBuilder()
            let built = try d.buildTrainingLoss(in: g, batch: 2, timesteps: .input("t"), noise: .input("noise"), selfConditioning: coin)
            let c = try CompiledGraph(g, outputs: ["loss": built.loss], queue: queue,
                                      options: CompileOptions(randomSeed: 4, advancesRandomState: true))
            try c.parameters.initialize(seed: 3, queue: queue)
            try c.setInput("image", image)
            try c.setInput("t", integers: t)
            try c.setInput("noise", noise)
            return c
        }
        let fixed = try compile(.input("coin"))
        var outcomes: [Float] = []
        for coin: Float in [0, 1] {
            try fixed.setInput("coin", [coin])
            try fixed.run()
            outcomes.append(try fixed.readOutput("loss")[0])
        }
        XCTAssertNotEqual(outcomes[0], outcomes[1])
        let device = try compile(.device)
        var seen = Set<Float>()
        for _ in 0..<16 {
            try device.run()
            let loss = try device.readOutput("loss")[0]
            XCTAssertTrue(outcomes.contains(loss), "\(loss) is neither \(outcomes)")
            seen.insert(loss)
        }
        XCTAssertEqual(seen.count, 2)
    }

    func testUnsupportedTrainingSetupsAreRefusedByName() throws {
        let dropout = try GaussianDiffusion(unet: Unet(UnetConfiguration(dim: 8, dimMults: [1, 2], channels: 1, dropout: 0.1)),
                                            configuration: DiffusionConfiguration(imageHeight: 4, imageWidth: 4))
        XCTAssertThrowsError(try dropout.buildTrainingLoss(in: GraphBuilder(), batch: 2)) { XCTAssertTrue("\($0)".contains("dropout"), "\($0)") }
        XCTAssertNoThrow(try dropout.buildTrainingLoss(in: GraphBuilder(), batch: 2, evaluationMode: true))
        XCTAssertThrowsError(try GaussianDiffusion(unet: Unet(UnetConfiguration(dim: 8, dimMults: [1, 2], learnedVariance: true)),
                                                   configuration: DiffusionConfiguration(imageHeight: 4, imageWidth: 4))) {
            XCTAssertTrue("\($0)".contains("learned variance"), "\($0)")
        }
        XCTAssertThrowsError(try GaussianDiffusion(unet: Unet(unetConfig), configuration: DiffusionConfiguration(imageHeight: 5, imageWidth: 4)))
    }
}
