import Devices
import Graph
import XCTest

/// Gradients of a whole (miniature) Unet training graph.
final class ModelGradientTests: XCTestCase {
    /// The loss's parameter gradients against finite differences on the reference device.
    func testTinyUnetGradientsMatchFiniteDifferences() throws {
        let net = TinyUnet()
        let queue = try TestDevices.queue("cpu-reference")
        let (g, loss) = try net.buildLoss()
        let compiled = try CompiledGraph(g, differentiating: loss, queue: queue, options: CompileOptions(randomSeed: 5))
        try compiled.parameters.initialize(seed: 3, queue: queue)
        let image = testValues(net.imageCount, seed: 1).map { $0 * 0.5 + 0.5 }
        try compiled.setInput("image", image)
        try compiled.run()
        let analytic = try compiled.readGradients()
        let initial = try compiled.parameters.read(queue: queue)
        let checked = ["init_conv.weight", "time_mlp.1.weight", "downs.0.0.mlp.1.bias", "downs.0.0.block1.norm.g",
                       "downs.0.2.mem_kv", "downs.0.2.to_qkv.weight", "downs.0.3.1.weight", "mid_attn.mem_kv",
                       "mid_attn.to_qkv.weight", "mid_attn.to_out.bias", "ups.0.0.res_conv.weight", "final_conv.bias"]
        let h: Float = 1e-2
        for name in checked {
            let values = try XCTUnwrap(initial[name], "no parameter \(name)")
            for i in [values.count / 2] {
                var plus = values, minus = values
                plus[i] += h
                minus[i] -= h
                try compiled.parameters.load([name: plus], queue: queue)
                try compiled.run()
                let lp = try compiled.readOutput("loss")[0]
                try compiled.parameters.load([name: minus], queue: queue)
                try compiled.run()
                let lm = try compiled.readOutput("loss")[0]
                let numeric = (lp - lm) / (2 * h)
                let a = analytic[name]![i]
                XCTAssertEqual(a, numeric, accuracy: 3e-5 + 1e-2 * max(abs(a), abs(numeric)), "d loss / d \(name)[\(i)]")
            }
            try compiled.parameters.load([name: values], queue: queue)
        }
    }
}

/// The same graph's parameter gradients on different devices.
final class CrossDeviceGradientTests: XCTestCase {
    func testTinyUnetGradientsOnOpenCLEqualCPU() throws {
        try compare("opencl", "cpu")
    }

    func testTinyUnetGradientsOnCPUEqualReference() throws {
        try compare("cpu", "cpu-reference")
    }

    private func gradients(_ device: String) throws -> (grads: [String: [Float]], loss: Float) {
        let net = TinyUnet()
        let queue = try TestDevices.queue(device)
        let (g, loss) = try net.buildLoss()
        let compiled = try CompiledGraph(g, differentiating: loss, queue: queue, options: CompileOptions(randomSeed: 9))
        try compiled.parameters.initialize(seed: 4, queue: queue)
        try compiled.setInput("image", testValues(net.imageCount, seed: 6).map { $0 * 0.5 + 0.5 })
        try compiled.run()
        return (try compiled.readGradients(), try compiled.readOutput("loss")[0])
    }

    private func compare(_ first: String, _ second: String) throws {
        let a = try gradients(first), b = try gradients(second)
        XCTAssertEqual(a.loss, b.loss, accuracy: 1e-5 * abs(b.loss), "loss, \(first) vs \(second)")
        XCTAssertEqual(Set(a.grads.keys), Set(b.grads.keys))
        for (name, reference) in b.grads {
            let value = try XCTUnwrap(a.grads[name])
            XCTAssertGreaterThan(reference.map { abs($0) }.max() ?? 0, 0, "gradient of \(name) is all zero")
            XCTAssertLessThanOrEqual(nmse(value, reference), 1e-6, "gradient of \(name), \(first) vs \(second)")
        }
    }
}
