import XCTest
@testable import Training

/// Cover-resize and centre-crop: Pillow-equal bilinear weights, antialiasing, no squashing.
final class ResizeTests: XCTestCase {
    private func gray(_ w: Int, _ h: Int, _ value: (Int, Int) -> Int) -> Image {
        var p: [UInt8] = []
        for y in 0..<h { for x in 0..<w { p.append(UInt8(value(x, y))) } }
        return Image(width: w, height: h, channels: 1, pixels: p)
    }

    func testSameSizeIsIdentity() throws {
        let image = try Image(contentsOf: Fixtures.image("rgb8.png"))
        XCTAssertEqual(image.resizedToCover(height: 12, width: 16), image)
    }

    func testDownscaleAveragesLikePillowBilinear() {
        // 4 → 2 with a triangle of half-width 2: weights .75, .75, .25 (normalised), as Pillow's reduce.
        let square = gray(4, 4) { x, _ in x < 2 ? 0 : 255 }.resizedToCover(height: 2, width: 2)
        XCTAssertEqual(square.pixels, [36, 219, 36, 219])
    }

    func testUpscaleIsBilinearWithEdgeClamp() {
        let up = gray(2, 2) { x, _ in x == 0 ? 0 : 255 }.resizedToCover(height: 4, width: 4)
        XCTAssertEqual(Array(up.pixels[0..<4]), [0, 64, 191, 255])
        XCTAssertEqual(Array(up.pixels[12..<16]), [0, 64, 191, 255])
    }

    func testWideImageIsCroppedNotSquashed() {
        // 30 wide, 10 high: left third 0, middle 100, right third 255 → a 10x10 target keeps the middle.
        let wide = gray(30, 10) { x, _ in x < 10 ? 0 : x < 20 ? 100 : 255 }
        XCTAssertEqual(wide.resizedToCover(height: 10, width: 10).pixels, [UInt8](repeating: 100, count: 100))
        // Downscaled to 5x5 the window is still the middle third; as in resize-then-crop, the
        // antialiasing filter at its edges reaches a quarter-weight into the neighbouring thirds:
        // (0·¼ + 100·(¾ + ¾ + ¼)) / 2 = 87.5 and (100·(¼ + ¾ + ¾) + 255·¼) / 2 = 119.4.
        let row: [UInt8] = [88, 100, 100, 100, 119]
        XCTAssertEqual(wide.resizedToCover(height: 5, width: 5).pixels, Array([[UInt8]](repeating: row, count: 5).joined()))
        // A tall image keeps its middle rows.
        let tall = gray(4, 12) { _, y in y < 4 ? 0 : y < 8 ? 77 : 255 }
        XCTAssertEqual(tall.resizedToCover(height: 4, width: 4).pixels, [UInt8](repeating: 77, count: 16))
    }

    func testNonSquareTargetsAndChannelsAreKept() throws {
        let image = try Image(contentsOf: Fixtures.image("rgba8.png"))   // 16x12
        let out = image.resizedToCover(height: 6, width: 8)
        XCTAssertEqual([out.width, out.height, out.channels], [8, 6, 4])
        // Cropping a 16x12 image to 12x12 keeps columns 2...13.
        let crop = try Image(contentsOf: Fixtures.image("gray8.png")).resizedToCover(height: 12, width: 12)
        XCTAssertEqual(Array(crop.pixels[0..<12]), (2...13).map { UInt8(Fixtures.gray($0, 0)) })
    }

    func testConstantImagesStayConstantAtAnyScale() {
        let flat = gray(37, 23) { _, _ in 123 }
        for (h, w) in [(8, 8), (64, 64), (10, 31), (23, 37), (5, 100)] {
            XCTAssertEqual(Set(flat.resizedToCover(height: h, width: w).pixels), [123], "\(h)x\(w)")
        }
    }

    func testGridLayout() {
        // 3 images of 2x2 gray with values 0.2, 0.5, 1 → 2 columns, 2 rows, 1-pixel padding.
        let batch: [Float] = [Float](repeating: 0.2, count: 4) + [Float](repeating: 0.5, count: 4) + [Float](repeating: 1, count: 4)
        let grid = ImageGrid.make(batch, count: 3, channels: 1, height: 2, width: 2, padding: 1)
        XCTAssertEqual([grid.width, grid.height], [7, 7])
        XCTAssertEqual(grid.pixels[1 * 7 + 1], 51)
        XCTAssertEqual(grid.pixels[1 * 7 + 4], 128)
        XCTAssertEqual(grid.pixels[4 * 7 + 1], 255)
        XCTAssertEqual(grid.pixels[4 * 7 + 4], 0, "the missing fourth tile is background")
        XCTAssertEqual(grid.pixels[0], 0, "padding")
    }
}
