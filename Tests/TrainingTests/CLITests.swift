import Foundation
import XCTest
@testable import Training

/// The `ddpm` binary: option errors, a SIGKILLed run resumed, SIGINT, sample and inspect.
final class CLITests: XCTestCase {
    /// The `ddpm` executable built next to the test bundle (TrainingTests depends on DDPMCLI).
    static var binary: String {
        #if os(macOS)
        let products = Bundle.allBundles.first { $0.bundlePath.hasSuffix(".xctest") }!.bundleURL.deletingLastPathComponent()
        #else
        let products = Bundle.main.bundleURL
        #endif
        return products.appendingPathComponent("ddpm").path
    }

    /// The tiny model of ``TinyRun`` as command-line options.
    static let tiny = ["--data", "digits", "--dim", "8", "--mults", "1,2", "--attn-heads", "2", "--attn-dim-head", "4",
                       "--timesteps", "50", "--sampling-timesteps", "5", "--schedule", "linear", "--objective", "pred_noise",
                       "--batch-size", "4", "--lr", "1e-3", "--num-samples", "0", "--log-every", "1", "--ema-update-every", "1"]

    private var directory = ""
    override func setUp() {
        directory = Fixtures.temporaryDirectory("ddpm-cli")
        XCTAssertTrue(FileManager.default.isExecutableFile(atPath: CLITests.binary), "missing \(CLITests.binary)")
    }
    override func tearDown() { try? FileManager.default.removeItem(atPath: directory) }

    private func ddpm(_ arguments: [String]) throws -> ChildProcess.Result {
        try ChildProcess(CLITests.binary, arguments).finish()
    }

    private func assertFails(_ arguments: [String], status: Int32, mentioning text: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let r = try ddpm(arguments)
        XCTAssertEqual(r.status, status, "\(arguments): \(r.err)", file: file, line: line)
        XCTAssertTrue(r.err.contains(text), "expected '\(text)' in: \(r.err)", file: file, line: line)
        XCTAssertFalse(r.err.contains("Fatal error"), r.err, file: file, line: line)
    }

    func testBadOptionValuesGiveClearErrors() throws {
        let out = ["--output", directory + "/run"]
        try assertFails(["train", "--image-size", "3x"] + out, status: 64, mentioning: "--image-size must be a positive size")
        try assertFails(["train", "--objective", "eps"] + out, status: 64, mentioning: "pred_noise, pred_x0 or pred_v")
        try assertFails(["train", "--schedule", "quad"] + out, status: 64, mentioning: "linear, cosine or sigmoid")
        try assertFails(["train", "--batch-size", "0"] + out, status: 64, mentioning: "--batch-size must be at least 1")
        try assertFails(["train", "--mults", "1,x"] + out, status: 64, mentioning: "--mults must be a comma-separated list")
        try assertFails(["train", "--adam-betas", "0.9"] + out, status: 64, mentioning: "--adam-betas takes two numbers")
        try assertFails(["train", "--lr-schedule", "linear"] + out, status: 64, mentioning: "constant or cosine")
        try assertFails(["train", "--steps=-3"] + out, status: 64, mentioning: "--steps must be at least 1")
        try assertFails(["train", "--image-size", "30"] + out, status: 64, mentioning: "multiples of 8")
        try assertFails(["train", "--data", directory + "/absent"] + CLITests.tiny.dropFirst(2) + out, status: 1,
                        mentioning: "\(directory)/absent: no such file or directory")
        try assertFails(["--device", "tpu", "train"] + out, status: 2, mentioning: "unknown device 'tpu'")
        try assertFails(["sample"], status: 64, mentioning: "give --checkpoint PATH")
        try assertFails(["sample", "--weights", "w.safetensors"], status: 64, mentioning: "--weights needs --config")
        try assertFails(["sample", "--checkpoint", directory + "/none"], status: 1, mentioning: "\(directory)/none: no checkpoint found")
        try assertFails(["sample", "--checkpoint", "x", "--sampler", "euler"], status: 64, mentioning: "'euler' is invalid for '--sampler")
        let junk = directory + "/junk.safetensors"
        XCTAssertTrue(FileManager.default.createFile(atPath: junk, contents: Data("not a checkpoint at all".utf8)))
        try assertFails(["inspect", junk], status: 1, mentioning: junk)
        try assertFails(["sample", "--checkpoint", junk], status: 1, mentioning: "damaged checkpoint")
    }

    func testDataErrorsExitNonZeroNamingThePath() throws {
        let images = directory + "/images"
        try FileManager.default.createDirectory(atPath: images, withIntermediateDirectories: true)
        let model = Array(CLITests.tiny.dropFirst(2))  // without --data digits
        try assertFails(["train", "--data", images, "--output", directory + "/a"] + model, status: 1, mentioning: "\(images): no images found")
        try FileManager.default.copyItem(atPath: Fixtures.image("rgb8.png"), toPath: images + "/one.png")
        try assertFails(["train", "--data", images, "--output", directory + "/b"] + model, status: 1,
                        mentioning: "1 image, fewer than one batch of 4")
        let bytes = try XCTUnwrap(FileManager.default.contents(atPath: Fixtures.image("rgb.jpg")))
        XCTAssertTrue(FileManager.default.createFile(atPath: images + "/cut.JPG", contents: bytes.prefix(bytes.count - 100)))
        try assertFails(["train", "--data", images, "--output", directory + "/c"] + model, status: 1,
                        mentioning: "\(images)/cut.JPG: corrupt image: JPEG: the file ends before the image data is complete (truncated)")
    }

    func testKilledRunResumesWithTheSameLosses() throws {
        let run = directory + "/killed", whole = directory + "/whole"
        // Long enough that the kill surely lands mid-run, between two checkpoints.
        let options = CLITests.tiny + ["--steps", "60", "--save-every", "4", "--seed", "5", "--flip"]
        let reference = try ddpm(["train"] + options + ["--output", whole])
        XCTAssertEqual(reference.status, 0, reference.err)

        let child = try ChildProcess(CLITests.binary, ["train"] + options + ["--output", run])
        let deadline = Date().addingTimeInterval(300)
        while !FileManager.default.fileExists(atPath: "\(run)/\(Checkpoint.fileName(step: 4))") && child.process.isRunning && Date() < deadline {
            usleep(20_000)
        }
        kill(child.process.processIdentifier, SIGKILL)
        let killed = child.finish()
        XCTAssertEqual(killed.status, SIGKILL, "terminated by SIGKILL")
        let survivors = CheckpointDirectory(path: run).checkpoints().map(\.step)
        XCTAssertTrue(survivors.contains(4), "\(survivors)")
        XCTAssertTrue((survivors.last ?? 0) < 60, "killed before the end: \(survivors)")

        let resumed = try ddpm(["train", "--output", run, "--resume"])  // every setting from the checkpoint
        XCTAssertEqual(resumed.status, 0, resumed.err)
        XCTAssertTrue(resumed.out.contains("resumed from"), resumed.out)
        let a = MetricsLog.read("\(whole)/metrics.jsonl"), b = MetricsLog.read("\(run)/metrics.jsonl")
        XCTAssertEqual(a.map(\.step), Array(1...60))
        XCTAssertEqual(b.map(\.step), a.map(\.step), "one line per step, no duplicates from before the kill")
        XCTAssertEqual(b.map(\.loss), a.map(\.loss), "the resumed run continues exactly")
        XCTAssertEqual(try Checkpoint(contentsOf: "\(run)/\(Checkpoint.fileName(step: 60))").ema,
                       try Checkpoint(contentsOf: "\(whole)/\(Checkpoint.fileName(step: 60))").ema)

        // Changing a setting on resume is refused, naming it.
        let conflict = try ddpm(["train", "--output", run, "--resume", "--steps", "70", "--lr", "2e-3"])
        XCTAssertEqual(conflict.status, 1)
        XCTAssertTrue(conflict.err.contains("training.lr: 0.002 (checkpoint: 0.001)"), conflict.err)
        let again = try ddpm(["train", "--output", run] + CLITests.tiny)
        XCTAssertEqual(again.status, 1)
        XCTAssertTrue(again.err.contains("pass --resume"), again.err)
    }

    func testInterruptWritesACheckpointAndExits130() throws {
        let run = directory + "/interrupted"
        let child = try ChildProcess(CLITests.binary, ["train"] + CLITests.tiny + ["--steps", "100000", "--output", run])
        let deadline = Date().addingTimeInterval(300)
        while MetricsLog.read("\(run)/metrics.jsonl").count < 3 && child.process.isRunning && Date() < deadline { usleep(20_000) }
        kill(child.process.processIdentifier, SIGINT)
        let r = child.finish()
        XCTAssertEqual(r.status, 130, r.err)
        XCTAssertTrue(r.out.contains("interrupted at step"), r.out)
        let newest = try XCTUnwrap(CheckpointDirectory(path: run).newest)
        XCTAssertGreaterThanOrEqual(newest.step, 3)
        XCTAssertEqual(try Checkpoint(contentsOf: newest.path).step, newest.step)
    }

    func testSampleAndInspect() throws {
        let run = directory + "/run"
        XCTAssertEqual(try ddpm(["train"] + CLITests.tiny + ["--steps", "2", "--output", run]).status, 0)
        let grid = directory + "/grid.png"
        let r = try ddpm(["sample", "--checkpoint", run, "--count", "5", "--batch-size", "2", "--output", grid])
        XCTAssertEqual(r.status, 0, r.err)
        let image = try Image(contentsOf: grid)
        // A 32x22 grid is enlarged by 8 to reach 256 pixels; --grid-size 1 keeps it as drawn.
        XCTAssertEqual([image.width, image.height, image.channels], [8 * (3 * 10 + 2), 8 * (2 * 10 + 2), 1])
        XCTAssertEqual(try ddpm(["sample", "--checkpoint", run, "--count", "5", "--batch-size", "2", "--grid-size", "1", "--output", grid]).status, 0)
        let small = try Image(contentsOf: grid)
        XCTAssertEqual([small.width, small.height], [3 * 10 + 2, 2 * 10 + 2])
        XCTAssertEqual(small.enlarged(width: small.width * 8, height: small.height * 8), image)
        let folder = directory + "/each"
        XCTAssertEqual(try ddpm(["--device", "opencl", "sample", "--checkpoint", run, "--count", "2", "--sampler", "ddim",
                                 "--steps", "3", "--eta", "1", "--no-ema", "--output", folder]).status, 0)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: folder).sorted(), ["sample-00000.png", "sample-00001.png"])
        let info = try ddpm(["inspect", run])
        XCTAssertEqual(info.status, 0, info.err)
        XCTAssertTrue(info.out.contains("ddpm checkpoint, format version 1, step 2"), info.out)
        XCTAssertTrue(info.out.contains("\"dim\" : 8"), info.out)
        XCTAssertTrue(info.out.contains("optimizer.exp_avg_sq.*"), info.out)
    }

    /// inpaint, interpolate, sample --init and --save-chain through the binary, and their refusals.
    func testEditingCommands() throws {
        let run = directory + "/run"
        XCTAssertEqual(try ddpm(["train"] + CLITests.tiny + ["--steps", "2", "--output", run]).status, 0)
        let (image, mask) = (Fixtures.image("rgb8.png"), Fixtures.image("gray8.png"))
        let inpainted = directory + "/inpainted.png"
        let r = try ddpm(["inpaint", "--checkpoint", run, "--image", image, "--mask", mask, "--count", "2", "--resample-iter", "1",
                          "--grid-size", "1", "--output", inpainted])
        XCTAssertEqual(r.status, 0, r.err)
        let grid = try Image(contentsOf: inpainted)
        XCTAssertEqual([grid.width, grid.height], [2 * 10 + 2, 2 * 10 + 2], "the masked input and two completions")
        let row = directory + "/row.png"
        XCTAssertEqual(try ddpm(["interpolate", image, mask, "--checkpoint", run, "--frames", "4", "--strength", "0.5", "--grid-size", "44x11",
                                 "--output", row]).status, 0)
        let strip = try Image(contentsOf: row)
        XCTAssertEqual([strip.width, strip.height], [44, 11])
        let edited = directory + "/edited.png"
        let e = try ddpm(["sample", "--checkpoint", run, "--init", image, "--strength", "0.5", "--sampler", "dpm++", "--steps", "4",
                          "--count", "3", "--save-chain", "3", "--output", edited])
        XCTAssertEqual(e.status, 64, "--save-chain with --init")
        XCTAssertEqual(try ddpm(["sample", "--checkpoint", run, "--init", image, "--strength", "0.5", "--sampler", "dpm++", "--steps", "4",
                                 "--count", "3", "--output", edited]).status, 0)
        let chained = directory + "/chained.png"
        let c = try ddpm(["sample", "--checkpoint", run, "--sampler", "dpm++", "--steps", "4", "--count", "2", "--save-chain", "3",
                          "--grid-size", "1", "--output", chained])
        XCTAssertEqual(c.status, 0, c.err)
        let chain = try Image(contentsOf: directory + "/chained-chain.png")
        XCTAssertEqual([chain.width, chain.height], [3 * 10 + 2, 4 * 10 + 2], "3 steps; x_t and x0 rows of 2 images")

        let small = directory + "/small.png"
        try Image(width: 10, height: 10, channels: 1, pixels: [UInt8](repeating: 255, count: 100)).writePNG(to: small)
        try assertFails(["inpaint", "--checkpoint", run, "--image", image, "--mask", small, "--output", inpainted], status: 1,
                        mentioning: "\(small): the mask is 10x10 pixels but the image \(image) is 16x12")
        try assertFails(["inpaint", "--checkpoint", run, "--image", directory + "/absent.png", "--mask", mask, "--output", inpainted],
                        status: 1, mentioning: "\(directory)/absent.png")
        try assertFails(["sample", "--checkpoint", run, "--strength", "0.5"], status: 64, mentioning: "--strength goes with --init")
        try assertFails(["sample", "--checkpoint", run, "--init", image, "--strength", "1.5"], status: 64, mentioning: "--strength must be in (0, 1]")
        try assertFails(["sample", "--checkpoint", run, "--sampler", "ddpm", "--order", "2"], status: 64, mentioning: "apply to the dpm++ sampler only")
        try assertFails(["sample", "--checkpoint", run, "--grid-size", "0x5"], status: 64, mentioning: "--grid-size must be")
        try assertFails(["interpolate", image, "--checkpoint", run], status: 64, mentioning: "Missing expected argument")
    }

    /// `--model class-conditional` end to end: classes from the data, sampling by name or number,
    /// one grid row per class, and clear errors for a bad class, unlabelled data and class options
    /// on an unconditional model.
    func testClassConditionalTrainAndSample() throws {
        let run = directory + "/cfg"
        let model = ["--model", "class-conditional", "--data", "digits", "--dim", "8", "--mults", "1,2", "--attn-heads", "2",
                     "--attn-dim-head", "4", "--timesteps", "50", "--sampling-timesteps", "3", "--batch-size", "4",
                     "--num-samples", "0", "--log-every", "1"]
        let trained = try ddpm(["train"] + model + ["--steps", "2", "--output", run])
        XCTAssertEqual(trained.status, 0, trained.err)
        XCTAssertTrue(trained.out.contains("class-conditional Unet dim 8, mults [1, 2], 10 classes"), trained.out)
        let rows = directory + "/rows.png"
        let r = try ddpm(["sample", "--checkpoint", run, "--count", "20", "--batch-size", "20", "--guidance", "3", "--grid-size", "1",
                          "--output", rows])
        XCTAssertEqual(r.status, 0, r.err)
        XCTAssertTrue(r.out.contains("guidance 3.0 (rescaled_phi 0.7, parallel component removed)"), r.out)
        let grid = try Image(contentsOf: rows)
        XCTAssertEqual([grid.width, grid.height], [2 * 10 + 2, 10 * 10 + 2], "one row of 2 per class")
        XCTAssertEqual(try ddpm(["sample", "--checkpoint", run, "--count", "3", "--classes", "0,3,3", "--cfg-plus-plus",
                                 "--no-remove-parallel-component", "--rescale", "0", "--output", directory + "/three.png"]).status, 0)
        // Editing a class-conditional model: inpainting, image-to-image and interpolation with a class.
        let (image, mask) = (Fixtures.image("rgb8.png"), Fixtures.image("gray8.png"))
        let inpainted = directory + "/cfg-inpainted.png"
        let p = try ddpm(["inpaint", "--checkpoint", run, "--image", image, "--mask", mask, "--count", "2", "--resample-iter", "1",
                          "--class", "3", "--guidance", "2", "--grid-size", "1", "--output", inpainted])
        XCTAssertEqual(p.status, 0, p.err)
        XCTAssertTrue(p.out.contains("guidance 2.0 (rescaled_phi 0.7, parallel component removed)"), p.out)
        let painted = try Image(contentsOf: inpainted)
        XCTAssertEqual([painted.width, painted.height], [2 * 10 + 2, 2 * 10 + 2], "the masked input and two completions")
        let i2i = try ddpm(["sample", "--checkpoint", run, "--init", image, "--strength", "0.6", "--count", "2", "--classes", "1,7",
                            "--cfg-plus-plus", "--no-remove-parallel-component", "--output", directory + "/cfg-edited.png"])
        XCTAssertEqual(i2i.status, 0, i2i.err)
        XCTAssertTrue(i2i.out.contains("parallel component kept, CFG++"), i2i.out)
        let row = directory + "/cfg-row.png"
        let ip = try ddpm(["interpolate", image, mask, "--checkpoint", run, "--frames", "3", "--class", "5", "--rescale", "0",
                           "--grid-size", "1", "--output", row])
        XCTAssertEqual(ip.status, 0, ip.err)
        let strip = try Image(contentsOf: row)
        XCTAssertEqual([strip.width, strip.height], [3 * 10 + 2, 10 + 2])
        try assertFails(["inpaint", "--checkpoint", run, "--image", image, "--mask", mask, "--output", inpainted], status: 64,
                        mentioning: "is class-conditional: give --class C (every image) or --classes LIST (one per image); "
                            + "the model's classes are 0, 1, 2, 3, 4, 5, 6, 7, 8, 9")
        try assertFails(["sample", "--checkpoint", run, "--init", image, "--output", directory + "/x.png"], status: 64,
                        mentioning: "is class-conditional: give --class C")
        try assertFails(["interpolate", image, mask, "--checkpoint", run, "--class", "eleven", "--output", row], status: 64,
                        mentioning: "unknown class 'eleven'; the model's classes are 0, 1, 2, 3, 4, 5, 6, 7, 8, 9")
        try assertFails(["interpolate", image, mask, "--checkpoint", run, "--frames", "3", "--classes", "1,2", "--output", row], status: 64,
                        mentioning: "--classes lists 2 classes for --frames 3")
        try assertFails(["sample", "--checkpoint", run, "--class", "seven", "--output", directory + "/x.png"], status: 64,
                        mentioning: "unknown class 'seven'; the model's classes are 0, 1, 2, 3, 4, 5, 6, 7, 8, 9")
        try assertFails(["sample", "--checkpoint", run, "--classes", "1,2", "--count", "3", "--output", directory + "/x.png"], status: 64,
                        mentioning: "--classes lists 2 classes for --count 3")
        try assertFails(["sample", "--checkpoint", run, "--rescale", "2"], status: 64, mentioning: "--rescale must be in [0, 1]")
        try assertFails(["train", "--model", "class-conditional", "--data", "shapes", "--output", directory + "/s"], status: 64,
                        mentioning: "the built-in shapes have no class labels")
        try assertFails(["train", "--model", "gan", "--output", directory + "/s"], status: 64, mentioning: "unknown model kind 'gan'")
        let plain = directory + "/plain"
        XCTAssertEqual(try ddpm(["train"] + CLITests.tiny + ["--steps", "1", "--output", plain]).status, 0)
        try assertFails(["sample", "--checkpoint", plain, "--class", "3", "--output", directory + "/x.png"], status: 64,
                        mentioning: "--class needs a class-conditional model")
        try assertFails(["inpaint", "--checkpoint", plain, "--image", image, "--mask", mask, "--classes", "1,2,3,4", "--output", inpainted],
                        status: 64, mentioning: "--classes needs a class-conditional model")
        try assertFails(["interpolate", image, mask, "--checkpoint", plain, "--guidance", "2", "--output", row], status: 64,
                        mentioning: "--guidance needs a class-conditional model")
        try assertFails(["sample", "--checkpoint", plain, "--init", image, "--class", "1", "--output", directory + "/x.png"], status: 64,
                        mentioning: "--class needs a class-conditional model")
    }
}
