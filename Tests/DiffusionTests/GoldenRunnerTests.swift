import XCTest
import Conformance
import Devices
import SafeTensors

/// The runner on the extra cases (per-stage attention, non-square images, init_dim, theta,
/// pred_x0, min-SNR, DDIM with eta > 0, the shortest linear schedule, self-conditioning; written by
/// `Tests/Fixtures/golden/make_extra_golden.py` with PyTorch), and proof that its checks can fail.
final class GoldenRunnerTests: XCTestCase {
    var extraDirectory: String { GoldenFixtures.directory + "/extra" }

    func testExtraCasesPassOnCPUAndOpenCL() throws {
        for name in ["cpu", "opencl"] {
            var lines: [String] = []
            let summary = try GoldenRunner.run(directory: extraDirectory, device: TestDevices.device(name)) { lines.append($0) }
            XCTAssertEqual(summary.cases.map(\.name), ["full-attn-minsnr", "selfcond", "stages-nonsquare"], name)
            XCTAssertEqual(lines, ["3 passed, 0 failed"], name)
        }
    }

    /// A case whose expected Unet output and one gradient are perturbed fails exactly those checks.
    func testPerturbedReferenceFailsWithOneLinePerCheck() throws {
        let directory = NSTemporaryDirectory() + "golden-perturbed-\(UUID().uuidString)"
        let caseDirectory = directory + "/tiny-gray"
        try FileManager.default.createDirectory(atPath: caseDirectory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        for file in ["config.json", "weights.safetensors"] {
            try FileManager.default.copyItem(atPath: GoldenFixtures.path("tiny-gray", file), toPath: caseDirectory + "/" + file)
        }
        let io = try SafeTensorsFile(path: GoldenFixtures.path("tiny-gray", "io.safetensors"))
        let tensors = try io.tensors.map { info -> SafeTensor in
            var bytes = try io.bytes(info.name)
            if info.name == "unet.out" || info.name == "grad.final_conv.weight" {
                var values = try io.floats(info.name)
                values[0] += 0.01
                bytes = SafeTensor(name: info.name, shape: info.shape, floats: values).bytes
            }
            return SafeTensor(name: info.name, dtype: info.dtype, shape: info.shape, bytes: bytes)
        }
        try SafeTensorsWriter.write(tensors, to: caseDirectory + "/io.safetensors")

        var lines: [String] = []
        let summary = try GoldenRunner.run(directory: directory, device: TestDevices.device("cpu")) { lines.append($0) }
        XCTAssertEqual(summary.failedCount, 1)
        XCTAssertEqual(lines.count, 3, "\(lines)")
        XCTAssertTrue(lines[0].hasPrefix("tiny-gray: unet.forward: max abs err 0.01"), lines[0])
        XCTAssertTrue(lines[1].hasPrefix("tiny-gray: grad (193 parameters): NMSE") && lines[1].contains("final_conv.weight"), lines[1])
        XCTAssertEqual(lines[2], "0 passed, 1 failed")
    }

    func testUnreadableCasesAreReportedNotCrashed() throws {
        let directory = NSTemporaryDirectory() + "golden-broken-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory + "/broken", withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try Data("{\"unet\": {\"dim\": 8}}".utf8).write(to: URL(fileURLWithPath: directory + "/broken/config.json"))
        var lines: [String] = []
        let summary = try GoldenRunner.run(directory: directory, device: TestDevices.device("cpu")) { lines.append($0) }
        XCTAssertEqual(summary.failedCount, 1)
        XCTAssertTrue(lines[0].hasPrefix("broken: error: ") && lines[0].contains("config.json"), lines[0])
        XCTAssertThrowsError(try GoldenRunner.run(directory: directory + "/missing", device: TestDevices.device("cpu")) { _ in })
    }
}
