import Graph

/// The forward dataflow of the reference Unet (its `forward` method), block by block.
struct UnetForward {
    let g: GraphBuilder
    let w: UnetWeights
    let config: UnetConfiguration
    /// `SiLU(time_mlp(t))`: every ResnetBlock's `mlp` starts with the same SiLU of the same input,
    /// so it is computed once.
    var timeActivation: Tensor?

    init(g: GraphBuilder, w: UnetWeights, config: UnetConfiguration) {
        self.g = g
        self.w = w
        self.config = config
    }

    mutating func run(_ x0: Tensor, time: Tensor, stages: [UnetConfiguration.Stage]) throws -> Tensor {
        var x = try g.scope("init_conv") { try conv(x0, "init_conv") }
        let r = x
        let t = try g.scope("time_mlp") {
            let emb = try g.timestepEmbedding(time, dim: config.dim, theta: Float(config.sinusoidalPosEmbTheta))
            let h = try g.gelu(g.linear(emb, weight: w("time_mlp.1.weight"), bias: w("time_mlp.1.bias")))
            return try g.linear(h, weight: w("time_mlp.3.weight"), bias: w("time_mlp.3.bias"))
        }
        timeActivation = try g.silu(t)

        var skips: [Tensor] = []
        for (i, s) in stages.enumerated() {
            let p = "downs.\(i)"
            x = try resnet(x, p + ".0")
            skips.append(x)
            x = try resnet(x, p + ".1")
            x = try g.add(attention(x, p + ".2", stage: s), x)
            skips.append(x)
            x = try g.scope(p + ".3") {
                if i < stages.count - 1 { return try conv(g.pixelUnshuffle(x, 2), p + ".3.1") }
                return try conv(x, p + ".3")
            }
        }
        x = try resnet(x, "mid_block1")
        let last = stages[stages.count - 1]
        x = try g.add(attention(x, "mid_attn", stage: UnetConfiguration.Stage(
            dimIn: last.dimOut, dimOut: last.dimOut, fullAttention: true, heads: last.heads, dimHead: last.dimHead)), x)
        x = try resnet(x, "mid_block2")

        for (j, s) in stages.reversed().enumerated() {
            let p = "ups.\(j)"
            x = try resnet(g.concat([x, skips.removeLast()], axis: 1), p + ".0")
            x = try resnet(g.concat([x, skips.removeLast()], axis: 1), p + ".1")
            x = try g.add(attention(x, p + ".2", stage: s), x)
            x = try g.scope(p + ".3") {
                if j < stages.count - 1 { return try conv(g.upsampleNearest(x, 2), p + ".3.1") }
                return try conv(x, p + ".3")
            }
        }
        x = try resnet(g.concat([x, r], axis: 1), "final_res_block")
        return try g.scope("final_conv") { try conv(x, "final_conv") }
    }

    /// `nn.Conv2d` with the reference's "same" padding (kernel/2), bias when the layer has one.
    func conv(_ x: Tensor, _ prefix: String) throws -> Tensor {
        let bias = w.tensors[prefix + ".bias"]
        return try g.conv2d(x, w(prefix + ".weight"), bias: bias)
    }

    /// `RMSNorm`: `F.normalize(x, dim=1) · g · √C`.
    func rmsNorm(_ x: Tensor, _ prefix: String) throws -> Tensor {
        try g.rmsNorm(x, gain: w(prefix + ".g"))
    }

    /// `ResnetBlock`: `block2(block1(x, scale_shift)) + res_conv(x)`.
    func resnet(_ x: Tensor, _ p: String) throws -> Tensor {
        try g.scope(p) {
            // `time_emb.chunk(2, dim=1)`: the first half scales, the second shifts (one `[N, 2C]` operand).
            let ss = try g.linear(timeActivation!, weight: w(p + ".mlp.1.weight"), bias: w(p + ".mlp.1.bias"))
            // norm, scale-shift and SiLU as one kernel; dropout would follow (only the evaluation
            // form, the identity, is built).
            let h1 = try g.scope("block1") {
                try g.rmsNormScaleShiftSilu(conv(x, p + ".block1.proj"), gain: w(p + ".block1.norm.g"), scaleShift: ss)
            }
            let h2 = try g.scope("block2") {
                try g.rmsNormScaleShiftSilu(conv(h1, p + ".block2.proj"), gain: w(p + ".block2.norm.g"))
            }
            let residual = w.tensors[p + ".res_conv.weight"] != nil ? try conv(x, p + ".res_conv") : x
            return try g.add(h2, residual)
        }
    }
}
