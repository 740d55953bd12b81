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
        var specs: [UnetParameterSpec] = []
        func add(_ name: String, _ shape: [Int], _ initializer: Initializer) {
            specs.append(UnetParameterSpec(name: name, shape: shape, initializer: initializer))
        }
        func conv(_ p: String, _ cin: Int, _ cout: Int, _ k: Int, bias: Bool = true) {
            add(p + ".weight", [cout, cin, k, k], .pytorchDefault(fanIn: cin * k * k))
            if bias { add(p + ".bias", [cout], .pytorchDefault(fanIn: cin * k * k)) }
        }
        func linear(_ p: String, _ fin: Int, _ fout: Int) {
            add(p + ".weight", [fout, fin], .pytorchDefault(fanIn: fin))
            add(p + ".bias", [fout], .pytorchDefault(fanIn: fin))
        }
        func norm(_ p: String, _ c: Int) { add(p + ".g", [1, c, 1, 1], .ones) }
        func resnet(_ p: String, _ din: Int, _ dout: Int) {
            linear(p + ".mlp.1", timeDim + classesDim, 2 * dout)
            conv(p + ".block1.proj", din, dout, 3)
            norm(p + ".block1.norm", dout)
            conv(p + ".block2.proj", dout, dout, 3)
            norm(p + ".block2.norm", dout)
            if din != dout { conv(p + ".res_conv", din, dout, 1) }
        }
        func linearAttention(_ p: String, _ d: Int) {
            let hidden = Self.linearAttentionHeads * Self.linearAttentionDimHead
            conv(p + ".fn.fn.to_qkv", d, 3 * hidden, 1, bias: false)
            conv(p + ".fn.fn.to_out.0", hidden, d, 1)
            norm(p + ".fn.fn.to_out.1", d)
            norm(p + ".fn.norm", d)
        }
        let initDim = resolvedInitDim
        add("null_classes_emb", [dim], .normal(std: 1))
        conv("init_conv", channels, initDim, 7)
        linear("time_mlp.1", dim, timeDim)
        linear("time_mlp.3", timeDim, timeDim)
        add("classes_emb.weight", [numClasses, dim], .normal(std: 1))
        linear("classes_mlp.0", dim, classesDim)
        linear("classes_mlp.2", classesDim, classesDim)
        let stages = self.stages
        for (i, s) in stages.enumerated() {
            let p = "downs.\(i)"
            resnet(p + ".0", s.dimIn, s.dimIn)
            resnet(p + ".1", s.dimIn, s.dimIn)
            linearAttention(p + ".2", s.dimIn)
            conv(p + ".3", s.dimIn, s.dimOut, i < stages.count - 1 ? 4 : 3)
        }
        for (j, s) in stages.reversed().enumerated() {
            let p = "ups.\(j)"
            resnet(p + ".0", s.dimOut + s.dimIn, s.dimOut)
            resnet(p + ".1", s.dimOut + s.dimIn, s.dimOut)
            linearAttention(p + ".2", s.dimOut)
            conv(j < stages.count - 1 ? p + ".3.1" : p + ".3", s.dimOut, s.dimIn, 3)
        }
        let mid = stages[stages.count - 1].dimOut
        resnet("mid_block1", mid, mid)
        let hidden = attnHeads * attnDimHead
        conv("mid_attn.fn.fn.to_qkv", mid, 3 * hidden, 1, bias: false)
        conv("mid_attn.fn.fn.to_out", hidden, mid, 1)
        norm("mid_attn.fn.norm", mid)
        resnet("mid_block2", mid, mid)
        resnet("final_res_block", 2 * initDim, initDim)
        conv("final_conv", initDim, resolvedOutDim, 1)
        return specs
    }
}
