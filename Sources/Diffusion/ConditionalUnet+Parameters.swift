import Graph

extension ConditionalUnetConfiguration {
    /// Every parameter in the reference's state_dict order: the Unet's own `null_classes_emb`
    /// first, then its modules in registration order (`init_conv`, `time_mlp`, `classes_emb`,
    /// `classes_mlp`, `downs`, `ups`, `mid_block1`, `mid_attn`, `mid_block2`, `final_res_block`,
    /// `final_conv`), with PyTorch's default initialisation: kaiming-uniform (a = √5) weights and
    /// U(±1/√fan_in) biases for conv and linear layers, N(0, 1) for both class embeddings,
    /// RMSNorm gains 1.
    ///
    /// The attention blocks are `Residual(PreNorm(dim, fn))`, whose `PreNorm` registers `fn`
    /// before `norm`: hence `downs.0.2.fn.fn.to_qkv.weight` before `downs.0.2.fn.norm.g`.
    public func parameterSpecs() -> [UnetParameterSpec] {
        let specs = ParameterSpecList()
        func resnet(_ p: String, _ din: Int, _ dout: Int) {
            specs.linear(p + ".mlp.1", timeDim + classesDim, 2 * dout)
            specs.conv(p + ".block1.proj", din, dout, 3)
            specs.norm(p + ".block1.norm", dout)
            specs.conv(p + ".block2.proj", dout, dout, 3)
            specs.norm(p + ".block2.norm", dout)
            if din != dout { specs.conv(p + ".res_conv", din, dout, 1) }
        }
        func linearAttention(_ p: String, _ d: Int) {
            let hidden = Self.linearAttentionHeads * Self.linearAttentionDimHead
            specs.conv(p + ".fn.fn.to_qkv", d, 3 * hidden, 1, bias: false)
            specs.conv(p + ".fn.fn.to_out.0", hidden, d, 1)
            specs.norm(p + ".fn.fn.to_out.1", d)
            specs.norm(p + ".fn.norm", d)
        }
        let initDim = resolvedInitDim
        specs.add("null_classes_emb", [dim], .normal(std: 1))
        specs.conv("init_conv", channels, initDim, 7)
        specs.linear("time_mlp.1", dim, timeDim)
        specs.linear("time_mlp.3", timeDim, timeDim)
        specs.add("classes_emb.weight", [numClasses, dim], .normal(std: 1))
        specs.linear("classes_mlp.0", dim, classesDim)
        specs.linear("classes_mlp.2", classesDim, classesDim)
        let stages = self.stages
        for (i, s) in stages.enumerated() {
            let p = "downs.\(i)"
            resnet(p + ".0", s.dimIn, s.dimIn)
            resnet(p + ".1", s.dimIn, s.dimIn)
            linearAttention(p + ".2", s.dimIn)
            specs.conv(p + ".3", s.dimIn, s.dimOut, i < stages.count - 1 ? 4 : 3)
        }
        for (j, s) in stages.reversed().enumerated() {
            let p = "ups.\(j)"
            resnet(p + ".0", s.dimOut + s.dimIn, s.dimOut)
            resnet(p + ".1", s.dimOut + s.dimIn, s.dimOut)
            linearAttention(p + ".2", s.dimOut)
            specs.conv(j < stages.count - 1 ? p + ".3.1" : p + ".3", s.dimOut, s.dimIn, 3)
        }
        let mid = stages[stages.count - 1].dimOut
        resnet("mid_block1", mid, mid)
        let hidden = attnHeads * attnDimHead
        specs.conv("mid_attn.fn.fn.to_qkv", mid, 3 * hidden, 1, bias: false)
        specs.conv("mid_attn.fn.fn.to_out", hidden, mid, 1)
        specs.norm("mid_attn.fn.norm", mid)
        resnet("mid_block2", mid, mid)
        resnet("final_res_block", 2 * initDim, initDim)
        specs.conv("final_conv", initDim, resolvedOutDim, 1)
        return specs.specs
    }
}
