#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Graph

/// DPM-Solver++ (Lu et al. 2022), multistep, as diffusers 0.42's `DPMSolverMultistepScheduler`
/// with `algorithm_type="dpmsolver++"`, `solver_type="midpoint"`, `final_sigmas_type="zero"`
/// computes it: an exponential integrator of the probability-flow ODE in x̂₀ form, which reaches
/// in 15–25 steps what DDIM needs 50–100 for.
///
/// With σ_t = √(1−ᾱ_t), α_t = √ᾱ_t and λ_t = log(α_t/σ_t) (half the log-SNR), a step from s to t
/// with h = λ_t − λ_s integrates the ODE exactly for a constant x̂₀:
///
///     x_t = (σ_t/σ_s)·x_s − α_t·(e^{−h} − 1)·D
///
/// where D = x̂₀(x_s, s) for the first-order step (DDIM in other clothes); the second-order
/// multistep update adds a finite-difference slope from the previous step's x̂₀,
/// `D = m₀ + ½·(m₀ − m₁)/r₀` with `r₀ = h₀/h` (the midpoint rule), and the third order one more.
/// Every update is linear in x_s and the last one to three x̂₀, so the host computes the weights
/// of each (`ratio`, `c0`, `c1`, `c2`) per step and the graph only multiplies and adds: the
/// previous x̂₀ are the sampler's carried state.
///
/// The reference's choices: the first steps use lower orders (there is no history yet); the last
/// step goes to σ = 0 (`final_sigmas_type="zero"`), where the first-order update returns x̂₀
/// exactly; with `lowerOrderFinal` and fewer than 15 steps the second-to-last step is at most of
/// second order (a third-order step over a large h is unstable). x̂₀ is clipped to [−1, 1] as every
/// sampler here does; in diffusers that is `thresholding=True` with `sample_max_value=1.0` (the
/// dynamic threshold is clamped to exactly 1). Deterministic: no noise after x_T.
public struct DPMSolverSampler: Sampler, Equatable {
    /// How the model timesteps are spread over `0 ..< T` (diffusers' `timestep_spacing`).
    public enum Spacing: String, CaseIterable, Sendable {
        /// `round(linspace(0, T−1, N+1))`, reversed, without the 0: from T−1 down (the default).
        case linspace
        /// `(0, 1, …, N)·(T div (N+1))`, reversed, without the 0.
        case leading
        /// `round(arange(T, 0, −T/N)) − 1`: from T−1 down in equal strides, ending near T/N − 1.
        case trailing
    }

    public let steps: Int
    /// 1, 2 (DPM-Solver++ 2M, the default) or 3.
    public let order: Int
    public let spacing: Spacing
    public let lowerOrderFinal: Bool

    public init(steps: Int, order: Int = 2, spacing: Spacing = .linspace, lowerOrderFinal: Bool = true) {
        self.steps = steps
        self.order = order
        self.spacing = spacing
        self.lowerOrderFinal = lowerOrderFinal
    }

    public var description: String {
        "DPM-Solver++ (\(steps) steps, order \(order), \(spacing.rawValue) spacing\(lowerOrderFinal ? "" : ", no lower-order final steps"))"
    }

    public var coefficientNames: [String] { ["ratio", "c0", "c1", "c2"].prefix(order + 1).map { $0 } }
    public var carriedState: [String] { ["x0_prev", "x0_prev2"].prefix(order - 1).map { $0 } }

    /// The model timesteps for `timesteps` training steps, in chain order (diffusers' `set_timesteps`).
    public func times(trainingTimesteps T: Int) throws -> [Int] {
        guard (1...3).contains(order) else { throw DiffusionError.invalidConfiguration("the DPM-Solver++ order must be 1, 2 or 3, got \(order)") }
        guard (1...T).contains(steps) else {
            throw DiffusionError.invalidConfiguration("steps must be in 1...\(T) (the model's timesteps), got \(steps)")
        }
        let times: [Int]
        switch spacing {
        case .linspace:
            // numpy's linspace: i·step + start in float64, the end point set exactly; then
            // numpy's round (half to even).
            let step = Double(T - 1) / Double(steps)
            times = (0...steps).map { i in i == steps ? Double(T - 1) : Double(i) * step }
                .map { Int($0.rounded(.toNearestOrEven)) }.reversed().dropLast().map { $0 }
        case .leading:
            let ratio = T / (steps + 1)
            times = (0...steps).map { $0 * ratio }.reversed().dropLast().map { $0 }
        case .trailing:
            // numpy's arange(T, 0, −ratio): ⌈T/ratio⌉ elements T − i·ratio.
            let ratio = Double(T) / Double(steps)
            let count = Int((Double(-T) / -ratio).rounded(.up))
            times = (0..<count).map { Int((Double(T) - Double($0) * ratio).rounded(.toNearestOrEven)) - 1 }
        }
        // Repeated timesteps (more steps than distinct rounded times) would make h = 0.
        guard zip(times, times.dropFirst()).allSatisfy({ $0 > $1 }), times.last! >= 0 else {
            throw DiffusionError.invalidConfiguration("\(steps) steps with \(spacing.rawValue) spacing repeat timesteps of a \(T)-step model: \(times)")
        }
        return times
    }

    public func plan(_ schedule: NoiseSchedule) throws -> SamplerPlan { try plan(schedule, skippingFirst: 0) }

    /// The chain from step `skipped` on, its order ramping up again from there (no history), as
    /// diffusers' image-to-image pipelines run the scheduler from `begin_index`.
    public func plan(_ schedule: NoiseSchedule, skippingFirst skipped: Int) throws -> SamplerPlan {
        let times = try times(trainingTimesteps: schedule.timesteps)
        guard skipped >= 0, skipped < times.count else {
            throw DiffusionError.invalidConfiguration("cannot skip \(skipped) of the \(times.count) steps of the chain")
        }
        // σ here is diffusers' √((1−ᾱ)/ᾱ) (float32, as its table), then α_t = 1/√(σ²+1) and
        // σ_t = σ·α_t; the last target is σ = 0 (α = 1).
        let sigmas: [Double] = times.map { t in
            let ac = schedule.alphasCumprod[t]
            return Double(((1 - ac) / ac).squareRoot())
        } + [0]
        func alphaSigma(_ s: Double) -> (alpha: Double, sigma: Double) { let a = 1 / (s * s + 1).squareRoot(); return (a, s * a) }
        func lambda(_ s: Double) -> Double { let (a, sg) = alphaSigma(s); return log(a) - log(sg) }
        let n = times.count
        var rows: [[Float]] = []
        for i in skipped..<n {
            // The order this step runs at: limited by the history so far and, near the end, by
            // the reference's lower-order rules.
            var stepOrder = min(order, i - skipped + 1)
            if i == n - 1 { stepOrder = 1 }  // final_sigmas_type "zero": σ = 0 is reached by a first-order step
            if i == n - 2, lowerOrderFinal, n < 15 { stepOrder = min(stepOrder, 2) }
            let (alphaT, sigmaT) = alphaSigma(sigmas[i + 1])
            let sigmaS0 = alphaSigma(sigmas[i]).sigma
            var row = [Double](repeating: 0, count: order + 1)
            if i == n - 1 {
                // σ_t = 0: λ_t = ∞, e^{−h} = 0, so x_t = x̂₀ whatever the order.
                row[1] = 1
            } else {
                let h = lambda(sigmas[i + 1]) - lambda(sigmas[i])
                let phi = -alphaT * (exp(-h) - 1)  // −α_t(e^{−h} − 1) > 0, the weight of D
                row[0] = sigmaT / sigmaS0
                switch stepOrder {
                case 1:
                    row[1] = phi
                case 2:
                    // D = m₀ + ½·(m₀ − m₁)/r₀.
                    let r0 = (lambda(sigmas[i]) - lambda(sigmas[i - 1])) / h
                    row[1] = phi * (1 + 0.5 / r0)
                    row[2] = -phi * 0.5 / r0
                default:
                    // diffusers' multistep_dpm_solver_third_order_update, expanded in m₀, m₁, m₂:
                    // D1₀ = (m₀ − m₁)/r₀, D1₁ = (m₁ − m₂)/r₁, D1 = D1₀ + r₀/(r₀+r₁)·(D1₀ − D1₁),
                    // D2 = (D1₀ − D1₁)/(r₀+r₁), x = ratio·x − α(e^{−h}−1)·m₀ + α((e^{−h}−1)/h + 1)·D1
                    // − α(((e^{−h}−1)/h + 1)/h − ½)·D2.
                    let (l0, l1, l2) = (lambda(sigmas[i]), lambda(sigmas[i - 1]), lambda(sigmas[i - 2]))
                    let r0 = (l0 - l1) / h, r1 = (l1 - l2) / h
                    let e = exp(-h) - 1
                    let b1 = alphaT * (e / h + 1), b2 = -alphaT * ((e / h + 1) / h - 0.5)
                    // D1₀ = a·(m₀ − m₁), D1₁ = b·(m₁ − m₂).
                    let a = 1 / r0, b = 1 / r1, k = r0 / (r0 + r1), q = 1 / (r0 + r1)
                    // D1 = (1+k)·D1₀ − k·D1₁, D2 = q·(D1₀ − D1₁).
                    let w0 = b1 * (1 + k) + b2 * q   // weight of D1₀
                    let w1 = -b1 * k - b2 * q        // weight of D1₁
                    row[1] = phi + w0 * a
                    row[2] = -w0 * a + w1 * b
                    row[3] = -w1 * b
                }
            }
            rows.append(row.map { Float($0) })
        }
        return SamplerPlan(times: Array(times.dropFirst(skipped)), coefficients: rows, noisyStepCount: 0)
    }

    public func update(_ g: GraphBuilder, _ s: SamplerStepInputs) throws -> SamplerUpdate {
        var next = try g.add(g.mul(s.coefficient("ratio"), s.x), g.mul(s.coefficient("c0"), s.xStart))
        var state: [String: Tensor] = [:]
        if order >= 2 {
            let previous = try s.state("x0_prev")
            next = try g.add(next, g.mul(s.coefficient("c1"), previous))
            state["x0_prev"] = s.xStart
            if order >= 3 {
                next = try g.add(next, g.mul(s.coefficient("c2"), s.state("x0_prev2")))
                state["x0_prev2"] = previous
            }
        }
        return SamplerUpdate(next: next, state: state)
    }
}
