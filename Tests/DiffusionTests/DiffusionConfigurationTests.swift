import XCTest
@testable import Diffusion

final class DiffusionConfigurationTests: XCTestCase {
    func testReferenceDefaultsAndKeywordArguments() throws {
        let d = try DiffusionConfiguration(json: ["image_size": 32])
        XCTAssertEqual(d, DiffusionConfiguration(imageHeight: 32, imageWidth: 32))
        XCTAssertEqual(d.objective, .predV)
        XCTAssertEqual(d.betaSchedule, .sigmoidDefault)
        XCTAssertEqual(d.resolvedSamplingTimesteps, 1000)
        XCTAssertFalse(d.isDDIMSampling)

        let c = try DiffusionConfiguration(json: [
            "image_size": [16, 24], "timesteps": 500, "sampling_timesteps": 50, "objective": "pred_noise",
            "beta_schedule": "cosine", "schedule_fn_kwargs": ["s": 0.01], "ddim_sampling_eta": 1.0, "auto_normalize": false,
            "offset_noise_strength": 0.1, "min_snr_loss_weight": true, "min_snr_gamma": 4,
        ])
        XCTAssertEqual(c.imageHeight, 16)
        XCTAssertEqual(c.imageWidth, 24)
        XCTAssertEqual(c.betaSchedule, .cosine(s: 0.01))
        XCTAssertTrue(c.isDDIMSampling)
        XCTAssertEqual(try DiffusionConfiguration(json: c.json), c)
        let schedule = try c.noiseSchedule()
        XCTAssertEqual(schedule.timesteps, 500)
        XCTAssertEqual(schedule.lossWeight.last, 1, "pred_noise with min-SNR weighs late steps by 1")
    }

    func testBadValuesNameTheOption() {
        let cases: [([String: Any], String)] = [
            (["image_size": 32, "objective": "pred_eps"], "pred_eps"),
            (["image_size": 32, "beta_schedule": "quadratic"], "quadratic"),
            (["image_size": 32, "timesteps": 10, "sampling_timesteps": 20], "sampling_timesteps"),
            (["image_size": 32, "loss_type": "l1"], "loss_type"),
            (["image_size": 32, "immiscible": true], "immiscible"),
            (["image_size": [1, 2, 3]], "image_size"),
            (["image_size": 32, "ddim_sampling_eta": -1], "ddim_sampling_eta"),
            (["image_size": 32, "beta_schedule": "sigmoid", "schedule_fn_kwargs": ["start": 3, "end": -3]], "sigmoid"),
            (["image_size": 32, "beta_schedule": "linear", "schedule_fn_kwargs": ["s": 0.1]], "schedule_fn_kwargs"),
            (["timesteps": 10], "image_size"),
        ]
        for (json, needle) in cases {
            XCTAssertThrowsError(try DiffusionConfiguration(json: json), "\(json)") { error in
                XCTAssertTrue("\(error)".contains(needle), "\(error) should mention \(needle)")
            }
        }
    }
}
