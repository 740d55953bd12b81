import XCTest
@testable import Diffusion
import Conformance
import SafeTensors

final class NoiseScheduleTests: XCTestCase {
    func testBetaSchedulesMatchTheGoldenCases() throws {
        for name in GoldenFixtures.unconditionalCases {
            let io = try SafeTensorsFile(path: GoldenFixtures.path(name, "io.safetensors"))
            for schedule in ["linear", "cosine", "sigmoid"] {
                let expected = try io.floats("schedule.\(schedule).betas")
                let betas = try BetaSchedule(name: schedule).betas(timesteps: expected.count).map(Float.init)
                XCTAssertEqual(betas, expected, "\(name) \(schedule)")
            }
        }
    }

    func testAlphasCumprodMatchesTheGoldenCases() throws {
        for name in GoldenFixtures.unconditionalCases {
            let io = try SafeTensorsFile(path: GoldenFixtures.path(name, "io.safetensors"))
            let config = try GoldenCase(directory: GoldenFixtures.directory + "/" + name)
            let schedule = try config.diffusion.noiseSchedule()
            XCTAssertEqual(schedule.alphasCumprod, try io.floats("schedule.alphas_cumprod"), name)
        }
    }

    /// The check values of the reference notes (T = 1000).
    func testReferenceCheckValues() throws {
        let linear = try NoiseSchedule(schedule: .linear, timesteps: 1000, objective: .predNoise)
        XCTAssertEqual(linear.betas[0], 1e-4)
        XCTAssertEqual(linear.betas[1], 1.199199e-4, accuracy: 1e-10)
        XCTAssertEqual(linear.alphasCumprod[499], 0.0785872, accuracy: 1e-7)
        XCTAssertEqual(linear.alphasCumprod[999], 4.03583e-5, accuracy: 1e-10)
        XCTAssertEqual(linear.posteriorVariance[1], 5.453188e-5, accuracy: 1e-11)
        let cosine = try NoiseSchedule(schedule: .cosineDefault, timesteps: 1000, objective: .predNoise)
        XCTAssertEqual(cosine.betas[0], 4.128422e-5, accuracy: 1e-11)
        XCTAssertEqual(cosine.betas[999], 0.999)
        XCTAssertEqual(cosine.alphasCumprod[999], 2.428767e-9, accuracy: 1e-15)
        XCTAssertEqual(cosine.posteriorVariance[1], 2.178950e-5, accuracy: 1e-11)
        let sigmoid = try NoiseSchedule(schedule: .sigmoidDefault, timesteps: 1000, objective: .predV)
        XCTAssertEqual(sigmoid.betas[0], 3.002792e-4, accuracy: 1e-10)
        XCTAssertEqual(sigmoid.alphasCumprod[499], 0.5)
        // The notes give 3.002792e-7 here (β₀'s digits); PyTorch 2.13 computes 3.0028699e-7.
        XCTAssertEqual(sigmoid.alphasCumprod[999], 3.0028699e-7, accuracy: 1e-13)
        XCTAssertEqual(sigmoid.posteriorVariance[1], 1.505923e-4, accuracy: 1e-10)
        // pred_v without min-SNR weighs by ᾱ; pred_noise by 1; pred_x0 by the SNR.
        XCTAssertEqual(sigmoid.lossWeight[499], 0.5, accuracy: 1e-7)
        let noise = try NoiseSchedule(schedule: .sigmoidDefault, timesteps: 1000, objective: .predNoise, minSNRGamma: 5)
        XCTAssertEqual(noise.lossWeight[999], 1)
        XCTAssertEqual(noise.lossWeight[0], Float(5 / (sigmoid.alphasCumprod[0] / (1 - sigmoid.alphasCumprod[0]))), accuracy: 1e-6)
    }

    func testDDIMTimesOfTheReferenceNotes() throws {
        let s250 = try NoiseSchedule.ddimTimePairs(timesteps: 1000, samplingTimesteps: 250)
        XCTAssertEqual(s250.prefix(3).map(\.time), [999, 995, 991])
        XCTAssertEqual(s250.last!.time, 3)
        XCTAssertEqual(s250.last!.next, -1)
        let s50 = try NoiseSchedule.ddimTimePairs(timesteps: 1000, samplingTimesteps: 50)
        XCTAssertEqual(s50.prefix(2).map(\.time), [999, 979])
        XCTAssertEqual(s50.last!.time, 19)
        // float32 rounding in PyTorch's linspace: 13·1000/26 − 1 = 499 comes out just below.
        let s26 = try NoiseSchedule.ddimTimePairs(timesteps: 1000, samplingTimesteps: 26)
        XCTAssertEqual(s26[26 - 13].time, 498)
        XCTAssertThrowsError(try NoiseSchedule.ddimTimePairs(timesteps: 10, samplingTimesteps: 11))
        XCTAssertThrowsError(try NoiseSchedule.ddimTimePairs(timesteps: 10, samplingTimesteps: 0))
    }

    func testDegenerateSchedulesAreRefused() {
        // linear scales its betas by 1000/T: T = 20 reaches beta = 1, fewer steps exceed it.
        for t in [20, 10, 2] {
            XCTAssertThrowsError(try NoiseSchedule(schedule: .linear, timesteps: t, objective: .predNoise)) { error in
                let text = "\(error)"
                XCTAssertTrue(text.contains("linear") && text.contains("\(t) timesteps") && text.contains("beta["), text)
            }
        }
        XCTAssertNoThrow(try NoiseSchedule(schedule: .linear, timesteps: 21, objective: .predNoise))
        XCTAssertThrowsError(try NoiseSchedule(betas: [0.5, 0], objective: .predV))
        XCTAssertThrowsError(try NoiseSchedule(betas: [Double](repeating: 0.9, count: 60), objective: .predNoise)) { error in
            XCTAssertTrue("\(error)".contains("underflows"), "\(error)")
        }
        // Beyond 1 stays refused for every objective.
        XCTAssertThrowsError(try NoiseSchedule(schedule: .linear, timesteps: 10, objective: .predV))
    }

    /// ᾱ = 0 at the end of the schedule ("zero terminal SNR", e.g. linear over 20 steps, whose
    /// last beta is exactly 1) is what the reference computes with for v- and x₀-prediction (the
    /// cfg-tiny golden case's DDPM chain): the 1/ᾱ buffers are +∞ there, everything the loss and the
    /// ancestral chain read is finite, and the v loss weight is 0.
    func testZeroTerminalAlphaIsAcceptedForVAndX0Prediction() throws {
        for objective in [Objective.predV, .predX0] {
            let s = try NoiseSchedule(schedule: .linear, timesteps: 20, objective: objective)
            XCTAssertEqual(s.betas.last, 1)
            XCTAssertEqual(s.alphasCumprod.last, 0)
            XCTAssertEqual(s.sqrtRecipAlphasCumprod.last, .infinity)
            XCTAssertEqual(s.lossWeight.last, 0)
            for buffer in [s.sqrtAlphasCumprod, s.sqrtOneMinusAlphasCumprod, s.posteriorMeanCoef1, s.posteriorMeanCoef2,
                           s.posteriorLogVarianceClipped, s.lossWeight] {
                XCTAssertTrue(buffer.allSatisfy(\.isFinite), "\(objective)")
            }
        }
        // ᾱ underflowing to 0 in float32 is the same case.
        XCTAssertEqual(try NoiseSchedule(betas: [Double](repeating: 0.9, count: 60), objective: .predV).alphasCumprod.last, 0)
        XCTAssertThrowsError(try NoiseSchedule(schedule: .cosineDefault, timesteps: 0, objective: .predV))
    }

    func testDDPMStepsRunDownToZeroWithoutNoiseAtTheEnd() throws {
        let s = try NoiseSchedule(schedule: .cosineDefault, timesteps: 10, objective: .predX0)
        let steps = s.ddpmSteps
        XCTAssertEqual(steps.map(\.time), Array((0..<10).reversed()))
        XCTAssertEqual(steps.last!.noiseScale, 0)
        XCTAssertEqual(steps[0].noiseScale, expf(0.5 * s.posteriorLogVarianceClipped[9]))
        XCTAssertEqual(steps[0].coef1, s.posteriorMeanCoef1[9])
    }
}
