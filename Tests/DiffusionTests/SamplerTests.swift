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

    func sampler(_ d: GaussianDiffusion, _ method: any Sampler, device: String, batch: Int = 2) throws -> DiffusionSampler {
        let queue = try TestDevices.device(device).makeQueue()
        let s = try DiffusionSampler(diffusion: d, sampler: method, batch: batch, queue: queue)
        try s.step.parameters.initialize(seed: 11, queue: queue)
        return s
    }

    /// x_t stays on the device: during the chain nothing is downloaded but the final image, the
    /// only upload is the 16-byte random state, and the host waits once.
    func testTheChainStaysOnTheDevice() throws {
        for method in [DDPMSampler(), DDIMSampler(steps: 4, eta: 1)] as [any Sampler] {
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
        let s = try sampler(try diffusion(objective: .predV), DDPMSampler(), device: "cpu")
        let a = try s.sample(noise: .device(seed: 1))
        let b = try s.sample(noise: .device(seed: 1))
        let c = try s.sample(noise: .device(seed: 2))
        XCTAssertEqual(a, b)
        XCTAssertNotEqual(a, c)
        XCTAssertEqual(s.times, Array((0..<10).reversed()))
    }

    /// The same seed gives the same chain on every device (normals may differ in the last bit).
    func testDevicesAgreeOnSeededChainsWithSelfConditioning() throws {
        for (objective, method) in [(Objective.predX0, DDPMSampler() as any Sampler), (.predV, DDIMSampler(steps: 5, eta: 0.7))] {
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
        let s = try DiffusionSampler(diffusion: d, sampler: DDPMSampler(), batch: 1, queue: queue, recordedNoise: true)
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
        let s = try DiffusionSampler(diffusion: d, sampler: DDIMSampler(steps: 3, eta: 0), batch: 2, queue: queue)
        try s.copyWeights(from: store)
        let copied = try s.sample(noise: .device(seed: 9))
        let direct = try sampler(d, DDIMSampler(steps: 3, eta: 0), device: "cpu").sample(noise: .device(seed: 9))
        XCTAssertEqual(copied, direct)
        let other = try ParameterStore(layout: ParameterLayout(Array(g.graph.parameters.dropFirst())), device: queue.device)
        XCTAssertThrowsError(try s.copyWeights(from: other))
    }

    func testMethodFollowsTheConfiguration() {
        var c = DiffusionConfiguration(imageHeight: 8, imageWidth: 8, timesteps: 100)
        XCTAssertTrue(SamplerKind.configured(c) is DDPMSampler)
        c.samplingTimesteps = 20
        c.ddimSamplingEta = 0.3
        XCTAssertEqual(SamplerKind.configured(c) as? DDIMSampler, DDIMSampler(steps: 20, eta: 0.3))
    }

    /// A sampler's carried state starts at zero, reaches the next step through its slot, and
    /// costs one device copy per step: a rule that carries the running sum of x̂₀ and returns it.
    func testCarriedStateFollowsTheChain() throws {
        struct SumOfPredictions: Sampler {
            var description: String { "sum of x̂₀" }
            var coefficientNames: [String] { ["one"] }
            var carriedState: [String] { ["sum"] }
            func plan(_ schedule: NoiseSchedule) throws -> SamplerPlan {
                SamplerPlan(times: [7, 4, 1], coefficients: [[1], [1], [1]], noisyStepCount: 0)
            }
            func update(_ g: GraphBuilder, _ s: SamplerStepInputs) throws -> SamplerUpdate {
                let sum = try g.add(s.state("sum"), g.mul(s.coefficient("one"), s.xStart))
                return SamplerUpdate(next: sum, state: ["sum": sum])
            }
        }
        let d = try diffusion(objective: .predX0)
        let s = try sampler(d, SumOfPredictions(), device: "cpu", batch: 1)
        try s.queue.synchronize()
        s.queue.resetCounters()
        let xT = (0..<24).map { Float($0 % 5) / 5 - 0.4 }
        let summed = try s.sample(noise: .recorded(xT: xT, noise: []))
        XCTAssertEqual(s.queue.counters.deviceCopies, 3 * 3, "row in, x back, the sum back")
        // The same chain by hand: the Unet's clipped x₀ prediction at each x, summed.
        func prediction(_ x: [Float], _ t: Int) throws -> [Float] {
            // Same weights (seed 11); the chain's result is unnormalised to [0, 1].
            try sampler(d, FixedTime(time: t), device: "cpu", batch: 1).sample(noise: .recorded(xT: x, noise: [])).map { $0 * 2 - 1 }
        }
        var x = xT, sum = [Float](repeating: 0, count: 24)
        for t in [7, 4, 1] {
            let x0 = try prediction(x, t)
            sum = zip(sum, x0).map { $0 + $1 }
            x = sum
        }
        let expected = d.unnormalize(sum)
        XCTAssertEqual(summed.count, expected.count)
        XCTAssertLessThanOrEqual(zip(summed, expected).map { abs($0 - $1) }.max()!, 1e-5)
    }

    /// One step at a fixed timestep that returns x̂₀.
    struct FixedTime: Sampler {
        let time: Int
        var description: String { "x̂₀ at \(time)" }
        var coefficientNames: [String] { [] }
        var carriedState: [String] { [] }
        func plan(_ schedule: NoiseSchedule) throws -> SamplerPlan { SamplerPlan(times: [time], coefficients: [[]], noisyStepCount: 0) }
        func update(_ g: GraphBuilder, _ s: SamplerStepInputs) throws -> SamplerUpdate { SamplerUpdate(next: s.xStart) }
    }

    /// The network evaluation is the denoiser's: one that runs the Unet on a batch of 2B (x twice,
    /// the shape a guided model evaluates) and averages the halves gives the plain Unet's chain.
    func testADenoiserProvidesTheModelOutput() throws {
        struct DoubledBatch: Denoiser {
            let unet: Unet
            var network: any ReferenceModel { unet }
            func declare(in g: GraphBuilder, batch: Int) throws -> any DenoiserGraph {
                Declared(unet: unet, weights: try unet.declareParameters(in: g), batch: batch)
            }
            struct Declared: DenoiserGraph {
                let unet: Unet, weights: UnetWeights, batch: Int
                func output(_ g: GraphBuilder, x: Tensor, time: Tensor, selfCondition: Tensor?) throws -> Tensor {
                    let out = try unet.forward(g, weights: weights, x: g.concat([x, x], axis: 0), time: g.concat([time, time], axis: 0))
                    let halves = try (g.slice(out, axis: 0, start: 0, length: batch), g.slice(out, axis: 0, start: batch, length: batch))
                    return try g.mul(g.add(halves.0, halves.1), g.constant([0.5], shape: [1, 1, 1, 1]))
                }
            }
        }
        let d = try diffusion()
        let plain = try sampler(d, DDIMSampler(steps: 3), device: "cpu")
        let doubled = try DiffusionSampler(diffusion: d, sampler: DDIMSampler(steps: 3), denoiser: DoubledBatch(unet: d.unet), batch: 2,
                                           queue: plain.queue)
        try doubled.copyWeights(from: plain.step.parameters)
        let a = try plain.sample(noise: .device(seed: 4)), b = try doubled.sample(noise: .device(seed: 4))
        XCTAssertLessThanOrEqual(zip(a, b).map { abs($0 - $1) }.max()!, 1e-5)
        XCTAssertNotEqual(a, try plain.sample(noise: .device(seed: 5)))
    }

    func testSamplerKindsCheckTheirOptions() throws {
        let c = DiffusionConfiguration(imageHeight: 8, imageWidth: 8, timesteps: 100)
        XCTAssertEqual(try SamplerKind.ddim.sampler(for: c, steps: 10) as? DDIMSampler, DDIMSampler(steps: 10, eta: 0))
        for (kind, steps, eta, message) in [(SamplerKind.ddim, 101, nil, "steps must be in 1...100"), (.ddim, 5, Float(-1), "eta must be non-negative"),
                                            (.ddpm, 5, nil, "runs all 100 timesteps"), (.ddpm, nil, Float(0), "eta applies to the ddim sampler only")] {
            XCTAssertThrowsError(try kind.sampler(for: c, steps: steps, eta: eta)) { error in
                guard case let DiffusionError.invalidConfiguration(m) = error else { return XCTFail("\(error)") }
                XCTAssertTrue(m.contains(message), m)
            }
        }
    }
}
