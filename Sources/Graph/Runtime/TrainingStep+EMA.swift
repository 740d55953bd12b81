import Devices

/// What a step does to the EMA.
enum EMAAction { case none, copy, update }

extension TrainingStep {
    /// The EMA action of the step that follows `k` completed steps (ema-pytorch's `update()`).
    func emaAction(forStep k: Int) -> EMAAction {
        guard let c = configuration.ema, ema != nil, c.updateEvery >= 1, k % c.updateEvery == 0 else { return .none }
        return k <= c.updateAfterStep ? .copy : .update
    }

    /// The launches of a step that steps the EMA: `step` is the Adam step count after this
    /// step's increment (`k + 1`), `decay` the EMA's 1-float hyper buffer.
    static func emaUpdate(_ c: EMAConfiguration, step: BufferSlice, decay: BufferSlice,
                          parameters: ParameterStore, ema: ParameterStore, device: Device) throws -> Schedule {
        var launches: [Launch] = []
        func add(_ kernel: Kernel, _ operands: [BufferSlice], _ label: String) throws {
            guard device.supports(kernel) else {
                throw GraphError.unsupportedKernel(device: device.info.name, kernel: kernel.caseDescription, node: label)
            }
            try kernel.validate(operands, on: device.info.name)
            launches.append(Launch(kernel: kernel, operands: operands, label: label))
        }
        if c.warmup {
            // decay = clamp(1 − t^(−power), minValue, beta), t = max(1 + (k − after)/invGamma, 1), k = step − 1;
            // seven one-element kernels, so the schedule needs no upload as the decay warms up.
            // The Double settings rounded to Float as the kernels take them.
            let (invGamma, power) = (Float(c.invGamma), Float(c.power))
            let shift = 1 - Float(1 + c.updateAfterStep) / invGamma
            try add(.unary(.affine(scale: 1 / invGamma, shift: shift), count: 1), [step, decay], "ema/decay")
            try add(.unary(.clamp(low: 1, high: .greatestFiniteMagnitude), count: 1), [decay, decay], "ema/decay")
            try add(.unary(.log, count: 1), [decay, decay], "ema/decay")
            try add(.unary(.affine(scale: -power, shift: 0), count: 1), [decay, decay], "ema/decay")
            try add(.unary(.exp, count: 1), [decay, decay], "ema/decay")
            try add(.unary(.affine(scale: -1, shift: 1), count: 1), [decay, decay], "ema/decay")
            try add(.unary(.clamp(low: Float(c.minValue), high: Float(c.beta)), count: 1), [decay, decay], "ema/decay")
        }
        try add(.emaUpdate(count: parameters.layout.count), [ema.buffer.slice(), parameters.buffer.slice(), decay], "ema/update")
        return Schedule(launches)
    }

    /// The launch of a step that copies the weights into the EMA.
    static func emaCopy(parameters: ParameterStore, ema: ParameterStore, device: Device) throws -> Schedule {
        let kernel = Kernel.copy(.contiguous(parameters.layout.count))
        let operands = [parameters.buffer.slice(), ema.buffer.slice()]
        guard device.supports(kernel) else {
            throw GraphError.unsupportedKernel(device: device.info.name, kernel: kernel.caseDescription, node: "ema/copy")
        }
        try kernel.validate(operands, on: device.info.name)
        return Schedule([Launch(kernel: kernel, operands: operands, label: "ema/copy")])
    }
}
