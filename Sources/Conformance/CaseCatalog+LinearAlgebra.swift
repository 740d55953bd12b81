import Devices

extension CaseCatalog {
    static func gemmCases() -> [KernelCase] {
        var cases: [KernelCase] = []
        func add(_ g: Gemm, heavy: Bool = false) { cases.append(KernelCase(.gemm(g), heavy: heavy)) }

        // Sizes around and between typical tile edges.
        for (m, n, k) in [(1, 1, 1), (3, 5, 7), (17, 33, 7), (64, 64, 64), (127, 65, 33), (1, 129, 17), (129, 1, 17)] {
            add(Gemm(m: m, n: n, k: k))
        }
        // Every transpose combination.
        for transA in [false, true] {
            for transB in [false, true] {
                add(Gemm(m: 17, n: 33, k: 9, transA: transA, transB: transB))
                add(Gemm(batch: 3, m: 5, n: 7, k: 11, transA: transA, transB: transB, alpha: 0.5, beta: 1))
            }
        }
        // alpha and beta.
        add(Gemm(m: 13, n: 9, k: 21, alpha: -2, beta: 0.5))
        add(Gemm(m: 13, n: 9, k: 21, alpha: 1, beta: 1))
        add(Gemm(m: 13, n: 9, k: 21, alpha: 0, beta: 1))
        // Bias epilogues, alone and with beta.
        add(Gemm(m: 13, n: 9, k: 21, bias: .perRow))
        add(Gemm(m: 13, n: 9, k: 21, bias: .perColumn))
        add(Gemm(batch: 2, m: 6, n: 10, k: 4, transB: true, beta: 1, bias: .perColumn))
        add(Gemm(batch: 2, m: 6, n: 10, k: 4, transA: true, alpha: 0.25, beta: -1, bias: .perRow))
        // Leading dimensions larger than the matrices (sub-matrix views); C's padding must stay untouched.
        add(Gemm(m: 7, n: 5, k: 6, lda: 9, ldb: 8, ldc: 11))
        add(Gemm(m: 7, n: 5, k: 6, transA: true, transB: true, lda: 10, ldb: 7, ldc: 6))
        add(Gemm(batch: 3, m: 4, n: 5, k: 6, beta: 1, lda: 8, ldb: 6, ldc: 7))
        // Batch strides: shared A (a weight applied to every image), shared B, padded C.
        add(Gemm(batch: 4, m: 8, n: 33, k: 16, strideA: 0))
        // Shared A, transposed and scaled, accumulated into C: the cpu device packs it once for all entries.
        add(Gemm(batch: 3, m: 20, n: 18, k: 24, transA: true, alpha: 0.5, beta: 1, bias: .perRow, strideA: 0))
        // A residual 1×1 convolution at 4×4 fused with its add: 16 columns per image, C accumulated.
        add(Gemm(batch: 4, m: 64, n: 16, k: 96, beta: 1, bias: .perRow, strideA: 0))
        add(Gemm(batch: 4, m: 9, n: 7, k: 5, transB: true, strideB: 0))
        add(Gemm(batch: 3, m: 5, n: 6, k: 7, strideA: 40, strideB: 50, strideC: 35))
        // Zero sizes: empty outputs, and k = 0 where C = β·C (+ bias) with no products at all.
        add(Gemm(m: 0, n: 5, k: 3))
        add(Gemm(m: 4, n: 0, k: 3))
        add(Gemm(batch: 0, m: 4, n: 5, k: 3))
        add(Gemm(m: 4, n: 5, k: 0))
        add(Gemm(m: 4, n: 5, k: 0, beta: 0.5, bias: .perRow))

        // Unet shapes. Linear attention context k·vᵀ per (image, head): [32, 1028]·[1028, 32]
        // (1024 positions plus 4 memory key/values), batch 2 × 4 heads.
        add(Gemm(batch: 8, m: 32, n: 32, k: 1028, transB: true))
        // Its output contextᵀ·q: [32, 32]ᵀ·[32, 1024].
        add(Gemm(batch: 8, m: 32, n: 1024, k: 32, transA: true))
        // Full attention at 8×8: q·kᵀ scaled, then attn·v.
        add(Gemm(batch: 8, m: 64, n: 64, k: 32, transB: true, alpha: 0.1767767))
        add(Gemm(batch: 8, m: 64, n: 32, k: 64))
        // 1×1 convolution as GEMM: weight [128, 64] shared over the batch, bias per output channel.
        add(Gemm(batch: 2, m: 128, n: 256, k: 64, bias: .perRow, strideA: 0))
        // Time MLP: [16, 128]·[256, 128]ᵀ + bias.
        add(Gemm(m: 16, n: 256, k: 128, transB: true, bias: .perColumn))
        // Weight gradient of a 1×1 convolution: dY·Xᵀ summed over the batch through beta = 1.
        add(Gemm(m: 64, n: 128, k: 256, transB: true, beta: 1))
        // The large ones: 3×3 convolution 64→64 at 32×32 as im2col GEMM, and 1024³.
        add(Gemm(m: 64, n: 1024, k: 576, bias: .perRow), heavy: true)
        add(Gemm(m: 64, n: 16384, k: 576), heavy: true)
        add(Gemm(m: 1024, n: 1024, k: 1024), heavy: true)
        add(Gemm(batch: 64, m: 32, n: 32, k: 1028, transB: true), heavy: true)
        return cases
    }

    static func convolutionCases() -> [KernelCase] {
        var shapes: [(Conv2d, Bool)] = [
            (Conv2d(batch: 1, inChannels: 1, outChannels: 1, height: 1, width: 1, kernel: 1), false),
            (Conv2d(batch: 1, inChannels: 3, outChannels: 4, height: 5, width: 5, kernel: 3), false),
            (Conv2d(batch: 2, inChannels: 3, outChannels: 5, height: 7, width: 7, kernel: 3, hasBias: false), false),
            (Conv2d(batch: 1, inChannels: 2, outChannels: 3, height: 6, width: 5, kernel: 1), false),
            (Conv2d(batch: 2, inChannels: 3, outChannels: 8, height: 9, width: 9, kernel: 7), false),
            // No padding ("valid"), padding wider than kernel/2, and an image smaller than the kernel.
            (Conv2d(batch: 1, inChannels: 4, outChannels: 2, height: 5, width: 6, kernel: 3, padding: 0), false),
            (Conv2d(batch: 1, inChannels: 2, outChannels: 3, height: 4, width: 4, kernel: 3, padding: 2), false),
            (Conv2d(batch: 2, inChannels: 3, outChannels: 2, height: 2, width: 2, kernel: 3), false),
            // Non-square kernel and padding.
            (Conv2d(batch: 1, inChannels: 3, outChannels: 4, height: 6, width: 7, kernelHeight: 3, kernelWidth: 1,
                    padHeight: 1, padWidth: 0, hasBias: true), false),
            (Conv2d(batch: 2, inChannels: 5, outChannels: 3, height: 17, width: 3, kernelHeight: 1, kernelWidth: 5,
                    padHeight: 0, padWidth: 2, hasBias: false), false),
            // Unet-like at small batch: init conv 7×7 3→32, 3×3 32→32 at 16×16, 3×3 128→64 at 8×8,
            // 1×1 64→128 at 8×8 (residual projection).
            (Conv2d(batch: 1, inChannels: 3, outChannels: 32, height: 32, width: 32, kernel: 7), false),
            (Conv2d(batch: 1, inChannels: 32, outChannels: 32, height: 16, width: 16, kernel: 3), false),
            (Conv2d(batch: 2, inChannels: 128, outChannels: 64, height: 8, width: 8, kernel: 3), false),
            (Conv2d(batch: 2, inChannels: 64, outChannels: 128, height: 8, width: 8, kernel: 1), false),
            // The bottom of a Unet: 3×3 at 4×4 (the CPU device's F(2×2, 3×3) Winograd path).
            (Conv2d(batch: 2, inChannels: 32, outChannels: 48, height: 4, width: 4, kernel: 3), false),
            // Multi-channel 3×3 at batch > 1 on a 32×32 map without bias and on an 8×8 map
            // (the OpenCL device's F(2×2, 3×3) Winograd path, whose tiles span images).
            (Conv2d(batch: 3, inChannels: 16, outChannels: 24, height: 32, width: 32, kernel: 3, hasBias: false), false),
            (Conv2d(batch: 4, inChannels: 64, outChannels: 40, height: 8, width: 8, kernel: 3), false),
            // Winograd on rows of 8 tiles without padding (the whole 18-float patch row inside the
            // map; backward data pads by 2) and with padding 2 (the left end outside).
            (Conv2d(batch: 2, inChannels: 8, outChannels: 8, height: 18, width: 18, kernel: 3, padding: 0), false),
            (Conv2d(batch: 1, inChannels: 4, outChannels: 6, height: 14, width: 14, kernel: 3, padding: 2), false),
            // The OpenCL device's fused Winograd on 24×24 (tiles transformed in runs of four,
            // outputs stored per tile), and on 400 input channels at 8×8.
            (Conv2d(batch: 1, inChannels: 8, outChannels: 5, height: 24, width: 24, kernel: 3), false),
            (Conv2d(batch: 2, inChannels: 400, outChannels: 6, height: 8, width: 8, kernel: 3), false),
        ]
        // Unet(dim 64) at batch 16: 3×3 64→64 at 32×32 and the 7×7 3→64 init conv.
        shapes.append((Conv2d(batch: 16, inChannels: 64, outChannels: 64, height: 32, width: 32, kernel: 3), true))
        shapes.append((Conv2d(batch: 16, inChannels: 3, outChannels: 64, height: 32, width: 32, kernel: 7), true))
        // Unet(dim 64, mults 1,2,4,8) at batch 16: the 512-channel 3×3 convolutions at 4×4.
        shapes.append((Conv2d(batch: 16, inChannels: 512, outChannels: 512, height: 4, width: 4, kernel: 3), true))

        var cases: [KernelCase] = []
        for (shape, heavy) in shapes {
            cases.append(KernelCase(.conv2d(shape), heavy: heavy))
            cases.append(KernelCase(.conv2dBackwardData(shape), heavy: heavy))
            cases.append(KernelCase(.conv2dBackwardWeight(shape), heavy: heavy))
        }
        return cases
    }
}
