import XCTest
@testable import SafeTensors

/// Handcrafted files whose headers lie: each must be refused with an error that names the file
/// and, where there is one, the tensor, never a crash or an unbounded allocation.
final class SafeTensorsCorruptionTests: XCTestCase {
    /// A file made of an 8-byte length (default: the header's real length), a header and data.
    func file(_ header: String, data: [UInt8] = [], length: UInt64? = nil) -> [UInt8] {
        let h = Array(header.utf8)
        var out = [UInt8]()
        withUnsafeBytes(of: (length ?? UInt64(h.count)).littleEndian) { out.append(contentsOf: $0) }
        return out + h + data
    }

    func assertRejected(_ bytes: [UInt8], mentioning needles: [String],
                        file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try SafeTensorsFile(bytes: bytes, path: "bad.safetensors"), file: file, line: line) { error in
            let text = "\(error)"
            for needle in needles + ["bad.safetensors"] {
                XCTAssertTrue(text.contains(needle), "'\(text)' does not mention '\(needle)'", file: file, line: line)
            }
        }
    }

    let eight = [UInt8](repeating: 0, count: 8)

    func testTooShortForTheLength() {
        assertRejected([1, 2, 3], mentioning: ["shorter than the 8-byte"])
    }

    func testLengthLargerThanTheFile() {
        assertRejected(file("{}", length: 4096), mentioning: ["runs past the end"])
    }

    func testHugeLengthIsRefusedBeforeAnyAllocation() {
        assertRejected(file("{}", length: UInt64.max), mentioning: ["exceeds"])
        assertRejected(file("{}", length: 100_000_001), mentioning: ["exceeds"])
    }

    func testMalformedJSON() {
        assertRejected(file("{\"a\": {\"dtype\": \"F32\""), mentioning: ["malformed JSON"])
        assertRejected(file("[1, 2]"), mentioning: ["not an object"])
        assertRejected(file("{} trailing"), mentioning: ["malformed JSON"])
        assertRejected(file("{\"a\":1,\"a\":2}"), mentioning: ["duplicate key 'a'"])
        let deep = String(repeating: "[", count: 200) + String(repeating: "]", count: 200)
        assertRejected(file("{\"x\": \(deep)}"), mentioning: ["nesting deeper"])
        assertRejected(file("{\"x\": \"\u{01}\"}"), mentioning: ["control character"])
    }

    func testInvalidUTF8Header() {
        var bytes = file("{\"x\": \"ab\"}")
        bytes[bytes.count - 3] = 0xFF
        assertRejected(bytes, mentioning: ["UTF-8"])
    }

    func testUnknownDtype() {
        let h = "{\"w\":{\"dtype\":\"F8_E4M3\",\"shape\":[8],\"data_offsets\":[0,8]}}"
        assertRejected(file(h, data: eight), mentioning: ["'w'", "unknown or unsupported dtype 'F8_E4M3'"])
    }

    func testSizeNotEqualToDtypeTimesShape() {
        let h = "{\"w\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}"
        assertRejected(file(h, data: eight), mentioning: ["'w'", "needs 12"])
    }

    func testOverflowingShape() {
        let h = "{\"w\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296],\"data_offsets\":[0,8]}}"
        assertRejected(file(h, data: eight), mentioning: ["'w'", "overflow"])
    }

    func testNegativeOrFractionalDimensions() {
        assertRejected(file("{\"w\":{\"dtype\":\"U8\",\"shape\":[-8],\"data_offsets\":[0,8]}}", data: eight),
                       mentioning: ["'w'", "non-negative integer"])
        assertRejected(file("{\"w\":{\"dtype\":\"U8\",\"shape\":[8.0],\"data_offsets\":[0,8]}}", data: eight),
                       mentioning: ["'w'", "non-negative integer"])
        assertRejected(file("{\"w\":{\"dtype\":\"U8\",\"shape\":[true],\"data_offsets\":[0,8]}}", data: eight),
                       mentioning: ["'w'", "non-negative integer"])
    }

    func testOffsetsOutOfRange() {
        let h = "{\"w\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]}}"
        assertRejected(file(h, data: eight), mentioning: ["'w'", "run past the 8-byte data section"])
        let reversed = "{\"w\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[8,0]}}"
        assertRejected(file(reversed, data: eight), mentioning: ["'w'", "not an ordered range"])
        let missing = "{\"w\":{\"dtype\":\"F32\",\"shape\":[2]}}"
        assertRejected(file(missing, data: eight), mentioning: ["'w'", "data_offsets"])
    }

    func testOverlappingRanges() {
        let h = "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
            + "\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}"
        assertRejected(file(h, data: eight), mentioning: ["'b'", "overlap"])
    }

    func testHolesAndTrailingBytes() {
        let hole = "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}"
        assertRejected(file(hole, data: eight), mentioning: ["'a'", "hole"])
        let short = "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}"
        assertRejected(file(short, data: eight), mentioning: ["cover 4 bytes", "holds 8"])
    }

    func testUnexpectedFieldsAndBadMetadata() {
        let extra = "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8],\"x\":1}}"
        assertRejected(file(extra, data: eight), mentioning: ["'a'", "unexpected field 'x'"])
        assertRejected(file("{\"__metadata__\":{\"k\":3}}"), mentioning: ["__metadata__", "'k'"])
        assertRejected(file("{\"__metadata__\":[]}"), mentioning: ["__metadata__"])
        assertRejected(file("{\"a\":[]}"), mentioning: ["'a'", "not an object"])
    }

    func testTruncatedFileOnDisk() throws {
        let good = try SafeTensorsWriter.encode([SafeTensor(name: "w", shape: [4], floats: [1, 2, 3, 4])])
        let path = NSTemporaryDirectory() + "truncated-\(UUID().uuidString).safetensors"
        defer { try? FileManager.default.removeItem(atPath: path) }
        XCTAssertTrue(FileManager.default.createFile(atPath: path, contents: Data(good.dropLast(3))))
        XCTAssertThrowsError(try SafeTensorsFile(path: path)) { error in
            XCTAssertTrue("\(error)".contains(path) && "\(error)".contains("'w'"), "\(error)")
        }
        XCTAssertThrowsError(try SafeTensorsFile(path: path + ".missing")) { error in
            XCTAssertTrue("\(error)".contains("cannot open"), "\(error)")
        }
    }
}
