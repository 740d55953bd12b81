import Devices
import Graph
import XCTest

/// A parameter of a gradient check: its name, shape and values.
struct CheckParameter {
    var name: String
    var shape: [Int]
    var values: [Float]

    init(_ name: String, _ shape: [Int], values: [Float]? = nil, seed: UInt64 = 1, scale: Float = 1) {
        self.name = name
        self.shape = shape
        self.values = values ?? testValues(shape.reduce(1, *), seed: seed &+ UInt64(name.utf8.reduce(0) { $0 &* 31 &+ Int($1) }), scale: scale)
    }
}

/// Checks reverse-mode gradients of `build` against central finite differences.
///
/// The checked scalar is `Σ build(params) · R` for a fixed random `R` (so every output element
/// matters with a different weight), evaluated on `device` (the Double-accumulating reference by
/// default, so the differences are not drowned in rounding).
func checkGradients(
    _ params: [CheckParameter], device: String = "cpu-reference", samples: Int = 8, h: Float = 1e-2,
    absoluteTolerance: Float = 5e-3, relativeTolerance: Float = 1e-2, fusion: Bool = true,
    file: StaticString = #filePath, line: UInt = #line,
    _ build: (GraphBuilder, [Tensor]) throws -> Tensor
) throws {
    let queue = try TestDevices.queue(device)
    let g = GraphBuilder()
    let tensors = try params.map { try g.parameter($0.name, $0.shape, initializer: .values($0.values)) }
    let y = try build(g, tensors)
    let r = try g.constant(testValues(y.count, seed: 99), shape: y.shape)
    let loss = try g.sumAll(g.mul(y, r))
    let grads = try g.gradients(of: loss, withRespectTo: tensors)
    var gradientMap: [String: Tensor] = [:]
    for (p, t) in zip(params, grads) { gradientMap[p.name] = t }
    let compiled = try CompiledGraph(g, outputs: ["loss": loss], gradients: gradientMap, queue: queue,
                                     options: CompileOptions(fusion: fusion, randomSeed: 7))
    try compiled.parameters.initialize(seed: 0, queue: queue)
    try compiled.run()
    let analytic = try compiled.readGradients()

    func lossWith(_ name: String, _ values: [Float]) throws -> Float {
        try compiled.parameters.load([name: values], queue: queue)
        try compiled.run()
        return try compiled.readOutput("loss")[0]
    }
    for p in params {
        let count = p.values.count
        let indices = count <= samples ? Array(0..<count) : (0..<samples).map { $0 * (count - 1) / (samples - 1) }
        for i in indices {
            var plus = p.values, minus = p.values
            plus[i] += h
            minus[i] -= h
            let numeric = (try lossWith(p.name, plus) - lossWith(p.name, minus)) / (2 * h)
            let a = analytic[p.name]![i]
            let tolerance = absoluteTolerance + relativeTolerance * max(abs(a), abs(numeric))
            XCTAssertEqual(a, numeric, accuracy: tolerance, "d/d \(p.name)[\(i)]: analytic \(a), finite difference \(numeric)",
                           file: file, line: line)
        }
        try compiled.parameters.load([p.name: p.values], queue: queue)
    }
}
