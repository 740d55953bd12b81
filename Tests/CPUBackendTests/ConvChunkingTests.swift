import Devices
import XCTest
@testable import CPUBackend

/// The fast convolution split into several batch chunks (including a short last chunk and
/// one-image chunks) against the reference, by running ``CPUFast`` with tiny column budgets.
final class ConvChunkingTests: XCTestCase {
    func testChunkedConvolutionsMatchReference() throws {
        guard case let .success(blas) = OpenBLAS.shared else { return XCTFail("OpenBLAS did not load") }
        let shapes = [Conv2d(batch: 5, inChannels: 3, outChannels: 4, height: 6, width: 5, kernel: 3),
                      Conv2d(batch: 5, inChannels: 3, outChannels: 4, height: 6, width: 5, kernel: 1)]
        for c in shapes {
            let perSample = c.inChannels * c.kernelHeight * c.kernelWidth * c.outHeight * c.outWidth
            for budget in [2 * perSample + 1, perSample - 1] {
                let kernels = CPUFast(blas: blas, columnBudget: budget)
                XCTAssertEqual(kernels.chunkSize(c), budget > perSample ? 2 : 1)
                for kernel in [Kernel.conv2d(c), .conv2dBackwardData(c), .conv2dBackwardWeight(c)] {
                    let inputs = makeInputs(for: kernel, seed: 11)
                    let fast = try runDirect(kernels, kernel, inputs)
                    let reference = try runKernel(kernel, on: TestDevices.reference, inputs: inputs)
                    for (index, spec) in kernel.operands.enumerated() where spec.access != .read {
                        let error = nmse(fast[index], reference[index])
                        XCTAssertLessThanOrEqual(error, 1e-6, "\(kernel.caseDescription) budget \(budget): \(spec.name) NMSE \(error)")
                    }
                }
            }
        }
    }
}
