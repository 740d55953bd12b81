import Devices

/// Options of ``CompiledGraph``.
public struct CompileOptions: Sendable {
    /// Run the fusion pass (GEMM epilogues, affine folding).
    public var fusion: Bool
    /// Key of the device Philox state (the random streams of ``GraphBuilder/randomNormal(_:mean:std:)`` etc.).
    public var randomSeed: UInt64
    /// End every run with `random.advance`, so each run draws fresh numbers (a sampling chain);
    /// off by default, so repeated runs see the same draws (gradient checks, evaluation).
    public var advancesRandomState: Bool

    public init(fusion: Bool = true, randomSeed: UInt64 = 0, advancesRandomState: Bool = false) {
        self.fusion = fusion
        self.randomSeed = randomSeed
        self.advancesRandomState = advancesRandomState
    }
}

/// What compiling a graph did.
public struct CompileReport: Sendable, Equatable {
    /// Nodes after dead-code elimination, fusion and layout.
    public var nodes: Int
    /// Kernel launches per run.
    public var kernels: Int
    public var memory: MemoryReport
    public var fusion: FusionReport
    /// Dense copies inserted for views a kernel cannot read through strides.
    public var materializations: Int
}

/// A graph lowered for one device: its buffers, its ``Schedule`` and the host API around them.
///
/// ```swift
/// let queue = try device.makeQueue()
/// let forward = try CompiledGraph(g, outputs: ["eps": eps], queue: queue)
/// try forward.parameters.initialize(seed: 1, queue: queue)
/// try forward.setInput("x", xs)
/// try forward.run()
/// let out = try forward.readOutput("eps")      // one host synchronisation
/// ```
public final class CompiledGraph {
    public let queue: Queue
    public let parameters: ParameterStore
    /// The gradient buffer (parameter layout) when gradients were requested.
    public let gradients: Buffer?
    public let schedule: Schedule
    public let report: CompileReport
    /// The device Philox state `[key lo, key hi, step, 0]` the random nodes read.
    public let randomState: Buffer

    let executor: Executor
    let outputBuffer: Buffer
    let outputSlots: [String: (offset: Int, count: Int)]
    private let inputs: [String: (buffer: Buffer, type: TensorType)]

    /// Compiles `builder`'s graph so that `outputs` can be read after each run and, for each
    /// parameter named in `gradients`, the given tensor is written into the gradient buffer.
    ///
    /// - Parameters:
    ///   - parameters: an existing store to share (e.g. the training step's weights or its EMA); by
    ///     default a new store is made for the graph's parameters (left uninitialised: call
    ///     `initialize` or `load`).
    public convenience init(_ builder: GraphBuilder, outputs: [String: Tensor], gradients: [String: Tensor] = [:],
                            queue: Queue, parameters: ParameterStore? = nil,
                            options: CompileOptions = CompileOptions()) throws {
        try self.init(builder, outputs: outputs, gradients: gradients, queue: queue,
                      parameters: parameters, options: options, sharing: nil)
    }

    /// The designated initialiser; `sharing` gives the gradient buffer and random state of another
    /// graph of the same parameters (the variants of one ``TrainingStep``).
    init(_ builder: GraphBuilder, outputs: [String: Tensor], gradients: [String: Tensor],
         queue: Queue, parameters: ParameterStore?,
         options: CompileOptions, sharing: CompiledGraph?) throws {
        let device = queue.device
        self.queue = queue
        let graph = builder.graph
        let store = try parameters ?? ParameterStore(layout: ParameterLayout(graph.parameters), device: device)
        var offsets: [String: Int] = [:]
        for p in graph.parameters {
            guard let e = store.layout.entry(named: p.name) else {
                throw GraphError.unknownName(kind: "parameter", name: p.name, available: store.layout.names)
            }
            guard e.shape.reduce(1, *) == p.type.count else {
                throw GraphError.hostDataMismatch(name: p.name, expected: e.count, got: p.type.count)
            }
            offsets[p.name] = e.offset
        }
        for (name, t) in gradients {
            guard let p = graph.parameter(named: name) else {
                throw GraphError.unknownName(kind: "parameter", name: name, available: graph.parameters.map(\.name))
            }
            guard t.shape == p.type.shape else { throw GraphError.hostDataMismatch(name: "gradient of \(name)", expected: p.type.count, got: t.count) }
        }

        var program = Program(graph: graph,
                              outputs: outputs.sorted { $0.key < $1.key }.map { ($0.key, $0.value.id) },
                              gradients: gradients.sorted { offsets[$0.key]! < offsets[$1.key]! }.map { ($0.key, $0.value.id) })
        program = program.eliminatingDeadCode()
        var fusion = FusionReport()
        if options.fusion { (program, fusion) = program.fused() }
        let laid = program.laidOut()
        let plan = try MemoryPlan(laid, parameterOffsets: offsets)

        self.parameters = store
        self.gradients = gradients.isEmpty ? nil : try sharing?.gradients ?? device.allocate(bytes: max(store.layout.count, 1) * 4)
        let inputBuffers = try laid.program.graph.inputs.map { try device.allocate(bytes: max($0.type.byteCount, 4)) }
        var inputs: [String: (Buffer, TensorType)] = [:]
        for (k, info) in laid.program.graph.inputs.enumerated() { inputs[info.name] = (inputBuffers[k], info.type) }
        self.inputs = inputs
        let constants = try device.allocate(bytes: max(plan.constantData.count, 1) * 4)
        if !plan.constantData.isEmpty { try queue.upload(plan.constantData, to: constants.slice()) }
        self.outputBuffer = try device.allocate(bytes: max(plan.outputCount, 1) * 4)
        self.outputSlots = plan.outputSlots
        if let shared = sharing?.randomState {
            self.randomState = shared
        } else {
            self.randomState = try device.allocate(bytes: 16)
            try queue.upload([UInt32(truncatingIfNeeded: options.randomSeed), UInt32(truncatingIfNeeded: options.randomSeed >> 32), 0, 0],
                             to: randomState.slice())
        }
        if let g = self.gradients, sharing?.gradients !== g {
            // Parameters the loss does not reach keep a zero gradient.
            try queue.launch(.fill(count: store.layout.count, value: 0), [g.slice()])
        }
        let arena = try device.allocate(bytes: max(plan.report.arenaPeakBytes, 4))
        let bindings = Bindings(parameters: store, gradients: self.gradients, inputs: inputBuffers, constants: constants,
                                outputs: outputBuffer, arena: arena, rng: randomState)
        var lowering = Lowering(laid, plan: plan, bindings: bindings, device: device)
        var launches = try lowering.lower()
        if options.advancesRandomState {
            launches.append(Launch(kernel: .randomAdvance, operands: [randomState.slice()], label: "random_advance"))
        }
        self.schedule = Schedule(launches)
        self.executor = try Executor(schedule: schedule, queue: queue)
        self.report = CompileReport(nodes: laid.program.graph.nodes.count, kernels: schedule.count, memory: plan.report,
                                    fusion: fusion, materializations: laid.materializations)
    }

    /// Compiles the gradients of `loss` with respect to every parameter (as ``TrainingStep`` does,
    /// without the optimiser), with `loss` among the outputs under the name `"loss"`.
    public convenience init(_ builder: GraphBuilder, outputs: [String: Tensor] = [:], differentiating loss: Tensor,
                            queue: Queue, parameters: ParameterStore? = nil, options: CompileOptions = CompileOptions()) throws {
        let grads = try builder.gradients(of: loss, withRespectTo: builder.parameters)
        var map: [String: Tensor] = [:]
        for (p, g) in zip(builder.graph.parameters, grads) { map[p.name] = g }
        try self.init(builder, outputs: outputs.merging(["loss": loss]) { a, _ in a }, gradients: map, queue: queue,
                      parameters: parameters, options: options)
    }

    /// Names and types of the host inputs.
    public var inputTypes: [String: TensorType] { inputs.mapValues(\.type) }

    /// Uploads one input (f32 values in row-major order).
    public func setInput(_ name: String, _ values: [Float]) throws {
        try values.withUnsafeBytes { try setInput(name, bytes: $0, dtype: .float32) }
    }

    /// Uploads one i32 input.
    public func setInput(_ name: String, integers values: [Int32]) throws {
        try values.withUnsafeBytes { try setInput(name, bytes: $0, dtype: .int32) }
    }

    /// Uploads one input from raw bytes (what a data loader hands over without copying).
    public func setInput(_ name: String, bytes: UnsafeRawBufferPointer, dtype: DType = .float32) throws {
        guard let input = inputs[name] else {
            throw GraphError.unknownName(kind: "input", name: name, available: inputs.keys.sorted())
        }
        guard input.type.dtype == dtype else {
            throw GraphError.invalidUse("input '\(name)' is \(input.type), got \(dtype) data")
        }
        guard bytes.count == input.type.byteCount else {
            throw GraphError.hostDataMismatch(name: name, expected: input.type.count, got: bytes.count / 4)
        }
        try queue.upload(bytes, to: input.buffer.slice())
    }

    /// Enqueues one run of the schedule (returns at once).
    public func run() throws { try executor.run() }

    /// The slice of a named output, for asynchronous downloads.
    public func outputSlice(_ name: String) throws -> (slice: BufferSlice, count: Int) {
        guard let slot = outputSlots[name] else {
            throw GraphError.unknownName(kind: "output", name: name, available: outputSlots.keys.sorted())
        }
        return (outputBuffer.slice(offset: slot.offset * 4), slot.count)
    }

    /// Reads a named output (one download, one host synchronisation).
    public func readOutput(_ name: String) throws -> [Float] {
        let (s, count) = try outputSlice(name)
        return try queue.readFloats(s, count: count)
    }

    /// Reads every gradient by parameter name (one download, one host synchronisation).
    public func readGradients() throws -> [String: [Float]] {
        guard let g = gradients else { throw GraphError.invalidUse("this graph was compiled without gradients") }
        let all = try queue.readFloats(g.slice(), count: parameters.layout.count)
        var out: [String: [Float]] = [:]
        for e in parameters.layout.entries { out[e.name] = Array(all[e.offset..<(e.offset + e.count)]) }
        return out
    }
}
