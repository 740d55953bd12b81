import XCTest
@testable import SafeTensors

final class SafeTensorsRoundTripTests: XCTestCase {
    var directory: String!

    override func setUpWithError() throws {
        directory = NSTemporaryDirectory() + "safetensors-tests-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(atPath: directory)
    }

    func testWriteThenReadKeepsEverything() throws {
        let path = directory + "/model.safetensors"
        let tensors = [
            SafeTensor(name: "b.weight", shape: [2, 3], floats: [1, -2, 3.5, 0, .infinity, -0.25]),
            SafeTensor(name: "a.steps", shape: [3], int64s: [0, -5, 1 << 40]),
            SafeTensor(name: "scalar", shape: [], int32s: [42]),
            SafeTensor(name: "empty", shape: [0, 4], floats: []),
            SafeTensor(name: "rng", shape: [4], uint32s: [1, 2, 3, .max]),
        ]
        let metadata = ["config": "{\"dim\": 64, \"note\": \"quote \\\" and newline \\n\"}", "step": "12"]
        try SafeTensorsWriter.write(tensors, metadata: metadata, to: path)
        let file = try SafeTensorsFile(path: path)
        XCTAssertEqual(file.metadata, metadata)
        XCTAssertEqual(file.names, ["b.weight", "a.steps", "scalar", "empty", "rng"])
        XCTAssertEqual(try file.floats("b.weight"), [1, -2, 3.5, 0, .infinity, -0.25])
        XCTAssertEqual(try file.info("b.weight").shape, [2, 3])
        XCTAssertEqual(try file.int64s("a.steps"), [0, -5, 1 << 40])
        XCTAssertEqual(try file.floats("a.steps"), [0, -5, Float(1 << 40)])
        XCTAssertEqual(try file.int32s("scalar"), [42])
        XCTAssertEqual(try file.info("scalar").shape, [])
        XCTAssertEqual(try file.floats("empty"), [])
        XCTAssertEqual(try file.int64s("rng"), [1, 2, 3, Int64(UInt32.max)])
        XCTAssertThrowsError(try file.int32s("a.steps")) { error in
            XCTAssertTrue("\(error)".contains("a.steps"), "\(error)")
        }
        XCTAssertThrowsError(try file.int64s("b.weight")) { error in
            XCTAssertEqual(error as? SafeTensorsError,
                           .unsupportedConversion(file: path, tensor: "b.weight", from: "F32", to: "Int64"))
        }
        XCTAssertThrowsError(try file.floats("missing")) { error in
            XCTAssertTrue("\(error)".contains("no tensor named 'missing'"), "\(error)")
        }
    }

    func testHeaderIsPaddedToEightBytesAndLittleEndian() throws {
        let bytes = try SafeTensorsWriter.encode([SafeTensor(name: "x", shape: [1], floats: [1])])
        let length = bytes[0..<8].enumerated().reduce(0) { $0 | Int($1.element) << (8 * $1.offset) }
        XCTAssertEqual(length % 8, 0)
        XCTAssertEqual(Array(bytes.suffix(4)), [0x00, 0x00, 0x80, 0x3F])
    }

    func testAtomicWriteReplacesAndLeavesNoTemporaryFiles() throws {
        let path = directory + "/ckpt.safetensors"
        try SafeTensorsWriter.write([SafeTensor(name: "v", shape: [1], floats: [1])], to: path)
        try SafeTensorsWriter.write([SafeTensor(name: "v", shape: [2], floats: [2, 3])], to: path)
        XCTAssertEqual(try SafeTensorsFile(path: path).floats("v"), [2, 3])
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: directory), ["ckpt.safetensors"])
    }

    func testWriteIntoMissingDirectoryNamesThePath() {
        let path = directory + "/no/such/dir/x.safetensors"
        XCTAssertThrowsError(try SafeTensorsWriter.write([], to: path)) { error in
            XCTAssertTrue("\(error)".contains("/no/such/dir/"), "\(error)")
        }
    }

    func testWriterRefusesInconsistentTensors() {
        XCTAssertThrowsError(try SafeTensorsWriter.encode([SafeTensor(name: "w", dtype: .f32, shape: [3], bytes: [0, 0, 0, 0])])) {
            XCTAssertTrue("\($0)".contains("'w'"), "\($0)")
        }
        let t = SafeTensor(name: "d", shape: [1], floats: [0])
        XCTAssertThrowsError(try SafeTensorsWriter.encode([t, t])) { XCTAssertTrue("\($0)".contains("twice"), "\($0)") }
        XCTAssertThrowsError(try SafeTensorsWriter.encode([SafeTensor(name: "__metadata__", shape: [1], floats: [0])]))
    }

    func testConversionsFromHalfBFloatDoubleAndIntegers() throws {
        // F16: 1.0, -2.0, 65504 (max), smallest subnormal 2^-24, +inf.
        let f16: [UInt16] = [0x3C00, 0xC000, 0x7BFF, 0x0001, 0x7C00]
        // BF16: 1.0, -0.5, 3.140625.
        let bf16: [UInt16] = [0x3F80, 0xBF00, 0x4049]
        let f64: [UInt64] = [Double(0.1).bitPattern, Double(-1e300).bitPattern]
        let bytes = try SafeTensorsWriter.encode([
            SafeTensor(name: "h", dtype: .f16, shape: [5], bytes: SafeTensor.littleEndianBytes(f16)),
            SafeTensor(name: "bf", dtype: .bf16, shape: [3], bytes: SafeTensor.littleEndianBytes(bf16)),
            SafeTensor(name: "d", dtype: .f64, shape: [2], bytes: SafeTensor.littleEndianBytes(f64)),
            SafeTensor(name: "u8", dtype: .u8, shape: [3], bytes: [0, 7, 255]),
            SafeTensor(name: "i8", dtype: .i8, shape: [2], bytes: [0xFF, 0x80]),
            SafeTensor(name: "flag", dtype: .bool, shape: [2], bytes: [1, 0]),
        ])
        let file = try SafeTensorsFile(bytes: bytes, path: "mem")
        XCTAssertEqual(try file.floats("h"), [1, -2, 65504, 0x1p-24, .infinity])
        XCTAssertEqual(try file.floats("bf"), [1, -0.5, 3.140625])
        XCTAssertEqual(try file.floats("d"), [Float(0.1), -.infinity])
        XCTAssertEqual(try file.floats("u8"), [0, 7, 255])
        XCTAssertEqual(try file.int64s("i8"), [-1, -128])
        XCTAssertEqual(try file.int64s("flag"), [1, 0])
    }

    func testReadsTheShippedGoldenFile() throws {
        let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fixtures/golden/tiny/io.safetensors").path
        let file = try SafeTensorsFile(path: fixtures)
        XCTAssertEqual(try file.info("unet.x").shape, [2, 3, 16, 16])
        XCTAssertEqual(try file.info("unet.t").dtype, .i64)
        XCTAssertEqual(try file.floats("schedule.linear.betas").first, 1e-4)
    }
}
