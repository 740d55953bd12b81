import Devices
import Graph
import XCTest

/// Shape inference, naming and the errors the builder reports.
final class BuilderTests: XCTestCase {
    private func message(_ body: () throws -> Void) -> String {
        do {
            try body()
            return "no error"
        } catch {
            return "\(error)"
        }
    }

    func testConvolutionChannelMismatchNamesNodeAndShapes() throws {
        let g = GraphBuilder()
        let x = try g.input("x", [2, 64, 8, 8])
        let text = message {
            try g.scope("downs.0.0") {
                try g.scope("block1") {
                    let w = try g.parameter("proj.weight", [64, 32, 3, 3], initializer: .zeros)
                    _ = try g.conv2d(x, w)
                }
            }
        }
        XCTAssertTrue(text.contains("downs.0.0.block1/conv2d"), text)
        XCTAssertTrue(text.contains("f32[2, 64, 8, 8]") && text.contains("f32[64, 32, 3, 3]"), text)
        XCTAssertTrue(text.contains("x has 64 channels, w expects 32"), text)
    }

    func testScopedParameterNamesAndDuplicates() throws {
        let g = GraphBuilder()
        let w = try g.scope("downs") { try g.scope("0") { try g.parameter("mem_kv", [2, 4, 32, 4], initializer: .normal(std: 1)) } }
        XCTAssertEqual(g.graph.parameters.map(\.name), ["downs.0.mem_kv"])
        XCTAssertEqual(w.shape, [2, 4, 32, 4])
        XCTAssertThrowsError(try g.scope("downs.0") { try g.parameter("mem_kv", [1], initializer: .zeros) }) { error in
            XCTAssertEqual(error as? GraphError, .duplicateName(kind: "parameter", name: "downs.0.mem_kv"))
        }
        XCTAssertThrowsError(try g.parameter("bad", [2], initializer: .values([1, 2, 3])))
        XCTAssertThrowsError(try g.input("zero", [2, 0]))
    }

    func testShapeInferenceOfEveryFamily() throws {
        let g = GraphBuilder()
        let x = try g.input("x", [2, 8, 4, 4])
        XCTAssertEqual(try g.pixelUnshuffle(x).shape, [2, 32, 2, 2])
        XCTAssertEqual(try g.pixelShuffle(x).shape, [2, 2, 8, 8])
        XCTAssertEqual(try g.upsampleNearest(x).shape, [2, 8, 8, 8])
        XCTAssertEqual(try g.reshape(x, [2, -1, 16]).shape, [2, 8, 16])
        XCTAssertEqual(try g.concat([x, x], axis: 1).shape, [2, 16, 4, 4])
        XCTAssertEqual(try g.chunk(x, 2, axis: 1).map(\.shape), [[2, 4, 4, 4], [2, 4, 4, 4]])
        XCTAssertEqual(try g.sum(x, axes: [1, 3], keepDims: true).shape, [2, 1, 4, 1])
        XCTAssertEqual(try g.mean(x, axes: [0]).shape, [8, 4, 4])
        let q = try g.reshape(x, [2, 2, 4, 16])
        XCTAssertEqual(try g.matmul(q, q, transA: true).shape, [2, 2, 16, 16])
        XCTAssertEqual(try g.matmul(q, q, transB: true).shape, [2, 2, 4, 4])
        let t = try g.randomIntegers([2], low: 0, high: 1000)
        XCTAssertEqual(t.dtype, .int32)
        XCTAssertEqual(try g.timestepEmbedding(g.indexToFloat(t, bound: 1000), dim: 16).shape, [2, 16])
        XCTAssertEqual(try g.mseLoss(x, x).shape, [])
        XCTAssertThrowsError(try g.add(x, g.input("y", [3, 4])))
        XCTAssertThrowsError(try g.reshape(x, [3, -1]))
        XCTAssertThrowsError(try g.timestepEmbedding(t, dim: 16), "timesteps must be converted to f32 first")
        XCTAssertThrowsError(try g.matmul(q, q))
        XCTAssertThrowsError(try g.softmax(x, axis: 4))
    }

    func testTensorsOfAnotherBuilderAreRejected() throws {
        let a = GraphBuilder(), b = GraphBuilder()
        let x = try a.input("x", [2])
        _ = try b.input("x", [2])
        XCTAssertThrowsError(try b.silu(x)) { error in
            guard case .foreignTensor = error as? GraphError else { return XCTFail("\(error)") }
        }
    }

    func testNonDifferentiablePathIsReportedButUnusedOneIsNot() throws {
        let g = GraphBuilder()
        let w = try g.parameter("w", [3], initializer: .ones)
        let c = try g.constant([1, 2, 3], shape: [3])
        _ = try g.maximum(c, c)                           // not on a path from w
        let loss = try g.sumAll(g.maximum(w, c))
        XCTAssertThrowsError(try g.gradients(of: loss, withRespectTo: [w])) { error in
            guard case let .notDifferentiable(_, op, _) = error as? GraphError else { return XCTFail("\(error)") }
            XCTAssertEqual(op, "binary.maximum")
        }
        let h = GraphBuilder()
        let v = try h.parameter("v", [3], initializer: .ones)
        let other = try h.parameter("other", [3], initializer: .ones)
        _ = try h.maximum(other, other)
        XCTAssertNoThrow(try h.gradients(of: h.sumAll(h.square(v)), withRespectTo: [v, other]))
    }

    func testHostDataIsChecked() throws {
        let queue = try TestDevices.queue("cpu-reference")
        let g = GraphBuilder()
        let x = try g.input("x", [2, 3])
        let compiled = try CompiledGraph(g, outputs: ["y": g.silu(x)], queue: queue)
        XCTAssertThrowsError(try compiled.setInput("x", [1, 2]))
        XCTAssertThrowsError(try compiled.setInput("nope", [1, 2, 3, 4, 5, 6]))
        XCTAssertThrowsError(try compiled.readOutput("nope"))
        XCTAssertThrowsError(try compiled.parameters.load(["missing": [1]], queue: queue))
    }
}
