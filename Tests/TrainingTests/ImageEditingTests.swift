import Diffusion
import Foundation
import XCTest
@testable import Training

/// Inputs of image editing checked as training images are; image-to-image, inpainting and
/// interpolation runs; enlarged grids and chain strips.
final class ImageEditingTests: XCTestCase {
    private var directory = ""
    override func setUp() { directory = Fixtures.temporaryDirectory("ddpm-editing") }
    override func tearDown() { try? FileManager.default.removeItem(atPath: directory) }

    /// A tiny model trained two steps (8x8 gray, 50 timesteps, DDIM in 5 steps).
    private func model() throws -> SamplingModel {
        let run = try TinyRun.train(TinyRun.configuration(steps: 2), in: directory + "/run")
        return try SamplingModel(checkpoint: run.directory)
    }

    func testInputsArePreparedAsTrainingImagesAndMasksMustMatchTheImage() throws {
        let model = try model()
        let image = try EditInputs.image(Fixtures.image("rgb8.png"), for: model)
        XCTAssertEqual(image, try Image(contentsOf: Fixtures.image("rgb8.png")).resizedToCover(height: 8, width: 8).converted(toChannels: 1).planarFloats())
        // gray8.png (x·8 + y·10) as a mask: white (≥ ½) keeps.
        let white = try EditInputs.mask(Fixtures.image("gray8.png"), image: Fixtures.image("rgb8.png"), keeps: .white, for: model)
        let black = try EditInputs.mask(Fixtures.image("gray8.png"), image: Fixtures.image("rgb8.png"), keeps: .black, for: model)
        XCTAssertEqual(white.count, 64)
        XCTAssertEqual(zip(white, black).map { $0 + $1 }, [Float](repeating: 1, count: 64))
        XCTAssertTrue(white.contains(0) && white.contains(1))
        XCTAssertEqual(white[0], 0, "the dark top-left corner is generated")
        XCTAssertEqual(white[63], 1, "the bright bottom-right corner is kept")

        let small = directory + "/small.png"
        try Image(width: 10, height: 10, channels: 1, pixels: [UInt8](repeating: 255, count: 100)).writePNG(to: small)
        XCTAssertThrowsError(try EditInputs.mask(small, image: Fixtures.image("rgb8.png"), keeps: .white, for: model)) { error in
            guard case let TrainingError.invalidSetting(message) = error else { return XCTFail("\(error)") }
            XCTAssertTrue(message.contains(small) && message.contains("rgb8.png") && message.contains("10x10") && message.contains("16x12"), message)
        }
        let junk = directory + "/junk.png"
        try Data("not an image".utf8).write(to: URL(fileURLWithPath: junk))
        XCTAssertThrowsError(try EditInputs.image(junk, for: model)) { error in
            guard case let ImageError.unsupported(path, _) = error else { return XCTFail("\(error)") }
            XCTAssertEqual(path, junk)
        }
    }

    func testImageToImageRunsThePartOfTheChainTheStrengthKeeps() throws {
        let model = try model()
        let cpu = try ImageEditor(model: model, device: TinyRun.device("cpu"))
        let ddim = DDIMSampler(steps: 5)
        // DDIM times of T = 50 in 5 steps: 49, 39, 29, 19, 9.
        XCTAssertEqual(try cpu.skippedSteps(ddim, strength: 1).skipped, 0)
        XCTAssertEqual(try cpu.skippedSteps(ddim, strength: 0.4).skipped, 3)
        XCTAssertEqual(try cpu.skippedSteps(ddim, strength: 0.4).time, 19)
        XCTAssertThrowsError(try cpu.skippedSteps(ddim, strength: 0.1)) { error in
            XCTAssertTrue("\(error)".contains("keeps no step"), "\(error)")
        }
        let image = try EditInputs.image(Fixtures.image("rgb8.png"), for: model)
        let a = try cpu.imageToImage(image, strength: 0.6, sampler: ddim, count: 2, seed: 4)
        XCTAssertEqual(a.count, 2 * 64)
        XCTAssertEqual(a, try cpu.imageToImage(image, strength: 0.6, sampler: ddim, count: 2, seed: 4))
        XCTAssertNotEqual(a, try cpu.imageToImage(image, strength: 0.6, sampler: ddim, count: 2, seed: 5))
        XCTAssertNotEqual(Array(a[0..<64]), Array(a[64...]), "each image of the batch has its own noise")
        // The start noise comes from the host's Philox: every device gives the same images.
        let opencl = try ImageEditor(model: model, device: TinyRun.device("opencl"))
        let b = try opencl.imageToImage(image, strength: 0.6, sampler: DPMSolverSampler(steps: 5), count: 2, seed: 4)
        let c = try cpu.imageToImage(image, strength: 0.6, sampler: DPMSolverSampler(steps: 5), count: 2, seed: 4)
        XCTAssertLessThan(zip(b, c).map { abs($0 - $1) }.max()!, 1e-3)
    }

    func testInpaintingKeepsTheKnownPixelsAndInterpolationWritesARow() throws {
        let model = try model()
        let editor = try ImageEditor(model: model, device: TinyRun.device("cpu"))
        let image = try EditInputs.image(Fixtures.image("rgb8.png"), for: model)
        let mask = try EditInputs.mask(Fixtures.image("gray8.png"), image: Fixtures.image("rgb8.png"), keeps: .white, for: model)
        let out = try editor.inpaint(image, mask: mask, sampler: RePaintSampler(resampleIterations: 1, jumpLength: 3, resampleEvery: 25),
                                     count: 2, seed: 1)
        XCTAssertEqual(out.count, 2 * 64)
        for k in 0..<2 {
            for i in 0..<64 where mask[i] == 1 { XCTAssertEqual(out[k * 64 + i], image[i], accuracy: 1e-5) }
        }
        XCTAssertThrowsError(try editor.inpaint(image, mask: [1], sampler: RePaintSampler(), count: 1, seed: 1))

        let other = try EditInputs.image(Fixtures.image("gray8.png"), for: model)
        let row = try editor.interpolate(image, other, frames: 3, strength: 0.6, sampler: DDIMSampler(steps: 5), seed: 2)
        XCTAssertEqual(row.count, 3 * 64)
        XCTAssertTrue(row.allSatisfy(\.isFinite))
        XCTAssertNotEqual(Array(row[0..<64]), Array(row[128...]))
        XCTAssertThrowsError(try editor.interpolate(image, other, frames: 1, strength: 0.6, sampler: DDIMSampler(steps: 5), seed: 2)) {
            XCTAssertEqual("\($0)", "\(TrainingError.invalidSetting("--frames must be at least 2 (both ends), got 1"))")
        }
    }

    /// A class-conditional model edits with its guided denoiser: RePaint keeps the known pixels
    /// exactly (on cpu and opencl, which agree), image-to-image and interpolation follow the class,
    /// and a missing, unknown or superfluous class is refused.
    func testClassConditionalModelsEditWithAClass() throws {
        var config = ConditionalTrainingTests.configuration(steps: 2)
        config.training.numSamples = 0
        let run = try TinyRun.train(config, in: directory + "/cfg")
        let model = try SamplingModel(checkpoint: run.directory)
        let guidance = Guidance(scale: 3)
        let cpu = try ImageEditor(model: model, guidance: guidance, device: TinyRun.device("cpu"))
        let image = try EditInputs.image(Fixtures.image("rgb8.png"), for: model)
        let mask = try EditInputs.mask(Fixtures.image("gray8.png"), image: Fixtures.image("rgb8.png"), keeps: .white, for: model)
        let repaint = RePaintSampler(resampleIterations: 1, jumpLength: 3, resampleEvery: 25)
        let out = try cpu.inpaint(image, mask: mask, sampler: repaint, count: 2, seed: 1, classes: [3, 7])
        XCTAssertEqual(out.count, 2 * 64)
        XCTAssertTrue(out.allSatisfy(\.isFinite))
        for k in 0..<2 {
            for i in 0..<64 where mask[i] == 1 { XCTAssertEqual(out[k * 64 + i], image[i], accuracy: 1e-5) }
        }
        XCTAssertTrue((0..<64).contains { mask[$0] == 0 && out[$0] != image[$0] }, "the masked region is generated")
        let other = try cpu.inpaint(image, mask: mask, sampler: repaint, count: 2, seed: 1, classes: [3, 3])
        XCTAssertLessThan(zip(out[0..<64], other[0..<64]).map { abs($0 - $1) }.max()!, 1e-5, "the first completion's class and noise are unchanged")
        XCTAssertNotEqual(Array(out[64...]), Array(other[64...]), "the class steers the completion")
        let opencl = try ImageEditor(model: model, guidance: guidance, device: TinyRun.device("opencl"))
        let onOpenCL = try opencl.inpaint(image, mask: mask, sampler: repaint, count: 2, seed: 1, classes: [3, 7])
        XCTAssertLessThan(zip(out, onOpenCL).map { abs($0 - $1) }.max()!, 1e-3)

        let edited = try cpu.imageToImage(image, strength: 0.6, sampler: DDIMSampler(steps: 3), count: 2, seed: 4, classes: [5, 5])
        XCTAssertEqual(edited.count, 2 * 64)
        XCTAssertTrue(edited.allSatisfy(\.isFinite))
        XCTAssertNotEqual(edited, try cpu.imageToImage(image, strength: 0.6, sampler: DDIMSampler(steps: 3), count: 2, seed: 4, classes: [1, 1]))
        let second = try EditInputs.image(Fixtures.image("gray8.png"), for: model)
        let row = try cpu.interpolate(image, second, frames: 3, strength: 1, sampler: DDIMSampler(steps: 3), seed: 2, classes: [2, 2, 2])
        XCTAssertEqual(row.count, 3 * 64)
        XCTAssertTrue(row.allSatisfy(\.isFinite))

        func assertRefused(_ body: @autoclosure () throws -> [Float], mentioning text: String, line: UInt = #line) {
            XCTAssertThrowsError(try body(), line: line) { error in
                guard case let TrainingError.invalidSetting(message) = error else { return XCTFail("\(error)", line: line) }
                XCTAssertTrue(message.contains(text), message, line: line)
            }
        }
        assertRefused(try cpu.inpaint(image, mask: mask, sampler: repaint, count: 2, seed: 1),
                      mentioning: "is class-conditional: give the class of the images with --class C or --classes LIST "
                        + "(the model's classes are 0, 1, 2, 3, 4, 5, 6, 7, 8, 9)")
        assertRefused(try cpu.imageToImage(image, strength: 0.6, sampler: DDIMSampler(steps: 3), count: 2, seed: 4, classes: [5, 10]),
                      mentioning: "class 10 does not exist; the model's classes are 0, 1, 2, 3, 4, 5, 6, 7, 8, 9")
        assertRefused(try cpu.interpolate(image, second, frames: 3, strength: 1, sampler: DDIMSampler(steps: 3), seed: 2, classes: [2]),
                      mentioning: "needs one class per image (3), got 1")
        let plain = try ImageEditor(model: try self.model(), device: TinyRun.device("cpu"))
        let plainImage = try EditInputs.image(Fixtures.image("rgb8.png"), for: plain.model)
        assertRefused(try plain.imageToImage(plainImage, strength: 0.6, sampler: DDIMSampler(steps: 5), count: 1, seed: 4, classes: [1]),
                      mentioning: "classes (--class/--classes) were given but")
    }

    func testGridsAreEnlargedByNearestNeighbour() {
        let tiny = Image(width: 2, height: 1, channels: 1, pixels: [10, 200])
        XCTAssertEqual(tiny.enlarged(width: 4, height: 2).pixels, [10, 10, 200, 200, 10, 10, 200, 200])
        // Output pixel centres 0.5, 1.5, 2.5 of 3 fall in source pixels 0, 1, 1.
        XCTAssertEqual(tiny.enlarged(width: 3, height: 1).pixels, [10, 200, 200])
        let grid = Image(width: 82, height: 82, channels: 1, pixels: [UInt8](repeating: 7, count: 82 * 82))
        let viewed = grid.enlargedForViewing()
        XCTAssertEqual([viewed.width, viewed.height], [328, 328], "a 64-image grid of 8x8 digits")
        let big = Image(width: 300, height: 20, channels: 3, pixels: [UInt8](repeating: 1, count: 300 * 20 * 3))
        XCTAssertEqual(big.enlargedForViewing(), big)
    }

    func testChainStripStepsAreEvenlySpread() {
        XCTAssertEqual(ChainStrip.steps(count: 6, of: 10), [0, 2, 4, 5, 7, 9])
        XCTAssertEqual(ChainStrip.steps(count: 2, of: 50), [0, 49])
        XCTAssertEqual(ChainStrip.steps(count: 8, of: 3), [0, 1, 2])
    }
}
