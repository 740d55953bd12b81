import Devices

/// Host side of `random.cl`: Philox 4x32-10 streams (one work item per block of four) and the state advance.
extension OpenCLQueue {
    static let randomFile = "random.cl"

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
}
