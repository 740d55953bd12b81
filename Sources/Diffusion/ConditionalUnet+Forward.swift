import Graph

/// The forward dataflow of the reference's class-conditional Unet (its `forward` method).
struct ConditionalUnetForward {
    let g: GraphBuilder
    let w: UnetWeights
    let config: ConditionalUnetConfiguration

    func run(_ x0: Tensor, time: Tensor, classes: Tensor, keep: Tensor?) throws -> Tensor {
        let n = x0.shape[0]
        let c = try g.scope("classes") { try classEmbedding(classes, keep: keep, batch: n) }
        var x = try g.scope("init_conv") { try conv(x0, "init_conv") }
        let r = x
        let t = try g.scope("time_mlp") {
            let emb = try g.timestepEmbedding(time, dim: config.dim)
            let h = try g.gelu(g.linear(emb, weight: w("time_mlp.1.weight"), bias: w("time_mlp.1.bias")))
            return try g.linear(h, weight: w("time_mlp.3.weight"), bias: w("time_mlp.3.bias"))
        }
        // Every ResnetBlock's mlp is `SiLU` then `Linear` of `cat(t, c)`; the SiLU of the
        // concatenation is the same for all of them, so it is computed once.
        let condition = try g.silu(g.concat([t, c], axis: 1))

        let stages = config.stages
        var skips: [Tensor] = []
        for i in stages.indices {
            let p = "downs.\(i)"
            x = try resnet(x, p + ".0", condition)
            skips.append(x)
            x = try resnet(x, p + ".1", condition)
            x = try g.add(linearAttention(x, p + ".2"), x)
            skips.append(x)
            x = try g.scope(p + ".3") {
                if i < stages.count - 1 { return try downsample(x, p + ".3") }
                return try conv(x, p + ".3")
            }
        }
        x = try resnet(x, "mid_block1", condition)
        x = try g.add(fullAttention(x, "mid_attn"), x)
        x = try resnet(x, "mid_block2", condition)
        for j in stages.indices {
            let p = "ups.\(j)"
            x = try resnet(g.concat([x, skips.removeLast()], axis: 1), p + ".0", condition)
            x = try resnet(g.concat([x, skips.removeLast()], axis: 1), p + ".1", condition)
            x = try g.add(linearAttention(x, p + ".2"), x)
            x = try g.scope(p + ".3") {
                if j < stages.count - 1 { return try conv(g.upsampleNearest(x, 2), p + ".3.1") }
                return try conv(x, p + ".3")
            }
        }
        x = try resnet(g.concat([x, r], axis: 1), "final_res_block", condition)
        return try g.scope("final_conv") { try conv(x, "final_conv") }
    }

    /// `classes_mlp(where(keep, classes_emb(classes), null_classes_emb))` → `[N, 4·dim]`.
    ///
    /// The lookup is a product with a one-hot matrix, so the embedding table gets its gradient
    /// from the ordinary matmul backward. The one-hot entry of class k is
    /// `relu(1 − |classes − k|)` with `|d| = relu(d) + relu(−d)`: for integer-valued floats every
    /// step is exact, so the row is exactly 1 at k and 0 elsewhere, and the product copies the
    /// embedding row bit for bit. The keep mask blends the same way, `keep·e + (1 − keep)·null`,
    /// exact for a mask of 0s and 1s.
    func classEmbedding(_ classes: Tensor, keep: Tensor?, batch n: Int) throws -> Tensor {
        let k = config.numClasses
        let indices = try g.constant((0..<k).map(Float.init), shape: [1, k])
        let d = try g.sub(g.reshape(classes, [n, 1]), indices)                              // [N, K]
        let distance = try g.add(g.relu(d), g.relu(g.neg(d)))
        let oneHot = try g.relu(g.affine(distance, scale: -1, shift: 1))
        var emb = try g.matmul(oneHot, w("classes_emb.weight"))                             // [N, dim]
        if let keep {
            let mask = try g.reshape(keep, [n, 1])
            let null = try g.reshape(w("null_classes_emb"), [1, config.dim])
            emb = try g.add(g.mul(mask, emb), g.mul(g.affine(mask, scale: -1, shift: 1), null))
        }
        let h = try g.gelu(g.linear(emb, weight: w("classes_mlp.0.weight"), bias: w("classes_mlp.0.bias")))
        return try g.linear(h, weight: w("classes_mlp.2.weight"), bias: w("classes_mlp.2.bias"))
    }

    /// `nn.Conv2d` with "same" padding (kernel/2), bias when the layer has one.
    func conv(_ x: Tensor, _ prefix: String) throws -> Tensor {
        try g.conv2d(x, w(prefix + ".weight"), bias: w.tensors[prefix + ".bias"])
    }

    /// `nn.Conv2d(dim_in, dim_out, 4, stride 2, padding 1)` with stride-1 kernels only: pad by 1,
    /// space-to-depth by 2, then a 2×2 convolution without padding whose weights are the 4×4
    /// kernel's taps regrouped by parity. Output `[y, x]` of both reads the padded input at
    /// `(2y + ky, 2x + kx)`: tap `(ky, kx) = (2a + i, 2b + j)` is the unshuffled channel
    /// `c·4 + i·2 + j` at offset `(a, b)`. Same products and sums as the strided convolution,
    /// no wasted work.
    func downsample(_ x: Tensor, _ prefix: String) throws -> Tensor {
        let weight = try w(prefix + ".weight")                                            // [O, C, 4, 4]
        let (o, c) = (weight.shape[0], weight.shape[1])
        let taps = try g.reshape(weight, [o, c, 2, 2, 2, 2])                               // [O, C, a, i, b, j]
        let regrouped = try g.reshape(g.permute(taps, [0, 1, 3, 5, 2, 4]), [o, 4 * c, 2, 2]) // [O, (C i j), a, b]
        let padded = try g.pad(g.pad(x, axis: 2, before: 1, after: 1), axis: 3, before: 1, after: 1)
        return try g.conv2d(g.pixelUnshuffle(padded, 2), regrouped, bias: w(prefix + ".bias"), padding: 0)
    }

    /// `RMSNorm`: `F.normalize(x, dim=1) · g · √C`.
    func rmsNorm(_ x: Tensor, _ prefix: String) throws -> Tensor {
        try g.rmsNorm(x, gain: w(prefix + ".g"))
    }

    /// `ResnetBlock`: `block2(block1(x, scale_shift)) + res_conv(x)`, the scale and shift from
    /// `mlp(cat(t, c))` (first half scales).
    func resnet(_ x: Tensor, _ p: String, _ condition: Tensor) throws -> Tensor {
        try g.scope(p) {
            let ss = try g.linear(condition, weight: w(p + ".mlp.1.weight"), bias: w(p + ".mlp.1.bias"))
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

    /// q, k, v of `to_qkv(norm(x))`, each `[B, heads, dim_head, H·W]` (channel = head·dim_head + c).
    private func projections(_ x: Tensor, _ p: String, heads: Int, dimHead: Int) throws -> (q: Tensor, k: Tensor, v: Tensor) {
        let (b, hw) = (x.shape[0], x.shape[2] * x.shape[3])
        let qkv = try g.chunk(g.conv2d(rmsNorm(x, p + ".fn.norm"), w(p + ".fn.fn.to_qkv.weight")), 3, axis: 1)
        return (try g.reshape(qkv[0], [b, heads, dimHead, hw]), try g.reshape(qkv[1], [b, heads, dimHead, hw]),
                try g.reshape(qkv[2], [b, heads, dimHead, hw]))
    }

    /// `PreNorm(LinearAttention)` without memory key/values: `softmax_d(q)·scale`,
    /// `softmax_n(k)`, context `k·vᵀ`, `out = contextᵀ·q`, then `to_out` = conv 1×1 + RMSNorm.
    func linearAttention(_ x: Tensor, _ p: String) throws -> Tensor {
        try g.scope(p) {
            let (heads, dimHead) = (ConditionalUnetConfiguration.linearAttentionHeads, ConditionalUnetConfiguration.linearAttentionDimHead)
            let (b, hh, ww) = (x.shape[0], x.shape[2], x.shape[3])
            let pr = try projections(x, p, heads: heads, dimHead: dimHead)
            let q = try g.mul(g.softmax(pr.q, axis: 2), UnetForward.attentionScale(dimHead))
            let k = try g.softmax(pr.k, axis: 3)
            let context = try g.matmul(k, pr.v, transB: true)               // [B, h, d, e]
            let out = try g.matmul(context, q, transA: true)                // [B, h, e, n]
            let merged = try g.reshape(out, [b, heads * dimHead, hh, ww])
            return try rmsNorm(conv(merged, p + ".fn.fn.to_out.0"), p + ".fn.fn.to_out.1")
        }
    }

    /// `PreNorm(Attention)` without memory key/values: `softmax_j(qᵀ·k·scale)`, `out = v·attnᵀ`
    /// in head-major channel order, then `to_out` (conv 1×1).
    func fullAttention(_ x: Tensor, _ p: String) throws -> Tensor {
        try g.scope(p) {
            let (heads, dimHead) = (config.attnHeads, config.attnDimHead)
            let (b, hh, ww) = (x.shape[0], x.shape[2], x.shape[3])
            let pr = try projections(x, p, heads: heads, dimHead: dimHead)
            let sim = try g.matmul(pr.q, pr.k, transA: true, alpha: UnetForward.attentionScale(dimHead))  // [B, h, n, n]
            let attn = try g.softmax(sim, axis: 3)
            let out = try g.matmul(pr.v, attn, transB: true)                // [B, h, d, n]
            return try conv(g.reshape(out, [b, heads * dimHead, hh, ww]), p + ".fn.fn.to_out")
        }
    }
}
