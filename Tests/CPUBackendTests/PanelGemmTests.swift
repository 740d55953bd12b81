import XCTest
@testable import CPUBackend

/// ``PanelGemm`` against a double-precision product: every tail (partial panels, fewer than 16
/// columns, column blocks), both packings of `A`, `α`, accumulation, staged columns of `B`, and
/// nothing written outside `C`'s `m × n` corner.
final class PanelGemmTests: XCTestCase {
    /// Runs one product through the panels and checks it entry by entry and beyond `C`'s corner.
    private func check(m: Int, n: Int, k: Int, transposed: Bool, accumulate: Bool, alpha: Float = 1,
                       ldb extraB: Int = 0, ldc extraC: Int = 0, file: StaticString = #filePath, line: UInt = #line) {
        var random = TestRandom(seed: UInt64(m * 1_000_003 + n * 1009 + k * 31 + (transposed ? 7 : 0)))
        let lda = transposed ? m + 3 : k + 2
        let a = (0..<(transposed ? k : m) * lda).map { _ in random.float(-1, 1) }
        let ldb = n + extraB
        let b = (0..<k * ldb).map { _ in random.float(-1, 1) }
        let ldc = n + extraC
        let sentinel: Float = 12345
        var c = (0..<m * ldc).map { index in index % ldc < n ? random.float(-1, 1) : sentinel }
        let original = c
        var packed = [Float](repeating: .nan, count: PanelGemm.packedCount(m: m, k: k))
        a.withUnsafeBufferPointer { a in
            packed.withUnsafeMutableBufferPointer { p in
                PanelGemm.pack(a.baseAddress!, lda: lda, transposed: transposed, m: m, k: k, alpha: alpha,
                               into: p.baseAddress!)
            }
        }
        packed.withUnsafeBufferPointer { p in
            b.withUnsafeBufferPointer { b in
                c.withUnsafeMutableBufferPointer { c in
                    PanelGemm.multiply(m: m, n: n, k: k, a: p.baseAddress!, b: b.baseAddress!, ldb: ldb,
                                       c: c.baseAddress!, ldc: ldc, accumulate: accumulate)
                }
            }
        }
        var worst = 0.0
        for i in 0..<m {
            for j in 0..<ldc {
                let got = c[i * ldc + j]
                guard j < n else {
                    XCTAssertEqual(got, sentinel, "wrote past column \(n) at [\(i), \(j)]", file: file, line: line)
                    continue
                }
                var sum = accumulate ? Double(original[i * ldc + j]) : 0
                for p in 0..<k {
                    let aValue = transposed ? a[p * lda + i] : a[i * lda + p]
                    sum += Double(alpha) * Double(aValue) * Double(b[p * ldb + j])
                }
                worst = max(worst, abs(Double(got) - sum) / max(1, abs(sum)))
            }
        }
        XCTAssertLessThanOrEqual(worst, 1e-5 * Double(max(k, 1)).squareRoot(),
                                 "m=\(m) n=\(n) k=\(k) transposed=\(transposed) accumulate=\(accumulate)",
                                 file: file, line: line)
    }

    func testWholePanelsAndVectors() {
        for (m, n, k) in [(8, 16, 1), (8, 32, 9), (16, 64, 64), (64, 256, 64), (24, 48, 33)] {
            check(m: m, n: n, k: k, transposed: false, accumulate: false)
        }
    }

    func testPartialPanelsAndColumnTails() {
        for (m, n, k) in [(13, 16, 5), (8, 17, 3), (5, 37, 12), (40, 1, 8), (9, 95, 20), (3, 7, 2)] {
            for transposed in [false, true] {
                check(m: m, n: n, k: k, transposed: transposed, accumulate: false, ldc: 5)
            }
        }
    }

    func testAccumulateAndAlpha() {
        check(m: 16, n: 48, k: 17, transposed: false, accumulate: true, alpha: 0.25, ldb: 4, ldc: 3)
        check(m: 11, n: 21, k: 17, transposed: true, accumulate: true, alpha: -1.5)
    }

    /// A long `k` cuts the columns into blocks (``PanelGemm/columnBlock(k:)``), and rows of `B`
    /// spread over many pages are staged into contiguous slices first (with a last slice of 16
    /// columns, and a tail of 8 past it).
    func testColumnBlocksAndStagedColumns() {
        XCTAssertLessThan(PanelGemm.columnBlock(k: 3000), 100)
        check(m: 16, n: 100, k: 3000, transposed: false, accumulate: false)
        XCTAssertTrue(PanelGemm.stagesColumns(k: 128, ldb: 1024, panels: 4))
        XCTAssertFalse(PanelGemm.stagesColumns(k: 64, ldb: 256, panels: 8))
        check(m: 17, n: 40, k: 60, transposed: false, accumulate: true, ldb: 4096 - 40)
        check(m: 24, n: 1010, k: 130, transposed: true, accumulate: false, ldb: 24)
    }

    /// The filter transforms write `U` straight into panels: the same products as row-major `U`.
    func testPanelOffsetsMatchPack() {
        let (m, k) = (16, 5)
        let a = (0..<m * k).map { Float($0) }
        var packed = [Float](repeating: 0, count: PanelGemm.packedCount(m: m, k: k))
        a.withUnsafeBufferPointer { a in
            packed.withUnsafeMutableBufferPointer { PanelGemm.pack(a.baseAddress!, lda: k, transposed: false, m: m, k: k,
                                                                   into: $0.baseAddress!) }
        }
        for i in 0..<m {
            for j in 0..<k {
                let offset = PanelGemm.panelOffset(firstRow: i / 8 * 8, column: j, columns: k) + i % 8
                XCTAssertEqual(packed[offset], a[i * k + j], "A[\(i)][\(j)]")
            }
        }
    }

    /// Every entry is the chain `c ← fma(a[i][p], b[p][j], c)` over `p` in order, whatever the
    /// micro-kernel's register blocking (AVX-512's `[8 × 32]`, AVX2's `[4 × 16]` quarters): bit
    /// for bit, so both builds give the same products. Covers whole blocks, a 16-column block, a
    /// partial panel, a column tail and accumulation.
    func testEntriesAreOrderedFusedChains() {
        for (m, n, k, accumulate) in [(16, 80, 37, false), (13, 21, 9, true), (8, 48, 200, true)] {
            var random = TestRandom(seed: UInt64(m * 7919 + n * 31 + k))
            let a = (0..<m * k).map { _ in random.float(-1, 1) }
            let b = (0..<k * n).map { _ in random.float(-1, 1) }
            let start = (0..<m * n).map { _ in random.float(-1, 1) }
            var c = start
            var packed = [Float](repeating: .nan, count: PanelGemm.packedCount(m: m, k: k))
            a.withUnsafeBufferPointer { a in
                packed.withUnsafeMutableBufferPointer {
                    PanelGemm.pack(a.baseAddress!, lda: k, transposed: false, m: m, k: k, into: $0.baseAddress!)
                }
            }
            packed.withUnsafeBufferPointer { p in
                b.withUnsafeBufferPointer { b in
                    c.withUnsafeMutableBufferPointer {
                        PanelGemm.multiply(m: m, n: n, k: k, a: p.baseAddress!, b: b.baseAddress!, ldb: n,
                                           c: $0.baseAddress!, ldc: n, accumulate: accumulate)
                    }
                }
            }
            var mismatches = 0
            for i in 0..<m {
                for j in 0..<n {
                    var chain: Float = accumulate ? start[i * n + j] : 0
                    for p in 0..<k { chain = chain.addingProduct(a[i * k + p], b[p * n + j]) }
                    if c[i * n + j].bitPattern != chain.bitPattern { mismatches += 1 }
                }
            }
            XCTAssertEqual(mismatches, 0, "m=\(m) n=\(n) k=\(k) accumulate=\(accumulate): entries not the ordered fma chain")
        }
    }
}
