import Devices
import XCTest
@testable import CPUBackend

/// The Winograd F(2×2, 3×3) convolution path of the fast device against the reference loops:
/// odd and tiny maps (edge tiles that reach past the image), one-chunk batches (transforms and
/// GEMMs spread over the cores) and several chunks side by side (per-worker partial weight
/// gradients), in all three directions.
final class WinogradTests: XCTestCase {
    func testShapesTakeTheWinogradPath() {
        XCTAssertTrue(CPUFast.canUseWinograd(Conv2d(batch: 2, inChannels: 16, outChannels: 16, height: 8, width: 8, kernel: 3)))
        XCTAssertFalse(CPUFast.canUseWinograd(Conv2d(batch: 2, inChannels: 8, outChannels: 16, height: 8, width: 8, kernel: 3)))
        XCTAssertFalse(CPUFast.canUseWinograd(Conv2d(batch: 2, inChannels: 16, outChannels: 16, height: 8, width: 8, kernel: 1)))
        XCTAssertFalse(CPUFast.canUseWinograd(Conv2d(batch: 2, inChannels: 16, outChannels: 16, height: 8, width: 8,
                                                   kernel: 3, padding: 0)))
        // The device's own choice: im2col below 8×8 maps, where Winograd's products are too narrow.
        guard case let .success(blas) = OpenBLAS.shared else { return XCTFail("OpenBLAS did not load") }
        let device = CPUFast(blas: blas, deviceName: "cpu")
        XCTAssertFalse(device.usesWinograd(Conv2d(batch: 16, inChannels: 512, outChannels: 512, height: 4, width: 4, kernel: 3)))
        XCTAssertTrue(device.usesWinograd(Conv2d(batch: 16, inChannels: 128, outChannels: 128, height: 8, width: 8, kernel: 3)))
    }

    func testWinogradMatchesReference() throws {
        guard case let .success(blas) = OpenBLAS.shared else { return XCTFail("OpenBLAS did not load") }
        // Every eligible shape through Winograd, however small its maps.
        let kernels = CPUFast(blas: blas, deviceName: "cpu", winogradMinimumPixels: 0)
        let shapes = [
            // One chunk: 5×7 maps (odd in both directions), tiles 3×4.
            Conv2d(batch: 3, inChannels: 17, outChannels: 16, height: 5, width: 7, kernel: 3),
            // Maps smaller than a tile.
            Conv2d(batch: 2, inChannels: 16, outChannels: 18, height: 1, width: 1, kernel: 3),
            Conv2d(batch: 2, inChannels: 16, outChannels: 16, height: 2, width: 3, kernel: 3),
            // Several chunks of 3 images side by side (31×33 maps: 16·17·16·17 floats per image).
            Conv2d(batch: 9, inChannels: 17, outChannels: 16, height: 31, width: 33, kernel: 3),
        ]
        for c in shapes {
            XCTAssertTrue(kernels.usesWinograd(c), "\(c)")
            for kernel in [Kernel.conv2d(c), .conv2dBackwardData(c), .conv2dBackwardWeight(c)] {
                let inputs = makeInputs(for: kernel, seed: 5)
                let fast = try runDirect(kernels, kernel, inputs)
                let reference = try runKernel(kernel, on: TestDevices.reference, inputs: inputs)
                for (index, spec) in kernel.operands.enumerated() where spec.access != .read {
                    let error = nmse(fast[index], reference[index])
                    XCTAssertLessThanOrEqual(error, 1e-10, "\(kernel.caseDescription): \(spec.name) NMSE \(error)")
                }
            }
        }
    }
}
