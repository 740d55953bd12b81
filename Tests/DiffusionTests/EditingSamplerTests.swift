import XCTest
@testable import Diffusion
import Devices
import Graph

/// RePaint's plan and known region, DPM-Solver++ started part-way, chains that keep their steps.
final class EditingSamplerTests: XCTestCase {
    func schedule(_ T: Int = 30) throws -> NoiseSchedule {
        try NoiseSchedule(schedule: .cosineDefault, timesteps: T, objective: .predNoise)
    }

    /// The paper's resampling goes back `j` levels with q(x_{t−1+j} | x_{t−1}) and repeats the j
    /// steps down; the reference's re-noises with β_J and repeats timestep J.
    func testRePaintPlans() throws {
        let s = try schedule(12)
        let paper = try RePaintSampler(resampleIterations: 2, jumpLength: 3, resampleEvery: 5, resampling: .paper).plan(s)
        let main = Array((0..<12).reversed())
        // After t = 10, 5 and 1: two trips back up of j = min(3, T − t) levels.
        let expected = main.flatMap { t -> [Int] in
            guard t > 0, t % 5 == 0 || t == 1 else { return [t] }
            let j = min(3, 12 - t)
            return [t] + (0..<2).flatMap { _ in Array(stride(from: t - 1 + j, through: t, by: -1)) }
        }
        XCTAssertEqual(paper.times, expected)
        XCTAssertEqual(paper.noisyStepCount, expected.count)
        let names = RePaintSampler().coefficientNames
        let (a, b) = (names.firstIndex(of: "renoise_signal")!, names.firstIndex(of: "renoise_noise")!)
        // The step at t = 10 leaves level 9 and goes back j = min(3, 12 − 10) = 2 levels, to 11.
        let ratio = Double(s.alphasCumprod[11]) / Double(s.alphasCumprod[9])
        let jumpRow = paper.coefficients[expected.firstIndex(of: 10)!]
        XCTAssertEqual(Double(jumpRow[a]), ratio.squareRoot(), accuracy: 1e-6)
        XCTAssertEqual(Double(jumpRow[b]), (1 - ratio).squareRoot(), accuracy: 1e-6)
        XCTAssertEqual(paper.coefficients.last![names.firstIndex(of: "known_at_end")!], 1)
        XCTAssertEqual(paper.coefficients.dropLast().map { $0[names.firstIndex(of: "known_at_end")!] }.max(), 0)

        let reference = try RePaintSampler(resampleIterations: 1, jumpLength: 2, resampleEvery: 5, resampling: .reference).plan(s)
        XCTAssertEqual(reference.times, [11, 10, 2, 2] + [9, 8, 7, 6, 5, 2, 2] + [4, 3, 2, 1, 2, 2, 0])
        XCTAssertThrowsError(try RePaintSampler(jumpLength: 12, resampling: .reference).plan(s))
        XCTAssertThrowsError(try RePaintSampler(jumpLength: 0).plan(s))
    }

    /// The known region of the result is the known image, exactly as given; the rest is generated.
    func testRePaintKeepsTheKnownRegion() throws {
        let unet = try Unet(UnetConfiguration(dim: 8, dimMults: [1, 2], channels: 1, attnDimHead: .all(4), attnHeads: .all(2)))
        let d = try GaussianDiffusion(unet: unet, configuration: DiffusionConfiguration(imageHeight: 4, imageWidth: 4, timesteps: 12,
                                                                                        objective: .predV, betaSchedule: .cosineDefault))
        for device in ["cpu", "opencl"] {
            let queue = try TestDevices.device(device).makeQueue()
            let s = try DiffusionSampler(diffusion: d, sampler: RePaintSampler(resampleIterations: 2, jumpLength: 3, resampleEvery: 4),
                                         batch: 2, queue: queue)
            try s.step.parameters.initialize(seed: 3, queue: queue)
            let known = (0..<32).map { Float($0 % 7) / 3 - 1 }
            let mask = (0..<32).map { Float($0 % 4 < 2 ? 1 : 0) }
            let out = try s.sample(noise: .device(seed: 8), inputs: ["known": known, "mask": mask], capture: []).images
            let expected = d.unnormalize(known)
            for i in 0..<32 where mask[i] == 1 { XCTAssertEqual(out[i], expected[i], accuracy: 1e-6, "\(device) pixel \(i)") }
            let generated = (0..<32).filter { mask[$0] == 0 }
            XCTAssertGreaterThan(generated.map { abs(out[$0] - expected[$0]) }.max()!, 0.01, device)
            XCTAssertThrowsError(try s.sample(noise: .device(seed: 8), inputs: ["known": known], capture: [])) { error in
                XCTAssertTrue("\(error)".contains("needs the input 'mask'"), "\(error)")
            }
            XCTAssertThrowsError(try s.sample(noise: .device(seed: 8), inputs: ["known": known, "mask": [1]], capture: [])) { error in
                guard case DiffusionError.shapeMismatch = error else { return XCTFail("\(error)") }
            }
        }
    }

    /// Started part-way (image-to-image), DPM-Solver++ has no history: its first step is first
    /// order, its second uses one previous x̂₀; a memoryless sampler just drops rows.
    func testSkippedStepsRestartTheSolversOrder() throws {
        let s = try schedule(100)
        let solver = DPMSolverSampler(steps: 10, order: 3)
        let full = try solver.plan(s), part = try solver.plan(s, skippingFirst: 4)
        XCTAssertEqual(part.times, Array(full.times.dropFirst(4)))
        // Step 0 of both is first order: no c1, c2.
        XCTAssertEqual(Array(full.coefficients[0][2...]), [0, 0])
        XCTAssertEqual(Array(part.coefficients[0][2...]), [0, 0])
        XCTAssertEqual(part.coefficients[1][3], 0, "second order at the second step")
        XCTAssertNotEqual(full.coefficients[4][3], 0, "third order in the full chain")
        XCTAssertEqual(try DDIMSampler(steps: 10).plan(s, skippingFirst: 3), try DDIMSampler(steps: 10).plan(s).droppingFirst(3))
        XCTAssertThrowsError(try solver.plan(s, skippingFirst: 10))
        // The first-order step is DDIM with η = 0 written in σ, α: x' = (σ'/σ)·x + α'(1 − σ'α/(σα'))·x̂₀.
        let ddim = try DDIMSampler(steps: 10).plan(s)
        let (t, next) = (full.times[0], full.times[1])
        XCTAssertEqual(t, ddim.times[0])
        let (a, an) = (Double(s.alphasCumprod[t]), Double(s.alphasCumprod[next]))
        XCTAssertEqual(Double(full.coefficients[0][0]), ((1 - an) / (1 - a)).squareRoot(), accuracy: 1e-5)
        XCTAssertEqual(Double(full.coefficients[0][1]), an.squareRoot() - ((1 - an) / (1 - a)).squareRoot() * a.squareRoot(), accuracy: 1e-5)
    }

    /// Kept steps stay on the device: the chain still downloads only at the end.
    func testCapturedStepsAreDownloadedAtTheEnd() throws {
        let unet = try Unet(UnetConfiguration(dim: 8, dimMults: [1, 2], channels: 1, attnDimHead: .all(4), attnHeads: .all(2)))
        let d = try GaussianDiffusion(unet: unet, configuration: DiffusionConfiguration(imageHeight: 4, imageWidth: 4, timesteps: 10))
        let queue = try TestDevices.device("cpu").makeQueue()
        let s = try DiffusionSampler(diffusion: d, sampler: DPMSolverSampler(steps: 5), batch: 2, queue: queue)
        try s.step.parameters.initialize(seed: 3, queue: queue)
        try queue.synchronize()
        queue.resetCounters()
        let chain = try s.sample(noise: .device(seed: 1), capture: [0, 2, 4])
        XCTAssertEqual(queue.counters.bytesDownloaded, (3 * 2 + 1) * 32 * 4)
        XCTAssertEqual(queue.counters.hostSynchronizations, 1)
        XCTAssertEqual(chain.x.count, 3)
        XCTAssertEqual(d.unnormalize(chain.x[2]), chain.images)
        XCTAssertEqual(chain.xStart[2], chain.x[2], "the last DPM-Solver++ step returns x̂₀")
        XCTAssertEqual(try s.sample(noise: .device(seed: 1)), chain.images)
        XCTAssertThrowsError(try s.sample(noise: .device(seed: 1), capture: [5]))
    }
}
