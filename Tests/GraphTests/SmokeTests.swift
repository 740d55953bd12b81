import Devices
import Graph
import XCTest

final class SmokeTests: XCTestCase {
    func testLinearForward() throws {
        let queue = try TestDevices.queue("cpu-reference")
        let g = GraphBuilder()
        let x = try g.input("x", [2, 3])
        let w = try g.parameter("w", [4, 3], initializer: .values((0..<12).map { Float($0) }))
        let b = try g.parameter("b", [4], initializer: .values([1, 2, 3, 4]))
        let y = try g.linear(x, weight: w, bias: b)
        let loss = try g.sumAll(g.square(y))
        let compiled = try CompiledGraph(g, outputs: ["y": y, "loss": loss], queue: queue)
        try compiled.parameters.initialize(seed: 0, queue: queue)
        try compiled.setInput("x", [1, 0, 0, 0, 1, 1])
        try compiled.run()
        let out = try compiled.readOutput("y")
        XCTAssertEqual(out, [1, 5, 9, 13, 4, 11, 18, 25])
        print(compiled.schedule.launches.map(\.kernel.caseDescription))
    }
}
