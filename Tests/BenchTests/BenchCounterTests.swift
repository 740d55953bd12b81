import Backends
@testable import DDPMCLI
import Foundation
import XCTest

/// `ddpm bench` on a tiny model: the counters that prove a training step stays on the device.
///
/// Only counts and sizes are asserted (no wall-clock bounds): per step the host uploads at most
/// the image batch, downloads at most a few bytes of loss, blocks at most once, and the memory
/// planner's arena is smaller than the intermediates laid end to end.
final class BenchCounterTests: XCTestCase {
    /// `ddpm --device NAME bench --dim 16 --mults 1,2 --image-size 16 --batch 8 --steps 5`.
    private func tinySettings() throws -> BenchSettings {
        var command = try BenchCommand.parse(["--dim", "16", "--mults", "1,2", "--image-size", "16", "--batch", "8",
                                             "--steps", "5", "--warmup", "1", "--json"])
        command.profile = false
        return try command.makeSettings()
    }

    private func check(_ deviceName: String) throws {
        let settings = try tinySettings()
        let device = try DeviceRegistry.device(named: deviceName)
        let r = try BenchRunner(settings: settings, device: device).run()
        let batchBytes = Double(8 * 3 * 16 * 16 * 4)
        XCTAssertLessThanOrEqual(r.uploadBytesPerStep, batchBytes, "\(deviceName): uploads per step")
        XCTAssertGreaterThan(r.uploadBytesPerStep, 0, "\(deviceName): the image batch must be uploaded every step")
        XCTAssertLessThanOrEqual(r.downloadBytesPerStep, 64, "\(deviceName): downloads per step")
        XCTAssertLessThanOrEqual(r.hostSyncsPerStep, 1, "\(deviceName): host synchronisations per step")
        XCTAssertLessThan(r.trainGraph.memory.arenaPeakBytes, r.trainGraph.memory.intermediateBytes, "\(deviceName): arena reuse")
        XCTAssertGreaterThan(r.trainGraph.memory.arenaPeakBytes, 0)
        XCTAssertGreaterThan(r.kernelsPerStep, Double(r.forwardGraph.kernels), "\(deviceName): a step is more than a forward")
        // The graph report: the step's schedule plus the optimiser tail is what a step launches.
        XCTAssertGreaterThan(r.trainGraph.nodes, r.forwardGraph.nodes, "\(deviceName): the step's graph holds the forward")
        XCTAssertLessThanOrEqual(Double(r.trainGraph.kernels), r.kernelsPerStep, "\(deviceName): graph kernels per step")
        XCTAssertLessThanOrEqual(r.trainGraph.memory.inPlace, r.trainGraph.memory.intermediates)
        XCTAssertTrue(r.text.contains("graph, training step: \(r.trainGraph.nodes) nodes, \(r.trainGraph.kernels) kernels"))
        XCTAssertEqual(r.trainStepTimes.count, 5)
        XCTAssertEqual(r.forwardTimes.count, 5)
        XCTAssertTrue(r.trainStepSeconds > 0 && r.forwardSeconds > 0)
        XCTAssertGreaterThan(r.peakRSSBytes, 0)

        // The JSON line carries every key the benchmark script reads.
        let object = try JSONSerialization.jsonObject(with: Data(r.jsonLine.utf8)) as? [String: Any]
        let keys = ["train_step_s", "forward_s", "kernels_per_step", "upload_bytes_per_step", "download_bytes_per_step",
                    "host_syncs_per_step", "arena_peak_bytes", "intermediate_bytes_total", "params", "device",
                    "peak_rss_bytes", "train_graph", "forward_graph"]
        for key in keys { XCTAssertNotNil(object?[key], "\(deviceName): JSON lacks \(key)") }
        XCTAssertFalse(r.jsonLine.contains("\n"), "--json prints one line")
    }

    func testCPUStepStaysOnDevice() throws { try check("cpu") }

    func testOpenCLStepStaysOnDevice() throws { try check("opencl") }

    /// The profile accounts for the launches of a step, family by family.
    func testProfileCoversEveryLaunch() throws {
        var settings = try tinySettings()
        settings.profile = true
        settings.steps = 2
        let r = try BenchRunner(settings: settings, device: DeviceRegistry.device(named: "cpu")).run()
        let profile = try XCTUnwrap(r.trainProfile)
        let launches = profile.rows.reduce(0) { $0 + $1.launches }
        XCTAssertEqual(launches, r.kernelsPerStep, accuracy: 0.5)
        XCTAssertEqual(profile.launches.reduce(0) { $0 + $1.launches }, Int(r.kernelsPerStep.rounded()))
        XCTAssertTrue(profile.rows.contains { $0.family == "conv2d" })
        XCTAssertEqual(profile.rows.map(\.seconds), profile.rows.map(\.seconds).sorted(by: >), "sorted slowest first")
        XCTAssertNotNil(r.forwardProfile)
    }

    func testBadOptionsNameTheOption() throws {
        XCTAssertThrowsError(try BenchCommand.parse(["--mults", "1,x"]).makeSettings()) { error in
            XCTAssertTrue("\(error)".contains("--mults"), "\(error)")
        }
        XCTAssertThrowsError(try BenchCommand.parse(["--batch", "0"]).makeSettings()) { error in
            XCTAssertTrue("\(error)".contains("--batch"), "\(error)")
        }
        XCTAssertThrowsError(try BenchCommand.parse(["--profile-shapes=-1"]).makeSettings()) { error in
            XCTAssertTrue("\(error)".contains("--profile-shapes"), "\(error)")
        }
        XCTAssertThrowsError(try BenchCommand.parse(["--sample-images=-2"]).makeSettings()) { error in
            XCTAssertTrue("\(error)".contains("--sample-images"), "\(error)")
        }
        XCTAssertThrowsError(try BenchCommand.parse(["--sample-images", "4", "--sample-steps", "1001"]).makeSettings()) { error in
            XCTAssertTrue("\(error)".contains("--sample-steps"), "\(error)")
        }
    }

    /// `--sample-images`: whole DDIM chains, one Unet forward per step plus the update, all on
    /// the device, the chain's launches the same every run.
    func testSamplingBenchTimesWholeChains() throws {
        let settings = try BenchCommand.parse(["--dim", "16", "--mults", "1,2", "--image-size", "8", "--sample-images", "3",
                                               "--sample-steps", "4", "--sample-runs", "2", "--json"]).makeSettings()
        for name in ["cpu", "opencl"] {
            let device = try DeviceRegistry.device(named: name)
            let r = try SamplingBench(settings: settings, device: device).run()
            XCTAssertEqual(r.times.count, 2, name)
            XCTAssertTrue(r.times.allSatisfy { $0 > 0 }, name)
            // 4 steps, each at least the Unet forward's launches (207 at this size), in 2 timed chains.
            XCTAssertGreaterThan(r.kernelsPerChain, 4 * 100, name)
            let object = try JSONSerialization.jsonObject(with: Data(r.jsonLine.utf8)) as? [String: Any]
            for key in ["sample_s", "sample_times_s", "sample_cpu_s", "sample_images", "sample_steps", "peak_rss_bytes"] {
                XCTAssertNotNil(object?[key], "\(name): JSON lacks \(key)")
            }
            XCTAssertEqual(object?["sample_images"] as? Int, 3)
        }
    }
}
