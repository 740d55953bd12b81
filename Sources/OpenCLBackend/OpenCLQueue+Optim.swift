import Devices

/// Host side of `optim.cl`: the Adam/AdamW step, the EMA update and the gradient-clip factor.
extension OpenCLQueue {
    static let optimFile = "optim.cl"

    func adam(_ a: Adam, param: BufferSlice, grad: BufferSlice, m: BufferSlice, v: BufferSlice, hyper: BufferSlice,
              family: String) throws {
        if a.count == 0 { return }
        let factors = DeviceTensor.scratch(try scratchMemory(bytes: 8))
        try dispatch(Self.optimFile, "adam_prepare", family: family, global: [1]) { args in
            try args.tensor(hyper)
            try args.bind(factors)
            try args.float(a.beta1)
            try args.float(a.beta2)
        }
        try dispatch(Self.optimFile, "adam", family: family, global: [(a.count + 7) / 8]) { args in
            for tensor in [param, grad, m, v, hyper] { try args.tensor(tensor) }
            try args.bind(factors)
            try args.int(a.count)
            try args.float(a.beta1)
            try args.float(a.beta2)
            try args.float(a.eps)
            try args.float(a.weightDecay)
        }
    }

    func emaUpdate(count: Int, ema: BufferSlice, param: BufferSlice, hyper: BufferSlice, family: String) throws {
        try dispatch(Self.optimFile, "ema_update", family: family, global: [(count + 7) / 8]) { args in
            try args.tensor(ema)
            try args.tensor(param)
            try args.tensor(hyper)
            try args.int(count)
        }
    }

    func gradClipScale(maxNorm: Float, sumOfSquares: BufferSlice, scale: BufferSlice, family: String) throws {
        try dispatch(Self.optimFile, "grad_clip_scale", family: family, global: [1]) { args in
            try args.tensor(sumOfSquares)
            try args.tensor(scale)
            try args.float(maxNorm)
        }
    }
}
