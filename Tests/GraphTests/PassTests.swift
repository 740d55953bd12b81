@testable import Graph
import Devices
import XCTest

/// Dead-code elimination, fusion, the memory planner and replay.
final class PassTests: XCTestCase {
    func testBestFitArenaReusesTheSmallestFittingBlockAndMerges() {
        var arena = BestFitArena()
        let a = arena.allocate(1024), b = arena.allocate(256), c = arena.allocate(512), d = arena.allocate(256)
        XCTAssertEqual([a, b, c, d], [0, 1024, 1280, 1792])
        arena.free(a, 1024)
        arena.free(c, 512)
        XCTAssertEqual(arena.allocate(512), 1280, "best fit picks the 512-byte hole, not the 1024-byte one")
        arena.free(b, 256)                                  // merges with the hole at 0 into 1280 bytes
        XCTAssertEqual(arena.allocate(1280), 0)
        XCTAssertEqual(arena.peak, 2048)
        arena.free(d, 256)                                  // the top shrinks back
        XCTAssertEqual(arena.allocate(512), 1792)
        XCTAssertEqual(arena.peak, 2304)
    }

    func testElementwiseChainRunsInPlace() throws {
        let queue = try TestDevices.queue("cpu-reference")
        let g = GraphBuilder()
        let x = try g.input("x", [64, 64])
        var y = try g.silu(x)
        for _ in 0..<6 { y = try g.tanh(g.exp(y)) }
        let compiled = try CompiledGraph(g, outputs: ["y": y], queue: queue)
        let m = compiled.report.memory
        // 13 results, the last being the output: of the 12 intermediates the first reads the
        // input and the other 11 overwrite their dying predecessor, so the arena holds one tensor.
        XCTAssertEqual(m.intermediates, 12)
        XCTAssertEqual(m.inPlace, 11)
        XCTAssertEqual(m.arenaPeakBytes, 64 * 64 * 4)
        try compiled.setInput("x", testValues(4096, seed: 1))
        try compiled.run()
        var expected = testValues(4096, seed: 1).map { Double($0) / (1 + Foundation.exp(-Double($0))) }
        for _ in 0..<6 { expected = expected.map { Foundation.tanh(Foundation.exp($0)) } }
        XCTAssertLessThan(nmse(try compiled.readOutput("y"), expected.map(Float.init)), 1e-10)
    }

    func testDeadBranchesProduceNoKernels() throws {
        let queue = try TestDevices.queue("cpu-reference")
        let g = GraphBuilder()
        let x = try g.input("x", [4, 4])
        _ = try g.exp(g.matmul(x, x))                      // nobody reads it
        let compiled = try CompiledGraph(g, outputs: ["y": g.silu(x)], queue: queue)
        XCTAssertEqual(compiled.schedule.launches.map(\.kernel.family), ["unary.silu"])
    }

    func testFusionReportsAndPreservesResults() throws {
        func build() throws -> (GraphBuilder, Tensor) {
            let g = GraphBuilder()
            let x = try g.input("x", [2, 4, 3, 3])
            let w = try g.parameter("w", [4, 4, 1, 1], initializer: .uniform(bound: 0.5))
            let b = try g.parameter("b", [4], initializer: .uniform(bound: 0.5))
            let lw = try g.parameter("lw", [5, 3], initializer: .uniform(bound: 0.5))
            let lb = try g.parameter("lb", [5], initializer: .uniform(bound: 0.5))
            let h = try g.silu(x)
            let r = try g.add(g.conv2d(h, w, bias: b, padding: 0), h)       // 1x1 conv + residual
            let m = try g.add(g.matmul(r, lw, transB: true), lb)            // matmul + bias
            let s = try g.mul(g.sub(m, g.scalar(0.5)), g.scalar(3))         // scalar folds
            return (g, try g.meanAll(g.square(s)))
        }
        var results: [[Float]] = []
        for fusion in [true, false] {
            let queue = try TestDevices.queue("cpu-reference")
            let (g, loss) = try build()
            let grads = try g.gradients(of: loss, withRespectTo: g.parameters)
            let names = g.graph.parameters.map(\.name)
            let compiled = try CompiledGraph(g, outputs: ["loss": loss], gradients: Dictionary(uniqueKeysWithValues: zip(names, grads)),
                                             queue: queue, options: CompileOptions(fusion: fusion))
            let f = compiled.report.fusion
            if fusion {
                XCTAssertGreaterThanOrEqual(f.residualIntoGemm, 1, "\(f)")
                XCTAssertEqual(f.biasIntoGemm, 1, "\(f)")
                XCTAssertGreaterThanOrEqual(f.scalarIntoAffine, 2, "\(f)")
            } else {
                XCTAssertEqual(f.total, 0)
            }
            try compiled.parameters.initialize(seed: 2, queue: queue)
            try compiled.setInput("x", testValues(72, seed: 3))
            try compiled.run()
            let gr = try compiled.readGradients()
            results.append(try compiled.readOutput("loss") + names.flatMap { gr[$0]! })
        }
        XCTAssertLessThan(nmse(results[0], results[1]), 1e-12)
    }

    func testReplayAllocatesNothing() throws {
        let net = TinyUnet()
        let device = try TestDevices.device("cpu")
        let queue = try device.makeQueue()
        let (g, loss) = try net.buildLoss()
        let trainer = try TrainingStep(builder: g, loss: loss, queue: queue)
        let batch = testValues(net.imageCount, seed: 1)
        try trainer.step(batch)
        try trainer.synchronize()
        let before = device.memoryStats.liveBuffers
        for _ in 0..<5 { try trainer.step(batch) }
        try trainer.synchronize()
        XCTAssertEqual(device.memoryStats.liveBuffers, before)
    }
}

/// Runs that draw on the device: with `advancesRandomState` every run draws fresh numbers and
/// uploads nothing; without it, every run sees the same draws.
final class ChainTests: XCTestCase {
    func testAdvancingRandomStateDrawsFreshNoiseEveryRun() throws {
        let queue = try TestDevices.queue("cpu")
        func draws(advancing: Bool) throws -> [[Float]] {
            let g = GraphBuilder()
            let noise = try g.randomNormal([2, 3])
            let compiled = try CompiledGraph(g, outputs: ["noise": noise], queue: queue,
                                             options: CompileOptions(randomSeed: 3, advancesRandomState: advancing))
            try queue.synchronize()
            queue.resetCounters()
            var out: [[Float]] = []
            for _ in 0..<3 {
                try compiled.run()
                out.append(try compiled.readOutput("noise"))
            }
            XCTAssertEqual(queue.counters.bytesUploaded, 0, "the runs need no uploads")
            return out
        }
        let fresh = try draws(advancing: true)
        XCTAssertNotEqual(fresh[0], fresh[1], "every run draws fresh noise")
        XCTAssertNotEqual(fresh[1], fresh[2])
        let same = try draws(advancing: false)
        XCTAssertEqual(same[0], same[1], "without advancing, runs repeat their draws")
        XCTAssertEqual(same[0], fresh[0], "the first run draws the same numbers either way")
    }
}
