import Foundation
import XCTest
@testable import Training

/// Decoding of the PNG/JPEG fixtures, PNG writing, and the errors for bad files.
final class ImageCodecTests: XCTestCase {
    private func expected(_ channels: Int, _ sample: (Int, Int, Int) -> Int) -> [UInt8] {
        var out: [UInt8] = []
        for y in 0..<Fixtures.height {
            for x in 0..<Fixtures.width {
                for k in 0..<channels { out.append(UInt8(sample(x, y, k))) }
            }
        }
        return out
    }

    private func rgb(_ x: Int, _ y: Int, _ k: Int) -> Int {
        [Fixtures.r(x, y), Fixtures.g(x, y), Fixtures.b(x, y)][k]
    }

    func testPNGGrayRGBAndRGBADecodeExactly() throws {
        let gray = try Image(contentsOf: Fixtures.image("gray8.png"))
        XCTAssertEqual([gray.width, gray.height, gray.channels], [16, 12, 1])
        XCTAssertEqual(gray.pixels, expected(1) { x, y, _ in Fixtures.gray(x, y) })

        let ga = try Image(contentsOf: Fixtures.image("gray_alpha.png"))
        XCTAssertEqual(ga.channels, 2)
        XCTAssertEqual(ga.pixels, expected(2) { x, y, k in k == 0 ? Fixtures.gray(x, y) : Fixtures.a(x, y) })

        let color = try Image(contentsOf: Fixtures.image("rgb8.png"))
        XCTAssertEqual(color.channels, 3)
        XCTAssertEqual(color.pixels, expected(3, rgb))

        let rgba = try Image(contentsOf: Fixtures.image("rgba8.png"))
        XCTAssertEqual(rgba.channels, 4)
        XCTAssertEqual(rgba.pixels, expected(4) { x, y, k in k == 3 ? Fixtures.a(x, y) : self.rgb(x, y, k) })
    }

    func testPNGVariantsAreConvertedTo8Bit() throws {
        // 16-bit samples v·257 scale back to exactly v.
        XCTAssertEqual(try Image(contentsOf: Fixtures.image("rgb16.png")).pixels, expected(3, rgb))
        // Adam7 interlacing is undone.
        XCTAssertEqual(try Image(contentsOf: Fixtures.image("rgb_interlaced.png")).pixels, expected(3, rgb))
        // 1-bit gray expands to 0 / 255.
        let bits = try Image(contentsOf: Fixtures.image("gray1.png"))
        XCTAssertEqual(bits.pixels, expected(1) { x, y, _ in (x + y) % 2 == 0 ? 0 : 255 })
        // Palette indices become RGB; with tRNS, RGBA.
        let palette: [[Int]] = [[255, 0, 0], [0, 255, 0], [0, 0, 255], [250, 200, 10]]
        let alpha = [255, 128, 0, 255]
        func index(_ x: Int, _ y: Int) -> Int { (x / 4 + y / 3) % 4 }
        XCTAssertEqual(try Image(contentsOf: Fixtures.image("palette.png")).pixels,
                       expected(3) { x, y, k in palette[index(x, y)][k] })
        let trns = try Image(contentsOf: Fixtures.image("palette_trns.png"))
        XCTAssertEqual(trns.channels, 4)
        XCTAssertEqual(trns.pixels, expected(4) { x, y, k in k == 3 ? alpha[index(x, y)] : palette[index(x, y)][k] })
    }

    func testJPEGGrayRGBAndProgressiveDecodeClosely() throws {
        func assertClose(_ image: Image, _ reference: [UInt8], file: StaticString = #filePath, line: UInt = #line) {
            XCTAssertEqual(image.pixels.count, reference.count, file: file, line: line)
            let diffs = zip(image.pixels, reference).map { abs(Int($0) - Int($1)) }
            XCTAssertLessThanOrEqual(diffs.max() ?? 0, 12, "JPEG at quality 98 should stay close", file: file, line: line)
            XCTAssertLessThan(Double(diffs.reduce(0, +)) / Double(diffs.count), 2.5, file: file, line: line)
        }
        let gray = try Image(contentsOf: Fixtures.image("gray.jpg"))
        XCTAssertEqual([gray.width, gray.height, gray.channels], [16, 12, 1])
        assertClose(gray, expected(1) { x, y, _ in Fixtures.gray(x, y) })
        for name in ["rgb.jpg", "rgb_progressive.jpg"] {
            let color = try Image(contentsOf: Fixtures.image(name))
            XCTAssertEqual([color.width, color.height, color.channels], [16, 12, 3], name)
            assertClose(color, expected(3, rgb))
        }
    }

    func testChannelConversionFollowsPillow() throws {
        let rgba = try Image(contentsOf: Fixtures.image("rgba8.png"))
        let rgbFromRGBA = rgba.converted(toChannels: 3)
        XCTAssertEqual(rgbFromRGBA.pixels, expected(3, rgb), "alpha is dropped")
        let gray = rgbFromRGBA.converted(toChannels: 1)
        // Pillow's L for (255, 0, 0) is 76, for (0, 255, 0) 150, for (0, 0, 255) 29.
        XCTAssertEqual(Image(width: 3, height: 1, channels: 3, pixels: [255, 0, 0, 0, 255, 0, 0, 0, 255])
            .converted(toChannels: 1).pixels, [76, 150, 29])
        XCTAssertEqual(gray.channels, 1)
        let back = try Image(contentsOf: Fixtures.image("gray8.png")).converted(toChannels: 3)
        XCTAssertEqual(back.pixels, expected(3) { x, y, _ in Fixtures.gray(x, y) }, "gray is replicated")
        XCTAssertEqual(back.converted(toChannels: 4).pixels, expected(4) { x, y, k in k == 3 ? 255 : Fixtures.gray(x, y) })
    }

    func testPNGRoundTripOfEveryChannelCount() throws {
        let dir = Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        for c in 1...4 {
            let pixels = (0..<(7 * 5 * c)).map { UInt8(($0 * 37) % 256) }
            let image = Image(width: 7, height: 5, channels: c, pixels: pixels)
            let path = "\(dir)/round-\(c).png"
            try image.writePNG(to: path)
            XCTAssertEqual(try Image(contentsOf: path), image, "\(c) channels")
        }
    }

    func testFloatPlanesRoundTripAndClamp() {
        let image = Image(planarFloats: [0, 0.5, 1, -3, 2, .nan], channels: 2, height: 1, width: 3)
        XCTAssertEqual(image.pixels, [0, 0, 128, 255, 255, 0])
        XCTAssertEqual(image.planarFloats(), [0, 128.0 / 255, 1, 0, 1, 0])
    }

    func testCorruptTruncatedAndForeignFilesNameTheFile() throws {
        let dir = Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        func write(_ name: String, _ bytes: [UInt8]) -> String {
            let path = "\(dir)/\(name)"
            XCTAssertTrue(FileManager.default.createFile(atPath: path, contents: Data(bytes)))
            return path
        }
        func assertError(_ path: String, contains text: String, file: StaticString = #filePath, line: UInt = #line) {
            XCTAssertThrowsError(try Image(contentsOf: path), file: file, line: line) { error in
                let message = "\(error)"
                XCTAssertTrue(message.hasPrefix(path), "the message names the file: \(message)", file: file, line: line)
                XCTAssertTrue(message.contains(text), "expected '\(text)' in: \(message)", file: file, line: line)
            }
        }
        let png = try XCTUnwrap(FileManager.default.contents(atPath: Fixtures.image("rgb_interlaced.png"))).map { $0 }
        let jpeg = try XCTUnwrap(FileManager.default.contents(atPath: Fixtures.image("rgb.jpg"))).map { $0 }

        assertError(write("cut.png", Array(png.prefix(png.count - 30))), contains: "truncated")
        var flipped = png
        flipped[60] ^= 0xFF  // inside the compressed data: a CRC or zlib error
        assertError(write("flipped.png", flipped), contains: "corrupt")
        assertError(write("cut-scan.jpg", Array(jpeg.prefix(jpeg.count - 100))), contains: "truncated")
        assertError(write("cut-header.jpg", Array(jpeg.prefix(jpeg.count / 2))), contains: "truncated")
        var garbled = jpeg
        for i in 3..<40 { garbled[i] = 0x5A }  // the first marker segment after SOI
        assertError(write("garbled.jpg", garbled), contains: "corrupt")
        assertError(write("empty.png", []), contains: "empty")
        assertError(write("text.png", Array("hello, not an image".utf8)), contains: "not a PNG or JPEG")
        assertError("\(dir)/missing.png", contains: "No such file")
        XCTAssertThrowsError(try Image(contentsOf: dir)) { XCTAssertTrue("\($0)".contains("directory"), "\($0)") }
    }
}
