import XCTest
@testable import Diffusion
import Conformance
import Devices
import Graph
import SafeTensors

final class UnetGoldenForwardTests: XCTestCase {
    func testForwardMatchesTheReference() throws {
        for name in GoldenFixtures.unconditionalCases {
            let golden = try GoldenCase(directory: GoldenFixtures.directory + "/" + name)
            let io = try SafeTensorsFile(path: golden.ioPath)
            let unet = try Unet(XCTUnwrap(golden.unet))
            let g = GraphBuilder()
            let weights = try unet.declareParameters(in: g)
            let xShape = try io.info("unet.x").shape
            let x = try g.input("x", xShape)
            let t = try g.input("t", [xShape[0]])
            let out = try unet.forward(g, weights: weights, x: x, time: t)
            let device = try TestDevices.device("cpu-reference")
            let queue = try device.makeQueue()
            let compiled = try CompiledGraph(g, outputs: ["out": out], queue: queue)
            try unet.loadStateDict(SafeTensorsFile(path: golden.weightsPath), into: compiled.parameters, queue: queue)
            try compiled.setInput("x", io.floats("unet.x"))
            try compiled.setInput("t", io.floats("unet.t"))
            try compiled.run()
            let got = try compiled.readOutput("out")
            let expected = try io.floats("unet.out")
            let err = zip(got, expected).map { abs($0 - $1) }.max()!
            print(name, "forward max abs err", err)
            XCTAssertLessThanOrEqual(err, 1e-4, name)
        }
    }
}
