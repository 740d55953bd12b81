import Graph

extension UnetForward {
    /// `LinearAttention` or full `Attention` of one stage (the caller adds the residual).
    func attention(_ x: Tensor, _ p: String, stage: UnetConfiguration.Stage) throws -> Tensor {
        try g.scope(p) {
            stage.fullAttention ? try fullAttention(x, p, heads: stage.heads, dimHead: stage.dimHead)
                                : try linearAttention(x, p, heads: stage.heads, dimHead: stage.dimHead)
        }
    }

    /// q, k, v of `to_qkv(norm(x))`, each `[B, heads, dim_head, H·W]` (channel = head·dim_head + c,
    /// the reference's `b (h c) x y -> b h c (x y)`), and the memory key/values `[B, heads, dim_head, 4]`.
    private func projections(_ x: Tensor, _ p: String, heads: Int, dimHead: Int, memoryTransposed: Bool)
        throws -> (q: Tensor, k: Tensor, v: Tensor, memK: Tensor, memV: Tensor)
    {
        let (b, hw) = (x.shape[0], x.shape[2] * x.shape[3])
        let normed = try rmsNorm(x, p + ".norm")
        let qkv = try g.chunk(g.conv2d(normed, w(p + ".to_qkv.weight")), 3, axis: 1)
        let (q, k, v) = try (g.reshape(qkv[0], [b, heads, dimHead, hw]), g.reshape(qkv[1], [b, heads, dimHead, hw]),
                             g.reshape(qkv[2], [b, heads, dimHead, hw]))
        // mem_kv is [2, heads, dim_head, 4] (linear) or [2, heads, 4, dim_head] (full).
        let mem = try w(p + ".mem_kv")
        let slots = mem.shape[memoryTransposed ? 2 : 3]
        func memory(_ index: Int) throws -> Tensor {
            var m = try g.slice(mem, axis: 0, start: index, length: 1)
            if memoryTransposed { m = try g.transpose(m, 2, 3) }
            return try g.expand(m, to: [b, heads, dimHead, slots])
        }
        return (q, k, v, try memory(0), try memory(1))
    }

    /// `LinearAttention`: `softmax_d(q)·scale`, `softmax_n([mem_k ‖ k])`, context `k·vᵀ`,
    /// `out = contextᵀ·q`, then `to_out` = conv 1×1 + RMSNorm.
    func linearAttention(_ x: Tensor, _ p: String, heads: Int, dimHead: Int) throws -> Tensor {
        let (b, hh, ww) = (x.shape[0], x.shape[2], x.shape[3])
        let pr = try projections(x, p, heads: heads, dimHead: dimHead, memoryTransposed: false)
        let k = try g.softmax(g.concat([pr.memK, pr.k], axis: 3), axis: 3)
        let v = try g.concat([pr.memV, pr.v], axis: 3)
        let q = try g.mul(g.softmax(pr.q, axis: 2), UnetForward.attentionScale(dimHead))
        let context = try g.matmul(k, v, transB: true)                 // [B, h, d, e] = Σn k[d,n]·v[e,n]
        let out = try g.matmul(context, q, transA: true)               // [B, h, e, n] = Σd context[d,e]·q[d,n]
        let merged = try g.reshape(out, [b, heads * dimHead, hh, ww])
        return try rmsNorm(conv(merged, p + ".to_out.0"), p + ".to_out.1")
    }

    /// `Attention`: `softmax_j(qᵀ·[mem_k ‖ k]·scale)`, `out = [mem_v ‖ v]·attnᵀ` in head-major
    /// channel order, then `to_out` (conv 1×1, no norm).
    func fullAttention(_ x: Tensor, _ p: String, heads: Int, dimHead: Int) throws -> Tensor {
        let (b, hh, ww) = (x.shape[0], x.shape[2], x.shape[3])
        let pr = try projections(x, p, heads: heads, dimHead: dimHead, memoryTransposed: true)
        let k = try g.concat([pr.memK, pr.k], axis: 3)
        let v = try g.concat([pr.memV, pr.v], axis: 3)
        let sim = try g.matmul(pr.q, k, transA: true, alpha: UnetForward.attentionScale(dimHead))   // [B, h, n, 4+n]
        let attn = try g.softmax(sim, axis: 3)
        let out = try g.matmul(v, attn, transB: true)                  // [B, h, d, n]
        return try conv(g.reshape(out, [b, heads * dimHead, hh, ww]), p + ".to_out")
    }
}

extension UnetForward {
    /// `dim_head ** -0.5`, computed in double and rounded once, as PyTorch scales by a Python float.
    static func attentionScale(_ dimHead: Int) -> Float { Float(1 / Double(dimHead).squareRoot()) }
}
