import Foundation
import XCTest
@testable import Training

/// Image folders, built-in datasets, data order and the background loader.
final class DatasetTests: XCTestCase {
    private var directory = ""

    override func setUp() { directory = Fixtures.temporaryDirectory("ddpm-datasets") }
    override func tearDown() { try? FileManager.default.removeItem(atPath: directory) }

    private func copy(_ fixture: String, to relative: String) throws {
        let destination = "\(directory)/\(relative)"
        try FileManager.default.createDirectory(atPath: (destination as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: Fixtures.image(fixture), toPath: destination)
    }

    func testFolderIsScannedRecursivelyCaseInsensitivelyAndSorted() throws {
        try copy("rgb8.png", to: "b/one.PNG")
        try copy("gray.jpg", to: "a/deep/er/two.JpG")
        try copy("rgb.jpg", to: "c.jpeg")
        try copy("rgba8.png", to: ".hidden.png")
        try copy("rgb8.png", to: "notes.txt")
        let data = try ImageFolderDataset(root: directory, channels: 3, height: 8, width: 8)
        XCTAssertEqual(data.files.map { String($0.dropFirst(directory.count + 1)) }, ["a/deep/er/two.JpG", "b/one.PNG", "c.jpeg"])
        let first = try data.image(at: 0)
        XCTAssertEqual([first.width, first.height, first.channels], [8, 8, 3])
        XCTAssertTrue(data.summary.contains("3 images"), data.summary)
    }

    func testFolderDecodedOnDemandWhenOverTheCacheBudget() throws {
        try copy("rgb8.png", to: "x.png")
        let cached = try ImageFolderDataset(root: directory, channels: 1, height: 6, width: 6)
        let lazy = try ImageFolderDataset(root: directory, channels: 1, height: 6, width: 6, cacheLimitBytes: 0)
        XCTAssertEqual(try cached.image(at: 0), try lazy.image(at: 0))
        XCTAssertTrue(lazy.summary.contains("on demand"))
    }

    func testFolderErrorsNameThePath() throws {
        XCTAssertThrowsError(try ImageFolderDataset(root: directory, channels: 3, height: 8, width: 8)) {
            XCTAssertEqual($0 as? DatasetError, .noImages(path: directory))
            XCTAssertTrue("\($0)".contains("no images found"))
        }
        XCTAssertThrowsError(try ImageFolderDataset(root: directory + "/nope", channels: 3, height: 8, width: 8)) {
            XCTAssertEqual($0 as? DatasetError, .notFound(path: directory + "/nope"))
        }
        try copy("rgb8.png", to: "file.png")
        XCTAssertThrowsError(try ImageFolderDataset(root: directory + "/file.png", channels: 3, height: 8, width: 8)) {
            XCTAssertTrue("\($0)".contains("not a folder"), "\($0)")
        }
        // A corrupt image is reported by path when the folder is opened (it fits the cache).
        let bad = "\(directory)/broken.png"
        let bytes = try XCTUnwrap(FileManager.default.contents(atPath: Fixtures.image("rgb8.png")))
        XCTAssertTrue(FileManager.default.createFile(atPath: bad, contents: bytes.prefix(40)))
        XCTAssertThrowsError(try ImageFolderDataset(root: directory, channels: 3, height: 8, width: 8)) {
            XCTAssertTrue("\($0)".hasPrefix(bad), "\($0)")
            XCTAssertTrue($0 is ImageError)
        }
        // Decoded on demand, the loader delivers the same error in place of the batch.
        let lazy = try ImageFolderDataset(root: directory, channels: 3, height: 8, width: 8, cacheLimitBytes: 0)
        let loader = BatchLoader(dataset: lazy, order: DataOrder(seed: 1, count: lazy.count, flips: false), batchSize: 2, firstBatch: 0)
        XCTAssertThrowsError(try loader.next()) { XCTAssertTrue("\($0)".hasPrefix(bad), "\($0)") }
    }

    func testTooFewImagesForOneBatchIsRefused() throws {
        try copy("rgb8.png", to: "only.png")
        var config = TinyRun.configuration(channels: 3, data: .folder(directory), batch: 4)
        config.training.steps = 1
        XCTAssertThrowsError(try Trainer(configuration: config, outputDirectory: directory + "/run", device: TinyRun.device())) {
            XCTAssertEqual($0 as? DatasetError, .tooFewImages(source: directory, count: 1, batchSize: 4))
            XCTAssertTrue("\($0)".contains("fewer than one batch of 4"), "\($0)")
        }
    }

    func testBuiltInDatasets() throws {
        let digits = try DigitsDataset(channels: 1, height: 8, width: 8)
        XCTAssertEqual(digits.count, 1797)
        XCTAssertEqual(DigitsData.labels.count, 1797)
        XCTAssertEqual(Set(DigitsData.labels), Set(0...9))
        // The first digit of the UCI set is a 0: a ring, dark in the middle, bright around it.
        let zero = try digits.image(at: 0).pixels
        XCTAssertEqual(DigitsData.labels[0], 0)
        XCTAssertLessThan(zero[3 * 8 + 3], 80)
        XCTAssertGreaterThan(zero[1 * 8 + 3], 150)
        XCTAssertEqual(try DigitsDataset(channels: 3, height: 16, width: 16).image(at: 5).pixels.count, 16 * 16 * 3)

        let shapes = try ShapesDataset(channels: 3, height: 16, width: 24)
        let a = try shapes.image(at: 42), b = try shapes.image(at: 42), c = try shapes.image(at: 43)
        XCTAssertEqual(a, b, "procedural images are reproducible")
        XCTAssertNotEqual(a, c)
        XCTAssertEqual([a.width, a.height, a.channels], [24, 16, 3])
        XCTAssertGreaterThan(Set(a.pixels).count, 4, "a shape on a background, with antialiased edges")
        XCTAssertThrowsError(try ShapesDataset(channels: 2, height: 8, width: 8))
    }

    func testDataOrderIsAReproduciblePermutationPerEpoch() {
        let order = DataOrder(seed: 9, count: 50, flips: true)
        let e0 = order.permutation(epoch: 0), e1 = order.permutation(epoch: 1)
        XCTAssertEqual(e0.sorted(), Array(0..<50))
        XCTAssertEqual(e1.sorted(), Array(0..<50))
        XCTAssertNotEqual(e0, e1)
        XCTAssertEqual(e0, DataOrder(seed: 9, count: 50, flips: true).permutation(epoch: 0))
        XCTAssertNotEqual(e0, DataOrder(seed: 10, count: 50, flips: true).permutation(epoch: 0))
        let flips = (0..<1000).filter { order.isFlipped(position: $0) }.count
        XCTAssertTrue((400...600).contains(flips), "about half are mirrored, got \(flips)")
        XCTAssertFalse((0..<100).contains { DataOrder(seed: 9, count: 50, flips: false).isFlipped(position: $0) })
    }

    func testLoaderDeliversTheStreamFromAnyBatchAcrossEpochs() throws {
        let shapes = try ShapesDataset(count: 5, channels: 1, height: 4, width: 4)
        let order = DataOrder(seed: 3, count: 5, flips: true)
        let loader = BatchLoader(dataset: shapes, order: order, batchSize: 3, firstBatch: 0)
        let stream = try (0..<4).map { _ in try loader.next() }
        XCTAssertEqual(stream.map(\.index), [0, 1, 2, 3])
        // Batch 2 (positions 6, 7, 8) lies wholly in epoch 1; a loader started there sees the same.
        let resumed = BatchLoader(dataset: shapes, order: order, batchSize: 3, firstBatch: 2)
        XCTAssertEqual(try resumed.next().values, stream[2].values)
        // Position 4 is the last image of epoch 0 and position 5 the first of epoch 1 (batch 1).
        let perm0 = order.permutation(epoch: 0), perm1 = order.permutation(epoch: 1)
        func sample(_ position: Int, _ index: Int) throws -> [Float] {
            var image = try shapes.image(at: index)
            if order.isFlipped(position: position) { image = image.flippedHorizontally() }
            return image.planarFloats()
        }
        XCTAssertEqual(Array(stream[1].values[0..<16]), try sample(3, perm0[3]))
        XCTAssertEqual(Array(stream[1].values[16..<32]), try sample(4, perm0[4]))
        XCTAssertEqual(Array(stream[1].values[32..<48]), try sample(5, perm1[0]))
        XCTAssertTrue(stream.allSatisfy { $0.values.allSatisfy { (0...1).contains($0) } })
    }

    func testDataSourceArgument() {
        XCTAssertEqual(DataSource(argument: nil), .shapes)
        XCTAssertEqual(DataSource(argument: "digits"), .digits)
        XCTAssertEqual(DataSource(argument: "./digits"), .folder("./digits"))
    }
}
