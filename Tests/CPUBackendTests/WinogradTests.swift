import Devices
import XCTest
@testable import CPUBackend

/// The Winograd convolution paths of the fast device, F(2×2, 3×3) and F(4×4, 3×3), against the
/// reference loops: odd and tiny maps (edge tiles that reach past the image), maps whose tile
/// rows are whole vectors (the direct transforms), one-chunk batches (transforms and GEMMs spread
/// over the cores) and several chunks side by side (per-worker partial weight gradients), in all
/// three directions.
final class WinogradTests: XCTestCase {
    func testShapesTakeTheWinogradPath() {
        XCTAssertTrue(CPUFast.canUseWinograd(Conv2d(batch: 2, inChannels: 16, outChannels: 16, height: 8, width: 8, kernel: 3)))
        XCTAssertFalse(CPUFast.canUseWinograd(Conv2d(batch: 2, inChannels: 8, outChannels: 16, height: 8, width: 8, kernel: 3)))
        XCTAssertFalse(CPUFast.canUseWinograd(Conv2d(batch: 2, inChannels: 16, outChannels: 16, height: 8, width: 8, kernel: 1)))
        XCTAssertFalse(CPUFast.canUseWinograd(Conv2d(batch: 2, inChannels: 16, outChannels: 16, height: 8, width: 8,
                                                   kernel: 3, padding: 0)))
        // The device's own choice: im2col below 4×4 maps, F(2×2) at 4×4, F(4×4) from 8×8 up.
        guard case let .success(blas) = OpenBLAS.shared else { return XCTFail("OpenBLAS did not load") }
        let device = CPUFast(blas: blas)
        let small = Conv2d(batch: 16, inChannels: 512, outChannels: 512, height: 2, width: 2, kernel: 3)
        let bottom = Conv2d(batch: 16, inChannels: 512, outChannels: 512, height: 4, width: 4, kernel: 3)
        let middle = Conv2d(batch: 16, inChannels: 128, outChannels: 128, height: 8, width: 8, kernel: 3)
        XCTAssertFalse(device.usesWinograd(small))
        XCTAssertTrue(device.usesWinograd(bottom))
        XCTAssertFalse(device.usesLargeWinogradTiles(bottom))
        XCTAssertTrue(device.usesWinograd(middle))
        XCTAssertTrue(device.usesLargeWinogradTiles(middle))
    }

    func testWinogradMatchesReference() throws {
        guard case let .success(blas) = OpenBLAS.shared else { return XCTFail("OpenBLAS did not load") }
        // Every eligible shape through each tiling, however small its maps.
        let tilings = [
            ("F(2×2, 3×3)", CPUFast(blas: blas, winogradMinimumPixels: 0, winograd4x4MinimumPixels: .max)),
            ("F(4×4, 3×3)", CPUFast(blas: blas, winogradMinimumPixels: 0, winograd4x4MinimumPixels: 0)),
        ]
        let shapes = [
            // One chunk: 5×7 maps (odd in both directions), tiles 3×4 / 2×2.
            Conv2d(batch: 3, inChannels: 17, outChannels: 16, height: 5, width: 7, kernel: 3),
            // Maps smaller than a tile.
            Conv2d(batch: 2, inChannels: 16, outChannels: 18, height: 1, width: 1, kernel: 3),
            Conv2d(batch: 2, inChannels: 16, outChannels: 16, height: 2, width: 3, kernel: 3),
            // Several chunks side by side (31×33 maps: 16·17 or 8·9 tiles per image); with 4×4
            // tiles, 31 columns are 8 tiles, a whole vector, whose last outputs are dropped.
            Conv2d(batch: 9, inChannels: 17, outChannels: 16, height: 31, width: 33, kernel: 3),
            // 4×4 tiles whose rows are whole vectors, read and written directly (32 wide), in
            // chunks of 4 and 1 images.
            Conv2d(batch: 5, inChannels: 16, outChannels: 20, height: 12, width: 32, kernel: 3),
            Conv2d(batch: 3, inChannels: 24, outChannels: 16, height: 32, width: 64, kernel: 3),
        ]
        for (name, kernels) in tilings {
            for c in shapes {
                XCTAssertTrue(kernels.usesWinograd(c), "\(c)")
                for kernel in [Kernel.conv2d(c), .conv2dBackwardData(c), .conv2dBackwardWeight(c)] {
                    let inputs = makeInputs(for: kernel, seed: 5)
                    let fast = try runDirect(kernels, kernel, inputs)
                    let reference = try runKernel(kernel, on: TestDevices.reference, inputs: inputs)
                    for (index, spec) in kernel.operands.enumerated() where spec.access != .read {
                        let error = nmse(fast[index], reference[index])
                        XCTAssertLessThanOrEqual(error, 1e-10, "\(name) \(kernel.caseDescription): \(spec.name) NMSE \(error)")
                    }
                }
            }
        }
    }
}
