import Conformance
import Devices
import Graph
import SafeTensors
import XCTest
@testable import Diffusion

/// The class-conditional Unet's options, state_dict layout, condition dropout and guidance
/// (the golden cases in GoldenCaseTests check the numbers against PyTorch).
final class ConditionalUnetTests: XCTestCase {
    func testConfigurationReadsTheReferenceArgumentsAndRefusesTheRest() throws {
        let c = try ConditionalUnetConfiguration(json: ["dim": 16, "num_classes": 3, "dim_mults": [1, 2], "channels": 1,
                                                        "attn_heads": 2, "attn_dim_head": 8, "cond_drop_prob": 0.25])
        XCTAssertEqual(c, ConditionalUnetConfiguration(dim: 16, numClasses: 3, condDropProb: 0.25, dimMults: [1, 2], channels: 1,
                                                       attnDimHead: 8, attnHeads: 2))
        XCTAssertEqual(try ConditionalUnetConfiguration(json: c.json), c)
        let bad: [([String: Any], String)] = [
            (["dim": 16], "num_classes"),
            (["dim": 16, "num_classes": 0], "num_classes must be positive"),
            (["dim": 16, "num_classes": 3, "cond_drop_prob": 1.5], "cond_drop_prob"),
            (["dim": 16, "num_classes": 3, "self_condition": true], "unknown option(s) self_condition"),
            (["dim": 16, "num_classes": 3, "learned_sinusoidal_cond": true], "learned_sinusoidal_cond"),
            (["dim": 16, "num_classes": 1_000_000], "more than the limit"),
        ]
        for (json, expected) in bad {
            XCTAssertThrowsError(try ConditionalUnetConfiguration(json: json), "\(json)") { error in
                XCTAssertTrue("\(error)".contains(expected), "\(error)")
            }
        }
    }

    /// Names, order and shapes are those of the reference state_dicts in the cfg golden cases.
    func testParameterSpecsMatchTheReferenceStateDict() throws {
        for name in GoldenFixtures.conditionalCases {
            let golden = try GoldenCase(directory: GoldenFixtures.directory + "/" + name)
            XCTAssertEqual(golden.kind, .classConditional)
            let unet = try ConditionalUnet(XCTUnwrap(golden.conditionalUnet))
            let file = try SafeTensorsFile(path: golden.weightsPath)
            // safetensors stores names sorted; every key, no more, with its shape.
            XCTAssertEqual(unet.parameterSpecs.map(\.name).sorted(), file.names.sorted(), name)
            for spec in unet.parameterSpecs { XCTAssertEqual(try file.info(spec.name).shape, spec.shape, spec.name) }
            // named_parameters order: the Unet's own parameter, then its modules in registration order.
            XCTAssertEqual(unet.parameterSpecs.first?.name, "null_classes_emb")
            XCTAssertEqual(unet.parameterSpecs.last?.name, "final_conv.bias")
        }
    }

    /// The keep mask drawn on the device is exact 0s and 1s, the same bits on every device, and
    /// keeps about 1 − cond_drop_prob of the samples.
    func testDeviceKeepMaskIsExactAndTheSameOnEveryDevice() throws {
        let unet = try ConditionalUnet(ConditionalUnetConfiguration(dim: 8, numClasses: 3, condDropProb: 0.3, dimMults: [1], channels: 1,
                                                                    attnDimHead: 4, attnHeads: 1))
        let diffusion = try ConditionalDiffusion(unet: unet, configuration: .defaults(for: .classConditional, imageHeight: 4, imageWidth: 4))
        var masks: [[Float]] = []
        for name in ["cpu-reference", "cpu", "opencl"] {
            let g = GraphBuilder()
            let keep = try XCTUnwrap(diffusion.deviceKeepMask(g, batch: 4096))
            let compiled = try CompiledGraph(g, outputs: ["keep": keep], queue: TestDevices.device(name).makeQueue(),
                                             options: CompileOptions(randomSeed: 5))
            try compiled.run()
            masks.append(try compiled.readOutput("keep"))
        }
        XCTAssertEqual(masks[0], masks[1])
        XCTAssertEqual(masks[0], masks[2])
        XCTAssertTrue(masks[0].allSatisfy { $0 == 0 || $0 == 1 })
        let kept = Double(masks[0].reduce(0, +)) / 4096
        XCTAssertEqual(kept, 0.7, accuracy: 0.03)
        // Nothing dropped: no mask at all; everything dropped: all zeros.
        let never = try ConditionalDiffusion(unet: ConditionalUnet(ConditionalUnetConfiguration(dim: 8, numClasses: 3, condDropProb: 0, dimMults: [1],
                                                                                                 channels: 1, attnDimHead: 4, attnHeads: 1)),
                                             configuration: .defaults(for: .classConditional, imageHeight: 4, imageWidth: 4))
        XCTAssertNil(try never.deviceKeepMask(GraphBuilder(), batch: 4))
    }

    /// Guidance scale 1 is the conditional model alone (one forward of B, no null prediction);
    /// any other scale runs one forward of 2B whose halves are the conditional and null outputs.
    func testGuidedForwardBatchesConditionalAndNullPredictions() throws {
        let golden = try GoldenCase(directory: GoldenFixtures.directory + "/cfg-gray")
        let unet = try ConditionalUnet(XCTUnwrap(golden.conditionalUnet))
        let io = try SafeTensorsFile(path: golden.ioPath)
        let x = try io.floats("unet.x"), b = try io.info("unet.x").shape[0]
        let g = GraphBuilder()
        let w = try unet.declareParameters(in: g)
        let (xt, t, c) = (try g.input("x", try io.info("unet.x").shape), try g.input("t", [b]), try g.input("classes", [b]))
        let plain = try unet.guidedForward(g, weights: w, x: xt, time: t, classes: c, guidance: Guidance(scale: 1))
        let guided = try unet.guidedForward(g, weights: w, x: xt, time: t, classes: c, guidance: Guidance(scale: 6, rescaledPhi: 0))
        XCTAssertEqual(plain.guided, plain.null, "scale 1 computes no null prediction")
        let compiled = try CompiledGraph(g, outputs: ["plain": plain.guided, "null": guided.null, "guided": guided.guided],
                                         queue: TestDevices.device("cpu").makeQueue())
        try unet.loadStateDict(SafeTensorsFile(path: golden.weightsPath), into: compiled.parameters, queue: compiled.queue)
        try compiled.setInput("x", x)
        try compiled.setInput("t", io.int32s("unet.t").map(Float.init))
        try compiled.setInput("classes", io.int32s("unet.classes").map(Float.init))
        try compiled.run()
        XCTAssertLessThan(maxAbs(try compiled.readOutput("plain"), try io.floats("unet.out_cond")), 1e-4)
        XCTAssertLessThan(maxAbs(try compiled.readOutput("null"), try io.floats("unet.out_null")), 1e-4)
        XCTAssertLessThan(maxAbs(try compiled.readOutput("guided"), try io.floats("guided.6.0.out")), 1e-4)
        XCTAssertThrowsError(try unet.guidedForward(GraphBuilder(), weights: w, x: xt, time: t, classes: c,
                                                    guidance: Guidance(scale: 3, rescaledPhi: 2))) { error in
            XCTAssertTrue("\(error)".contains("rescaled_phi"), "\(error)")
        }
    }

    func maxAbs(_ a: [Float], _ b: [Float]) -> Double {
        XCTAssertEqual(a.count, b.count)
        return zip(a, b).map { Double(abs($0 - $1)) }.max() ?? .infinity
    }

    func testGuidedChainRefusesClassesOutOfRange() throws {
        let unet = try ConditionalUnet(ConditionalUnetConfiguration(dim: 8, numClasses: 3, dimMults: [1], channels: 1, attnDimHead: 4, attnHeads: 1))
        let diffusion = try ConditionalDiffusion(unet: unet, configuration: .defaults(for: .classConditional, imageHeight: 4, imageWidth: 4))
        let sampler = try DiffusionSampler(diffusion: diffusion, sampler: DDIMSampler(steps: 2), batch: 2,
                                           queue: TestDevices.device("cpu").makeQueue())
        XCTAssertTrue(sampler.denoiser is GuidedDenoiser, "a class-conditional diffusion samples guided by default")
        XCTAssertThrowsError(try sampler.setClasses([0, 3])) { error in
            XCTAssertEqual("\(error)", "invalid configuration: class 3 is out of range: the model has classes 0...2")
        }
        XCTAssertThrowsError(try sampler.setClasses([0]))
        // An unconditional chain takes no classes.
        let plain = try GaussianDiffusion(unet: Unet(UnetConfiguration(dim: 8, dimMults: [1], channels: 1, attnDimHead: .all(4), attnHeads: .all(1))),
                                          configuration: DiffusionConfiguration(imageHeight: 4, imageWidth: 4, timesteps: 10))
        XCTAssertThrowsError(try DiffusionSampler(diffusion: plain, sampler: DDIMSampler(steps: 2), batch: 2, queue: sampler.queue).setClasses([0, 1]))
    }

    func testConditionalDiffusionDefaultsAndOptionsFollowTheReference() throws {
        let d = try DiffusionConfiguration(json: ["image_size": 8], kind: .classConditional)
        XCTAssertEqual(d.objective, .predNoise)
        XCTAssertEqual(d.betaSchedule.name, "cosine")
        XCTAssertEqual(d.ddimSamplingEta, 1)
        XCTAssertTrue(try DiffusionConfiguration(json: ["image_size": 8, "use_cfg_plus_plus": true], kind: .classConditional).useCFGPlusPlus)
        XCTAssertEqual(try DiffusionConfiguration(json: d.json(kind: .classConditional), kind: .classConditional), d)
        for (json, expected) in [(["image_size": 8, "beta_schedule": "sigmoid"], "only 'linear' and 'cosine'"),
                                 (["image_size": 8, "auto_normalize": false], "unknown option(s) auto_normalize")] as [([String: Any], String)] {
            XCTAssertThrowsError(try DiffusionConfiguration(json: json, kind: .classConditional)) { error in
                XCTAssertTrue("\(error)".contains(expected), "\(error)")
            }
        }
        XCTAssertThrowsError(try DiffusionConfiguration(json: ["image_size": 8, "use_cfg_plus_plus": true])) { error in
            XCTAssertTrue("\(error)".contains("use_cfg_plus_plus"), "\(error)")
        }
    }
}
