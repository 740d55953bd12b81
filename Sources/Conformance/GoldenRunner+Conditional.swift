import Devices
import Diffusion
import Graph
import SafeTensors

extension GoldenContext {
    /// The class-conditional Unet and its guidance; throws for an unconditional case.
    var conditional: (unet: ConditionalUnet, guidance: Guidance) {
        get throws {
            guard case let .classConditional(u, g) = model else {
                throw GoldenCaseError.badConfig(file: golden.directory + "/config.json", reason: "not a class-conditional case")
            }
            return (u, g)
        }
    }

    /// An int64 tensor of io.safetensors (classes, keep masks) as f32 values.
    func integerTensor(_ name: String) throws -> [Float] {
        guard io.contains(name) else { throw GoldenCaseError.missingTensor(file: golden.ioPath, name: name) }
        return try io.int32s(name).map(Float.init)
    }

    /// The forwards of a class-conditional case on `unet.x`, `unet.t`, `unet.classes`, all in one
    /// graph: conditional (`cond_drop_prob` 0), null (1), mixed (`unet.keep_mask`), and
    /// `forward_with_cond_scale` at (scale 3, φ 0), (3, 0.7), the case's guidance, and (3, 0)
    /// without removing the parallel component (`guided.plain`). Each guided output is one
    /// batched forward of 2B.
    func checkConditionalForward() throws -> [GoldenCheck] {
        let (unet, caseGuidance) = try conditional
        let xShape = try shape("unet.x")
        let b = xShape[0]
        let g = GraphBuilder()
        let w = try unet.declareParameters(in: g)
        let (x, t, classes) = (try g.input("x", xShape), try g.input("t", [b]), try g.input("classes", [b]))
        var outputs: [String: Tensor] = [:]
        outputs["unet.out_cond"] = try unet.forward(g, weights: w, x: x, time: t, classes: classes, keep: nil)
        outputs["unet.out_null"] = try unet.forward(g, weights: w, x: x, time: t, classes: classes,
                                                    keep: g.constant([Float](repeating: 0, count: b), shape: [b]))
        outputs["unet.out_mixed"] = try unet.forward(g, weights: w, x: x, time: t, classes: classes, keep: g.input("keep", [b]))
        var guided: [(name: String, guidance: Guidance)] = []
        for (scale, phi) in [(Float(3), Float(0)), (3, 0.7), (caseGuidance.scale, caseGuidance.rescaledPhi)] {
            let name = "guided.\(GoldenContext.pythonG(scale)).\(GoldenContext.pythonG(phi)).out"
            if !guided.contains(where: { $0.name == name }) { guided.append((name, Guidance(scale: scale, rescaledPhi: phi))) }
        }
        guided.append(("guided.plain.out", Guidance(scale: 3, rescaledPhi: 0, removeParallelComponent: false)))
        for (name, guidance) in guided {
            outputs[name] = try unet.guidedForward(g, weights: w, x: x, time: t, classes: classes, guidance: guidance).guided
        }
        let compiled = try CompiledGraph(g, outputs: outputs, queue: queue)
        try unet.loadStateDict(weights, into: compiled.parameters, queue: queue)
        try compiled.setInput("x", tensor("unet.x"))
        try compiled.setInput("t", integerTensor("unet.t"))
        try compiled.setInput("classes", integerTensor("unet.classes"))
        try compiled.setInput("keep", integerTensor("unet.keep_mask"))
        try compiled.run()
        return try (["unet.out_cond", "unet.out_null", "unet.out_mixed"] + guided.map(\.name)).map { name in
            GoldenCheck(name: name, metric: .maxAbs, error: GoldenContext.maxAbs(try compiled.readOutput(name), try tensor(name)),
                        tolerance: GoldenRunner.Tolerance.forward, detail: "")
        }
    }

    /// The training loss with the recorded keep mask (`loss.keep_mask`) and every parameter gradient.
    func checkConditionalLossAndGradients() throws -> [GoldenCheck] {
        let (unet, _) = try conditional
        let diffusion = try ConditionalDiffusion(unet: unet, configuration: golden.diffusion)
        let batch = try shape("loss.x_start")[0]
        let g = GraphBuilder()
        let built = try diffusion.buildTrainingLoss(in: g, batch: batch, labels: .input("classes"), timesteps: .input("t"),
                                                    noise: .input("noise"), keepMask: .input("keep"))
        let compiled = try CompiledGraph(g, differentiating: built.loss, queue: queue)
        try unet.loadStateDict(weights, into: compiled.parameters, queue: queue)
        try compiled.setInput(built.imageInput, tensor("loss.x_start"))
        try compiled.setInput("t", integers: io.int32s("loss.t"))
        try compiled.setInput("noise", tensor("loss.noise"))
        try compiled.setInput("classes", integerTensor("loss.classes"))
        try compiled.setInput("keep", integerTensor("loss.keep_mask"))
        try compiled.run()
        let lossError = GoldenContext.maxAbs(try compiled.readOutput("loss"), try tensor("loss.value"))
        let gradients = try compiled.readGradients()
        var worst = (error: 0.0, name: "")
        for spec in unet.parameterSpecs {
            let e = GoldenContext.nmse(gradients[spec.name] ?? [], try tensor("grad." + spec.name))
            if !(e <= worst.error) { worst = (e, spec.name) }
        }
        return [
            GoldenCheck(name: "loss.value", metric: .maxAbs, error: lossError, tolerance: GoldenRunner.Tolerance.loss, detail: ""),
            GoldenCheck(name: "grad (\(unet.parameterSpecs.count) parameters)", metric: .nmse, error: worst.error,
                        tolerance: GoldenRunner.Tolerance.gradientNMSE, detail: "worst: \(worst.name)"),
        ]
    }

    /// The guided DDIM chain (eta 0, as the generator sets it) from `ddim.x_T` for `ddim.classes`,
    /// plain (`ddim.out`) and with CFG++ (`ddimpp.out`).
    func checkGuidedDDIM() throws -> [GoldenCheck] {
        let (unet, guidance) = try conditional
        let diffusion = try ConditionalDiffusion(unet: unet, configuration: golden.diffusion)
        let xT = try tensor("ddim.x_T")
        let classes = try io.int32s("ddim.classes").map(Int.init)
        var checks: [GoldenCheck] = []
        for (name, plus) in [("ddim.out", false), ("ddimpp.out", true)] {
            var g = guidance
            g.cfgPlusPlus = plus
            let sampler = try DiffusionSampler(diffusion: diffusion, sampler: DDIMSampler(steps: golden.diffusion.resolvedSamplingTimesteps, eta: 0),
                                               denoiser: GuidedDenoiser(unet, guidance: g), batch: classes.count, queue: queue, recordedNoise: true)
            try sampler.loadWeights(weights)
            try sampler.setClasses(classes)
            let out = try sampler.sample(noise: .recorded(xT: xT, noise: []))
            checks.append(GoldenCheck(name: "\(name) (\(sampler.times.count) steps)", metric: .maxAbs,
                                      error: GoldenContext.maxAbs(out, try tensor(name)), tolerance: GoldenRunner.Tolerance.chain, detail: ""))
        }
        return checks
    }

    /// The guided ancestral chain of the `ddpm` settings from `ddpm.x_T` with the recorded noise.
    func checkGuidedDDPM() throws -> [GoldenCheck] {
        let (unet, guidance) = try conditional
        let diffusion = try ConditionalDiffusion(unet: unet, configuration: golden.ddpm)
        let classes = try io.int32s("ddim.classes").map(Int.init)
        let sampler = try DiffusionSampler(diffusion: diffusion, sampler: DDPMSampler(), denoiser: GuidedDenoiser(unet, guidance: guidance),
                                           batch: classes.count, queue: queue, recordedNoise: true)
        try sampler.loadWeights(weights)
        try sampler.setClasses(classes)
        let out = try sampler.sample(noise: .recorded(xT: try tensor("ddpm.x_T"), noise: try tensor("ddpm.noise")))
        return [GoldenCheck(name: "ddpm.out (\(sampler.times.count) steps)", metric: .maxAbs,
                            error: GoldenContext.maxAbs(out, try tensor("ddpm.out")), tolerance: GoldenRunner.Tolerance.chain, detail: "")]
    }

    /// Python's `f"{x:g}"` for the guidance values in tensor names (3.0 → "3", 0.7 → "0.7").
    static func pythonG(_ x: Float) -> String {
        let d = Double(x)
        if d == d.rounded() { return String(Int(d)) }
        return String(format: "%g", d)
    }
}
