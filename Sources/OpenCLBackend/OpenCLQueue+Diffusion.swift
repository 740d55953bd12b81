import Devices
import Foundation

/// Host side of `diffusion.cl`, `random.cl` and `optim.cl`: the small kernels of a training step.
extension OpenCLQueue {
    static let diffusionFile = "diffusion.cl"
    static let randomFile = "random.cl"
    static let optimFile = "optim.cl"

    func timestepEmbedding(count: Int, dim: Int, theta: Float, t: BufferSlice, out: BufferSlice,
                           family: String) throws {
        let half = dim / 2
        // The reference computes ln θ / (half − 1) in Python double precision, then rounds to float.
        let negLogStep = Float(-Foundation.log(Double(theta)) / Double(half - 1))
        try dispatch(Self.diffusionFile, "timestep_embedding", family: family, global: [count * half]) { args in
            try args.tensor(t)
            try args.tensor(out)
            try args.int(count)
            try args.int(half)
            try args.float(negLogStep)
        }
    }

    func gather(rows: Int, width: Int, tableRows: Int, table: BufferSlice, index: BufferSlice, out: BufferSlice,
                family: String) throws {
        if rows * width == 0 { return }
        guard tableRows > 0 else {
            throw DeviceError.invalidOperands(kernel: family, reason: "the table has no rows to gather from")
        }
        try dispatch(Self.diffusionFile, "gather_rows", family: family, global: [rows * width]) { args in
            try args.tensor(table)
            try args.tensor(index)
            try args.tensor(out)
            try args.int(rows)
            try args.int(width)
            try args.int(tableRows)
        }
    }

    func random(_ distribution: RandomDistribution, count: Int, stream: UInt32, state: BufferSlice,
                out: BufferSlice, family: String) throws {
        let blocks = (count + 3) / 4
        let function: String
        switch distribution {
        case .uniform: function = "random_uniform"
        case .normal: function = "random_normal"
        case .integer: function = "random_integer"
        }
        try dispatch(Self.randomFile, function, family: family, global: [blocks]) { args in
            try args.tensor(state)
            try args.tensor(out)
            try args.int(count)
            try args.uint(stream)
            switch distribution {
            case let .uniform(low, high):
                try args.float(low)
                try args.float(high)
            case let .normal(mean, std):
                try args.float(mean)
                try args.float(std)
            case let .integer(low, high):
                try args.int(Int(low))
                try args.uint(UInt32(truncatingIfNeeded: Int64(high) - Int64(low)))
            }
        }
    }

    func randomAdvance(state: BufferSlice, family: String) throws {
        try dispatch(Self.randomFile, "random_advance", family: family, global: [1]) { args in
            try args.tensor(state)
        }
    }

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
        try dispatch(Self.optimFile, "adam", family: family, global: [a.count]) { args in
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
        try dispatch(Self.optimFile, "ema_update", family: family, global: [count]) { args in
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
