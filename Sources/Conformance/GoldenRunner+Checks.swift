import Devices
import Diffusion
import Graph
import SafeTensors

extension GoldenContext {
    /// `max |a − b|`.
    static func maxAbs(_ a: [Float], _ b: [Float]) -> Double {
        guard a.count == b.count else { return .infinity }
        var worst = 0.0
        for (x, y) in zip(a, b) {
            let d = Swift.abs(Double(x) - Double(y))
            if !(d <= worst) { worst = d }   // NaN becomes the worst
        }
        return worst
    }

    /// `Σ(a − b)² / Σ b²` (the plain squared error when b is all zeros).
    static func nmse(_ a: [Float], _ b: [Float]) -> Double {
        guard a.count == b.count else { return .infinity }
        var err = 0.0, ref = 0.0
        for (x, y) in zip(a, b) {
            err += (Double(x) - Double(y)) * (Double(x) - Double(y))
            ref += Double(y) * Double(y)
        }
        return ref > 0 ? err / ref : err
    }

    /// The Unet forward on `unet.x`, `unet.t` against `unet.out`.
    func checkForward() throws -> [GoldenCheck] {
        let unet = try self.unet
        let xShape = try shape("unet.x")
        let g = GraphBuilder()
        let w = try unet.declareParameters(in: g)
        let out = try unet.forward(g, weights: w, x: g.input("x", xShape), time: g.input("t", [xShape[0]]))
        let compiled = try CompiledGraph(g, outputs: ["out": out], queue: queue)
        try unet.loadStateDict(weights, into: compiled.parameters, queue: queue)
        try compiled.setInput("x", tensor("unet.x"))
        try compiled.setInput("t", tensor("unet.t"))
        try compiled.run()
        let err = GoldenContext.maxAbs(try compiled.readOutput("out"), try tensor("unet.out"))
        return [GoldenCheck(name: "unet.forward", metric: .maxAbs, error: err, tolerance: GoldenRunner.Tolerance.forward, detail: "")]
    }

    /// The training loss on `loss.x_start`, `loss.t`, `loss.noise` and the gradient of every parameter.
    ///
    /// For a self-conditioning Unet the reference flips its self-conditioning coin with Python's
    /// unseeded `random()`, which the case does not record, so both outcomes are computed and the
    /// one whose loss is closer is checked (and named in the report). The reference computes the
    /// loss after `unet.eval()`, so dropout is the identity here too.
    func checkLossAndGradients() throws -> [GoldenCheck] {
        let unet = try self.unet
        let diffusion = try GaussianDiffusion(unet: unet, configuration: golden.diffusion)
        let batch = try shape("loss.x_start")[0]
        let selfConditioning = unet.configuration.selfCondition
        let g = GraphBuilder()
        let built = try diffusion.buildTrainingLoss(in: g, batch: batch, timesteps: .input("t"), noise: .input("noise"),
                                                    selfConditioning: .input("self_condition_coin"), evaluationMode: true)
        let compiled = try CompiledGraph(g, differentiating: built.loss, queue: queue)
        try unet.loadStateDict(weights, into: compiled.parameters, queue: queue)
        try compiled.setInput(built.imageInput, tensor("loss.x_start"))
        try compiled.setInput("t", integers: io.int32s("loss.t"))
        try compiled.setInput("noise", tensor("loss.noise"))
        let expectedLoss = try tensor("loss.value")
        var best: (error: Double, gradients: [String: [Float]], coin: Float)?
        let coins: [Float] = selfConditioning ? [0, 1] : [0]
        for coin in coins {
            if selfConditioning { try compiled.setInput("self_condition_coin", [coin]) }
            try compiled.run()
            let error = GoldenContext.maxAbs(try compiled.readOutput("loss"), expectedLoss)
            if best == nil || error < best!.error { best = (error, try compiled.readGradients(), coin) }
        }
        let chosen = best!
        var worst = (error: 0.0, name: "")
        for spec in unet.parameterSpecs {
            let e = GoldenContext.nmse(chosen.gradients[spec.name] ?? [], try tensor("grad." + spec.name))
            if !(e <= worst.error) { worst = (e, spec.name) }
        }
        let coinNote = selfConditioning ? (chosen.coin == 1 ? "with self-conditioning" : "without self-conditioning") : ""
        return [
            GoldenCheck(name: "loss.value", metric: .maxAbs, error: chosen.error, tolerance: GoldenRunner.Tolerance.loss, detail: coinNote),
            GoldenCheck(name: "grad (\(unet.parameterSpecs.count) parameters)", metric: .nmse, error: worst.error,
                        tolerance: GoldenRunner.Tolerance.gradientNMSE, detail: "worst: \(worst.name)"),
        ]
    }

    /// The linear, cosine and sigmoid betas and the case's ᾱ (host math, the same on every device).
    func checkSchedules() throws -> [GoldenCheck] {
        func relative(_ a: [Float], _ b: [Float]) -> Double {
            guard a.count == b.count else { return .infinity }
            return zip(a, b).map { x, y in Swift.abs(Double(x) - Double(y)) / Swift.max(Swift.abs(Double(y)), Double.leastNormalMagnitude) }
                .max() ?? 0
        }
        var checks: [GoldenCheck] = []
        for name in ["linear", "cosine", "sigmoid"] {
            let expected = try tensor("schedule.\(name).betas")
            let betas = try BetaSchedule(name: name).betas(timesteps: expected.count).map(Float.init)
            checks.append(GoldenCheck(name: "schedule.\(name).betas", metric: .maxRelative, error: relative(betas, expected),
                                      tolerance: GoldenRunner.Tolerance.schedule, detail: ""))
        }
        let ac = try golden.diffusion.noiseSchedule().alphasCumprod
        checks.append(GoldenCheck(name: "schedule.alphas_cumprod", metric: .maxRelative,
                                  error: relative(ac, try tensor("schedule.alphas_cumprod")),
                                  tolerance: GoldenRunner.Tolerance.schedule, detail: golden.diffusion.betaSchedule.name))
        return checks
    }

    /// The DDIM chain (`ddim_sample`) from `ddim.x_T`; later noise draws are zeros in the reference run.
    func checkDDIM() throws -> [GoldenCheck] {
        let unet = try self.unet
        let c = golden.diffusion
        let diffusion = try GaussianDiffusion(unet: unet, configuration: c)
        let xT = try tensor("ddim.x_T")
        let sampler = try DiffusionSampler(diffusion: diffusion, sampler: DDIMSampler(steps: c.resolvedSamplingTimesteps, eta: c.ddimSamplingEta),
                                           batch: try shape("ddim.x_T")[0], queue: queue, recordedNoise: true)
        try sampler.loadWeights(weights)
        let zeros = [Float](repeating: 0, count: sampler.noisyStepCount * xT.count)
        let out = try sampler.sample(noise: .recorded(xT: xT, noise: zeros))
        return [GoldenCheck(name: "ddim.out (\(sampler.times.count) steps)", metric: .maxAbs,
                            error: GoldenContext.maxAbs(out, try tensor("ddim.out")), tolerance: GoldenRunner.Tolerance.chain, detail: "")]
    }

    /// The ancestral chain (`p_sample_loop`) of the `ddpm` settings from `ddpm.x_T` with the
    /// recorded noise (`ddpm.noise[i]` drawn at timestep T−1−i).
    func checkDDPM() throws -> [GoldenCheck] {
        let unet = try self.unet
        let diffusion = try GaussianDiffusion(unet: unet, configuration: golden.ddpm)
        let sampler = try DiffusionSampler(diffusion: diffusion, sampler: DDPMSampler(), batch: try shape("ddpm.x_T")[0], queue: queue,
                                           recordedNoise: true)
        try sampler.loadWeights(weights)
        let out = try sampler.sample(noise: .recorded(xT: try tensor("ddpm.x_T"), noise: try tensor("ddpm.noise")))
        return [GoldenCheck(name: "ddpm.out (\(sampler.times.count) steps)", metric: .maxAbs,
                            error: GoldenContext.maxAbs(out, try tensor("ddpm.out")), tolerance: GoldenRunner.Tolerance.chain, detail: "")]
    }
}
