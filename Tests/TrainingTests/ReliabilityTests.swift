import Diffusion
import Foundation
import Graph
import SafeTensors
import XCTest
@testable import Training

/// Issue 15, in process: hostile files, sizes and faults each give the one error that names the
/// file, setting or limit (docs/reliability.md).
final class ReliabilityTests: XCTestCase {
    private var directory = ""
    override func setUp() { directory = Fixtures.temporaryDirectory("ddpm-reliability") }
    override func tearDown() { try? FileManager.default.removeItem(atPath: directory) }

    private func write(_ name: String, _ bytes: [UInt8]) -> String {
        let path = "\(directory)/\(name)"
        XCTAssertTrue(FileManager.default.createFile(atPath: path, contents: Data(bytes)))
        return path
    }

    /// A sparse file of `size` bytes starting with `prefix` (costs no disk space).
    private func sparse(_ name: String, size: Int, prefix: [UInt8] = []) throws -> String {
        let path = write(name, prefix)
        let fd = open(path, O_WRONLY)
        defer { close(fd) }
        XCTAssertEqual(ftruncate(fd, off_t(size)), 0, "sparse file \(path)")
        return path
    }

    private func fifo(_ name: String) -> String {
        let path = "\(directory)/\(name)"
        XCTAssertEqual(mkfifo(path, 0o600), 0)
        return path
    }

    /// Peak resident memory of this process so far, in bytes.
    private var peakRSS: Int {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        return usage.ru_maxrss * 1024
    }

    // MARK: - Images (item 3, 8)

    /// The rgb.jpg fixture with its frame header claiming `width` x `height`.
    private func jpeg(claiming width: Int, _ height: Int) throws -> [UInt8] {
        var bytes = try XCTUnwrap(FileManager.default.contents(atPath: Fixtures.image("rgb.jpg"))).map { $0 }
        let sof = try XCTUnwrap((2..<(bytes.count - 9)).first { bytes[$0] == 0xFF && (bytes[$0 + 1] == 0xC0 || bytes[$0 + 1] == 0xC2) })
        bytes[sof + 5] = UInt8(height >> 8); bytes[sof + 6] = UInt8(height & 0xFF)
        bytes[sof + 7] = UInt8(width >> 8); bytes[sof + 8] = UInt8(width & 0xFF)
        return bytes
    }

    func testJPEGClaimingHugeDimensionsIsRefusedBeforeDecoding() throws {
        let before = peakRSS
        let path = write("huge.jpg", try jpeg(claiming: 40000, 40000))
        XCTAssertThrowsError(try Image(contentsOf: path)) { error in
            guard case let ImageError.tooLarge(p, reason) = error else { return XCTFail("expected tooLarge, got \(error)") }
            XCTAssertEqual(p, path)
            XCTAssertTrue(reason.contains("40000x40000 pixels x 3 channels"), reason)
            XCTAssertTrue(reason.contains("256 MiB limit"), reason)
        }
        XCTAssertLessThan(peakRSS - before, 64 << 20, "nothing was allocated for the claimed pixels")
    }

    func testCorruptJPEGScanIsAnErrorNotGrayPadding() throws {
        var bytes = try XCTUnwrap(FileManager.default.contents(atPath: Fixtures.image("rgb.jpg"))).map { $0 }
        let sos = try XCTUnwrap((2..<(bytes.count - 1)).first { bytes[$0] == 0xFF && bytes[$0 + 1] == 0xDA })
        // A marker (RST7 out of sequence) in the middle of the entropy-coded data.
        let middle = (sos + bytes.count) / 2
        bytes[middle] = 0xFF
        bytes[middle + 1] = 0xD7
        let path = write("corrupt-scan.jpg", bytes)
        XCTAssertThrowsError(try Image(contentsOf: path)) { error in
            guard case let ImageError.corrupt(p, reason) = error else { return XCTFail("expected corrupt, got \(error)") }
            XCTAssertEqual(p, path)
            XCTAssertTrue(reason.contains("corrupt scan data") || reason.contains("Corrupt JPEG"), reason)
        }
    }

    func testPNGChunkClaimingGigabytesDoesNotAllocateThem() throws {
        let before = peakRSS
        let png = try XCTUnwrap(FileManager.default.contents(atPath: Fixtures.image("rgb8.png"))).map { $0 }
        // Signature + IHDR (8 + 25 bytes), then an iTXt chunk whose length says 2 GiB.
        var bytes = Array(png[0..<33])
        bytes += [0x7F, 0xFF, 0xFF, 0xF0] + Array("iTXt".utf8) + [UInt8](repeating: 0x41, count: 20)
        let path = write("chunk.png", bytes)
        XCTAssertThrowsError(try Image(contentsOf: path)) { error in
            guard case let ImageError.corrupt(p, reason) = error else { return XCTFail("expected corrupt, got \(error)") }
            XCTAssertEqual(p, path)
            XCTAssertTrue(reason.hasPrefix("PNG: "), reason)
        }
        XCTAssertLessThan(peakRSS - before, 64 << 20, "the chunk length was not allocated")
    }

    func testPNGClaimingTooManyPixelsIsTooLarge() throws {
        var png = try XCTUnwrap(FileManager.default.contents(atPath: Fixtures.image("rgb8.png"))).map { $0 }
        // IHDR width and height (bytes 16..23) set to 60000 x 60000, CRC fixed.
        for (offset, value) in [(16, 60000), (20, 60000)] {
            for k in 0..<4 { png[offset + k] = UInt8((value >> (8 * (3 - k))) & 0xFF) }
        }
        var crc = CRC32()
        crc.update(png[12..<29])
        for k in 0..<4 { png[29 + k] = UInt8((crc.value >> (8 * (3 - UInt32(k)))) & 0xFF) }
        let path = write("wide.png", png)
        XCTAssertThrowsError(try Image(contentsOf: path)) { error in
            guard case let ImageError.tooLarge(_, reason) = error else { return XCTFail("expected tooLarge, got \(error)") }
            XCTAssertTrue(reason.contains("60000x60000 pixels"), reason)
        }
    }

    func testHugeSparseImageFileIsRefusedBeforeReading() throws {
        let path = try sparse("sparse.png", size: 3 << 30, prefix: [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A])
        let before = peakRSS
        XCTAssertThrowsError(try Image(contentsOf: path)) { error in
            guard case let ImageError.tooLarge(p, reason) = error else { return XCTFail("expected tooLarge, got \(error)") }
            XCTAssertEqual(p, path)
            XCTAssertTrue(reason.contains("3.0 GiB, more than the 256.0 MiB limit for an image file"), reason)
        }
        XCTAssertLessThan(peakRSS - before, 64 << 20)
    }

    func testFIFONamedLikeAnImageIsRefusedWithoutBlocking() throws {
        let path = fifo("pipe.png")
        XCTAssertThrowsError(try Image(contentsOf: path)) { error in
            guard case let ImageError.unreadable(p, reason) = error else { return XCTFail("expected unreadable, got \(error)") }
            XCTAssertEqual(p, path)
            XCTAssertTrue(reason.contains("not a regular file (a FIFO)"), reason)
        }
    }

    // MARK: - Checkpoints and safetensors files (items 6, 8, 9)

    func testFIFOAndSparseCheckpointsAreRefusedQuickly() throws {
        let pipe = fifo("checkpoint-00000001.safetensors")
        XCTAssertThrowsError(try Checkpoint(contentsOf: pipe)) { error in
            guard case let CheckpointError.damaged(p, reason) = error else { return XCTFail("expected damaged, got \(error)") }
            XCTAssertEqual(p, pipe)
            XCTAssertTrue(reason.contains("not a regular file (a FIFO)"), reason)
        }
        // 1 TiB, sparse, with a valid header whose one tensor covers the whole data section.
        let size = 1 << 40
        var header = Array("{\"x\":{\"dtype\":\"U8\",\"shape\":[N],\"data_offsets\":[0,N]}}".utf8)
        let length = header.count + 40
        let data = size - 8 - length
        header = Array(String(decoding: header, as: UTF8.self).replacingOccurrences(of: "N", with: "\(data)").utf8)
        header += [UInt8](repeating: 0x20, count: length - header.count)
        var prefix = [UInt8]()
        withUnsafeBytes(of: UInt64(length).littleEndian) { prefix += $0 }
        let huge = try sparse("huge.safetensors", size: size, prefix: prefix + header)
        let before = peakRSS
        XCTAssertThrowsError(try SafeTensorsFile(path: huge)) { error in
            guard case let SafeTensorsError.invalidHeader(p, reason) = error else { return XCTFail("expected invalidHeader, got \(error)") }
            XCTAssertEqual(p, huge)
            XCTAssertTrue(reason.contains("the data section holds 1024.0 GiB, more than the"), reason)
        }
        // 3 GiB of zeros: a header length of 0 that leaves 3 GiB of data no tensor covers.
        let zeros = try sparse("zeros.safetensors", size: 3 << 30)
        XCTAssertThrowsError(try SafeTensorsFile(path: zeros)) { error in
            guard case SafeTensorsError.invalidHeader = error else { return XCTFail("expected invalidHeader, got \(error)") }
        }
        XCTAssertLessThan(peakRSS - before, 64 << 20, "headers are checked before the data section is read")
    }

    /// A checkpoint of a tiny run, with `edit` applied to its tensors before it is written back.
    private func editedCheckpoint(_ edit: (inout [SafeTensor]) -> Void) throws -> String {
        let run = try TinyRun.train(TinyRun.configuration(steps: 2), in: directory + "/run")
        let path = try XCTUnwrap(CheckpointDirectory(path: run.directory).newest).path
        let file = try SafeTensorsFile(path: path)
        var tensors = try file.tensors.map { SafeTensor(name: $0.name, dtype: $0.dtype, shape: $0.shape, bytes: try file.bytes($0.name)) }
        edit(&tensors)
        let edited = directory + "/edited.safetensors"
        try SafeTensorsWriter.write(tensors, metadata: file.metadata, to: edited)
        return edited
    }

    func testCheckpointStepBeyondTheLimitIsDamagedNotATrap() throws {
        let path = try editedCheckpoint { tensors in
            let i = tensors.firstIndex { $0.name == "training.step" }!
            tensors[i] = SafeTensor(name: "training.step", shape: [1], int64s: [Int64.max])
        }
        XCTAssertThrowsError(try Checkpoint(contentsOf: path)) { error in
            guard case let CheckpointError.damaged(_, reason) = error else { return XCTFail("expected damaged, got \(error)") }
            XCTAssertTrue(reason.contains("training.step is 9223372036854775807, more than the limit of 1000000000"), reason)
        }
    }

    func testNaNWeightsGiveAnErrorNamingTheSamplingStep() throws {
        let path = try editedCheckpoint { tensors in
            for i in tensors.indices where tensors[i].name.hasPrefix("ema.") && tensors[i].dtype == .f32 {
                tensors[i] = SafeTensor(name: tensors[i].name, shape: tensors[i].shape,
                                        floats: [Float](repeating: .nan, count: tensors[i].shape.reduce(1, *)))
            }
        }
        let model = try SamplingModel(checkpoint: path)
        let generator = try SampleGenerator(model: model, device: try TinyRun.device())
        var written = 0
        XCTAssertThrowsError(try generator.generate(count: 4, batchSize: 2, seed: 1, eachBatch: { _, _ in written += 1 })) { error in
            guard case let TrainingError.nonFiniteSamples(message) = error else { return XCTFail("expected nonFiniteSamples, got \(error)") }
            XCTAssertTrue(message.contains("images 1-2 of 4 (batch 0)"), message)
            XCTAssertTrue(message.contains("at sampling step 1 of 5"), message)
        }
        XCTAssertEqual(written, 0, "nothing non-finite is handed out")
    }

    // MARK: - Options and configurations (items 6, 7)

    func testHugeConfigurationValuesAreRefusedNamingTheLimit() throws {
        func assertRefused(_ unet: [String: Any], _ text: String, file: StaticString = #filePath, line: UInt = #line) {
            XCTAssertThrowsError(try Unet(UnetConfiguration(json: unet)), file: file, line: line) { error in
                guard case let DiffusionError.invalidConfiguration(message) = error else {
                    return XCTFail("expected invalidConfiguration, got \(error)", file: file, line: line)
                }
                XCTAssertTrue(message.contains(text), "expected '\(text)' in: \(message)", file: file, line: line)
            }
        }
        let big = 1 << 62
        assertRefused(["dim": 1_000_000_000], "unet: dim is 1000000000, more than the limit of 4096")
        assertRefused(["dim": 64, "dim_mults": Array(repeating: 1, count: 70)], "(stages) is 70, more than the limit of 8")
        assertRefused(["dim": 64, "dim_mults": [1, big]], "dim x dim_mults entry (64 x \(big))")
        assertRefused(["dim": 64, "attn_heads": big], "attn_heads is \(big)")
        assertRefused(["dim": 64, "init_dim": big], "init_dim is \(big)")
        assertRefused(["dim": 4096, "dim_mults": [4, 4, 4, 4]], "parameters, more than the limit of 1073741824")
        XCTAssertThrowsError(try DiffusionConfiguration(json: ["image_size": big])) {
            XCTAssertTrue("\($0)".contains("image_size (height) is \(big), more than the limit of 4096"), "\($0)")
        }
        XCTAssertThrowsError(try DiffusionConfiguration(json: ["image_size": 32, "timesteps": 100_000_000])) {
            XCTAssertTrue("\($0)".contains("timesteps is 100000000, more than the limit of 100000"), "\($0)")
        }
        var settings = TrainingConfiguration()
        settings.gradientAccumulation = 1_000_000_000
        XCTAssertThrowsError(try settings.validate()) {
            XCTAssertEqual($0 as? TrainingError, .invalidSetting("--grad-accum is 1000000000, more than the limit of 4096"))
        }
        var c = TinyRun.configuration()
        c.training.batchSize = 4096
        c.training.gradientAccumulation = 4096
        (c.diffusion.imageHeight, c.diffusion.imageWidth) = (64, 64)
        XCTAssertThrowsError(try c.validate()) {
            guard case let TrainingError.invalidSetting(message) = $0 else { return XCTFail("\($0)") }
            XCTAssertTrue(message.contains("bytes per step, more than the limit of 4294967296"), message)
        }
    }

    // MARK: - The output folder (items 1, 4, 9)

    func testSecondTrainerOnOneFolderIsRefusedNamingTheHolder() throws {
        let c = TinyRun.configuration(steps: 2)
        let first = try Trainer(configuration: c, outputDirectory: directory, device: try TinyRun.device())
        XCTAssertThrowsError(try Trainer(configuration: c, outputDirectory: directory, device: try TinyRun.device())) {
            XCTAssertEqual($0 as? TrainingError, .outputLocked(directory: directory, holder: getpid()))
            XCTAssertTrue("\($0)".contains("is in use by another ddpm train (pid \(getpid()))"), "\($0)")
        }
        _ = try first.run()
        withExtendedLifetime(first) {}
    }

    func testResumeFallsBackToTheNewestIntactCheckpointAndCleansTemporaries() throws {
        var c = TinyRun.configuration(steps: 6)
        c.training.saveEvery = 2
        let run = try TinyRun.train(c, in: directory)
        let newest = try XCTUnwrap(CheckpointDirectory(path: run.directory).newest)
        XCTAssertEqual(newest.step, 6)
        // Damage the newest; leave a temporary file of a writer that is gone.
        let bytes = try XCTUnwrap(FileManager.default.contents(atPath: newest.path))
        try bytes.prefix(bytes.count / 2).write(to: URL(fileURLWithPath: newest.path))
        let gone = Process()
        gone.executableURL = URL(fileURLWithPath: "/bin/true")
        try gone.run()
        gone.waitUntilExit()
        let stale = write(".checkpoint-00000008.safetensors.tmp-\(gone.processIdentifier)-12345", [1, 2, 3])
        let model = try SamplingModel(checkpoint: directory)
        XCTAssertTrue(model.origin.hasSuffix("(EMA weights, step 4; skipped 1 damaged newer checkpoint)"), model.origin)
        c.training.steps = 8
        let trainer = try Trainer(configuration: c, outputDirectory: directory, device: try TinyRun.device(), resume: true)
        XCTAssertEqual(trainer.completedSteps, 4, "resumed from the intact checkpoint of step 4")
        XCTAssertEqual(trainer.lastCheckpoint, "\(directory)/\(Checkpoint.fileName(step: 4))")
        XCTAssertTrue(trainer.startLines.contains { $0.hasPrefix("skipped \(newest.path): damaged checkpoint") }, "\(trainer.startLines)")
        XCTAssertTrue(trainer.startLines.contains("removed \(stale), left by an interrupted write"), "\(trainer.startLines)")
        XCTAssertFalse(FileManager.default.fileExists(atPath: stale))
        XCTAssertEqual(try trainer.run(), .completed(step: 8, checkpoint: "\(directory)/\(Checkpoint.fileName(step: 8))"))
    }

    func testFullDiskWhileLoggingStillWritesTheCheckpoint() throws {
        let c = TinyRun.configuration(steps: 50)
        let trainer = try Trainer(configuration: c, outputDirectory: directory, device: try TinyRun.device())
        // From now on every metrics write fails as on a full disk (ENOSPC).
        let full = open("/dev/full", O_WRONLY)
        XCTAssertGreaterThanOrEqual(full, 0)
        XCTAssertEqual(dup2(full, trainer.metrics!.fd), trainer.metrics!.fd)
        close(full)
        XCTAssertThrowsError(try trainer.run()) { error in
            guard case let TrainingError.io(path, reason) = error else { return XCTFail("expected io, got \(error)") }
            XCTAssertEqual(path, "\(directory)/metrics.jsonl")
            XCTAssertTrue(reason.contains("cannot write the metrics log at step "), reason)
            XCTAssertTrue(reason.contains(": No space left on device; checkpoint \(directory)/\(Checkpoint.fileName(step: trainer.completedSteps)) "
                + "holds step \(trainer.completedSteps)"), reason)
        }
        XCTAssertGreaterThanOrEqual(trainer.completedSteps, 1)
        XCTAssertLessThan(trainer.completedSteps, 50, "the run stopped at the failure")
        let saved = "\(directory)/\(Checkpoint.fileName(step: trainer.completedSteps))"
        XCTAssertEqual(try Checkpoint(contentsOf: saved).step, trainer.completedSteps, "nothing trained is lost")
        XCTAssertFalse(FileManager.default.fileExists(atPath: trainer.reservePath), "the reserve is released")
    }

    func testRegularFileReadsAndWritesNameTheFailure() throws {
        XCTAssertThrowsError(try RegularFile.read(directory, limit: 10, what: "x")) {
            XCTAssertEqual($0 as? FileAccessError, FileAccessError(path: directory, operation: "read", reason: "not a regular file (a directory)"))
        }
        let full = open("/dev/full", O_WRONLY)
        defer { close(full) }
        XCTAssertThrowsError(try RegularFile.writeAll([1, 2, 3], to: full, path: "/dev/full")) {
            XCTAssertEqual($0 as? FileAccessError, FileAccessError(path: "/dev/full", operation: "write", reason: "No space left on device"))
        }
    }
}

/// CRC-32 (PNG's chunk checksum), for editing PNG fixtures.
struct CRC32 {
    private(set) var value: UInt32 = 0
    mutating func update<S: Sequence>(_ bytes: S) where S.Element == UInt8 {
        var c = ~value
        for b in bytes {
            c ^= UInt32(b)
            for _ in 0..<8 { c = (c >> 1) ^ (0xEDB8_8320 & (0 &- (c & 1))) }
        }
        value = ~c
    }
}
