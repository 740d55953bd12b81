import XCTest
@testable import Diffusion
import Devices
import Graph

final class SamplerTests: XCTestCase {
    func diffusion(selfCondition: Bool = false, objective: Objective = .predNoise, timesteps: Int = 10,
                   schedule: BetaSchedule = .cosineDefault) throws -> GaussianDiffusion {
        let unet = try Unet(UnetConfiguration(dim: 8, dimMults: [1, 2], channels: 1, selfCondition: selfCondition,
                                              attnDimHead: .all(4), attnHeads: .all(2)))
        return try GaussianDiffusion(unet: unet, configuration: DiffusionConfiguration(
            imageHeight: 4, imageWidth: 6, timesteps: timesteps, objective: objective, betaSchedule: schedule))
    }

    func sampler(_ d: GaussianDiffusion, _ method: SamplingMethod, device: String, batch: Int = 2) throws -> DiffusionSampler {
        let queue = try TestDevices.device(device).makeQueue()
        let s = try DiffusionSampler(diffusion: d, method: method, batch: batch, queue: queue)
        try s.step.parameters.initialize(seed: 11, queue: queue)
        return s
    }

    /// x_t stays on the device: during the chain nothing is downloaded but the final image, the
    /// only upload is the 16-byte random state, and the host waits once.
    func testTheChainStaysOnTheDevice() throws {
        for method in [SamplingMethod.ddpm, .ddim(steps: 4, eta: 1)] {
            let s = try sampler(try diffusion(), method, device: "cpu")
            try s.queue.synchronize()
            s.queue.resetCounters()
            let images = try s.sample(noise: .device(seed: 5))
            let c = s.queue.counters
            XCTAssertEqual(images.count, 2 * 1 * 4 * 6)
            XCTAssertEqual(c.bytesDownloaded, images.count * 4, "\(method)")
            XCTAssertEqual(c.bytesUploaded, 16, "\(method)")
            XCTAssertEqual(c.hostSynchronizations, 1, "\(method)")
            // Per step: one replay and (with noise) one random advance; x_T is one launch.
            XCTAssertEqual(c.kernelsLaunched, s.times.count * s.step.schedule.count + 1 + (s.noisyStepCount > 0 ? s.times.count : 0),
                           "\(method)")
            // Per step: the coefficient row in, x_{t-1} back into the state.
            XCTAssertEqual(c.deviceCopies, 2 * s.times.count, "\(method)")
            XCTAssertTrue(images.allSatisfy(\.isFinite))
        }
    }

    func testSameSeedSameImagesOtherSeedOtherImages() throws {
        let s = try sampler(try diffusion(objective: .predV), .ddpm, device: "cpu")
        let a = try s.sample(noise: .device(seed: 1))
        let b = try s.sample(noise: .device(seed: 1))
        let c = try s.sample(noise: .device(seed: 2))
        XCTAssertEqual(a, b)
        XCTAssertNotEqual(a, c)
        XCTAssertEqual(s.times, Array((0..<10).reversed()))
    }

    /// The same seed gives the same chain on every device (normals may differ in the last bit).
    func testDevicesAgreeOnSeededChainsWithSelfConditioning() throws {
        for (objective, method) in [(Objective.predX0, SamplingMethod.ddpm), (.predV, .ddim(steps: 5, eta: 0.7))] {
            let d = try diffusion(selfCondition: true, objective: objective)
            let reference = try sampler(d, method, device: "cpu").sample(noise: .device(seed: 3))
            let opencl = try sampler(d, method, device: "opencl").sample(noise: .device(seed: 3))
            let err = zip(reference, opencl).map { abs($0 - $1) }.max()!
            XCTAssertLessThanOrEqual(err, 1e-3, "\(objective) \(method)")
        }
    }

    func testRecordedNoiseIsChecked() throws {
        let d = try diffusion()
        let queue = try TestDevices.device("cpu").makeQueue()
        let s = try DiffusionSampler(diffusion: d, method: .ddpm, batch: 1, queue: queue, recordedNoise: true)
        XCTAssertEqual(s.noisyStepCount, 9)
        XCTAssertThrowsError(try s.sample(noise: .recorded(xT: [Float](repeating: 0, count: 24), noise: [])))
        XCTAssertThrowsError(try s.sample(noise: .recorded(xT: [0], noise: [Float](repeating: 0, count: 9 * 24))))
        XCTAssertThrowsError(try s.sample(noise: .device(seed: 0)))
        XCTAssertNoThrow(try s.sample(noise: .recorded(xT: [Float](repeating: 0, count: 24), noise: [Float](repeating: 0, count: 9 * 24))))
    }

    /// Sampling from a training step's EMA: one device copy of the weights.
    func testCopyWeightsFromAnotherStore() throws {
        let d = try diffusion()
        let queue = try TestDevices.device("cpu").makeQueue()
        let g = GraphBuilder()
        _ = try d.unet.declareParameters(in: g)
        let store = try ParameterStore(layout: ParameterLayout(g.graph.parameters), device: queue.device)
        try store.initialize(seed: 11, queue: queue)
        let s = try DiffusionSampler(diffusion: d, method: .ddim(steps: 3, eta: 0), batch: 2, queue: queue)
        try s.copyWeights(from: store)
        let copied = try s.sample(noise: .device(seed: 9))
        let direct = try sampler(d, .ddim(steps: 3, eta: 0), device: "cpu").sample(noise: .device(seed: 9))
        XCTAssertEqual(copied, direct)
        let other = try ParameterStore(layout: ParameterLayout(Array(g.graph.parameters.dropFirst())), device: queue.device)
        XCTAssertThrowsError(try s.copyWeights(from: other))
    }

    func testMethodFollowsTheConfiguration() {
        var c = DiffusionConfiguration(imageHeight: 8, imageWidth: 8, timesteps: 100)
        XCTAssertEqual(SamplingMethod(c), .ddpm)
        c.samplingTimesteps = 20
        c.ddimSamplingEta = 0.3
        XCTAssertEqual(SamplingMethod(c), .ddim(steps: 20, eta: 0.3))
    }
}
