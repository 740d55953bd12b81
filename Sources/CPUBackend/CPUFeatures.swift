import Foundation

/// What the host processor is and which SIMD extensions the kernel enabled, from `/proc/cpuinfo`.
///
/// `/proc/cpuinfo` lists a flag only when the CPU has the feature *and* the kernel saved its
/// register state (XCR0), so it is a safer basis for choosing code paths than raw CPUID.
struct CPUFeatures: Sendable, Equatable {
    /// Marketing name, e.g. `AMD EPYC` (`model name`).
    var modelName: String
    /// Vendor id, e.g. `AuthenticAMD`, `GenuineIntel` (`vendor_id`).
    var vendor: String
    /// Feature flags of the first processor, e.g. `avx2`, `avx512f`.
    var flags: Set<String>
    /// CPUID family number (`cpu family`), e.g. 25 for AMD Zen 3 and Zen 4; nil when not listed.
    var family: Int?

    /// Parses the text of `/proc/cpuinfo` (the first processor block is enough).
    init(cpuinfo text: String) {
        var model = ""
        var vendor = ""
        var flags = Set<String>()
        var family: Int?
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.isEmpty, !flags.isEmpty { break }
            guard let colon = line.firstIndex(of: ":") else { continue }
            let key = line[..<colon].trimmingCharacters(in: .whitespaces)
            let value = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            switch key {
            case "model name" where model.isEmpty: model = value
            case "vendor_id" where vendor.isEmpty: vendor = value
            case "cpu family" where family == nil: family = Int(value)
            case "flags" where flags.isEmpty: flags = Set(value.split(separator: " ").map(String.init))
            default: break
            }
        }
        self.modelName = model
        self.vendor = vendor
        self.flags = flags
        self.family = family
    }

    /// The features of this machine; empty when `/proc/cpuinfo` cannot be read (non-Linux).
    static let host: CPUFeatures = {
        let text = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)) ?? ""
        return CPUFeatures(cpuinfo: text)
    }()

    /// The `OPENBLAS_CORETYPE` whose sgemm kernels suit this CPU, or nil to keep OpenBLAS's own choice.
    ///
    /// OpenBLAS 0.3.21 (`DYNAMIC_ARCH`) maps CPUID family/model numbers to kernels and falls back to
    /// "Prescott" (SSE3, ~6x slower sgemm) for processors newer than its tables, e.g. AVX-512 Zen 4.
    /// Choosing by feature flags instead never picks a kernel the CPU cannot run (forcing
    /// `SkylakeX` on an AVX2-only CPU dies with SIGILL) and never falls back to SSE3.
    /// Measured on the AVX2 EPYC of this project (1024³ sgemm, 2 threads): Haswell 184, Zen 182,
    /// Sandybridge 134, Prescott 40 GFLOP/s; `Cooperlake` shares SkylakeX's sgemm kernel and adds
    /// bf16 extensions, so it is preferred where `avx512_bf16` is present (DESIGN: ~300 GFLOP/s).
    ///
    /// AMD family 25 (Zen 3 and Zen 4) gets `Haswell` even with AVX-512: Zen 4 splits every
    /// 512-bit operation over its 256-bit units, so the wider kernels gain nothing and their
    /// larger blocking costs on the narrow products of a Unet. Measured on a Zen 4 EPYC, one core:
    /// Haswell 100 / 101 / 99 / 86 GFLOP/s against Cooperlake 99 / 93 / 77 / 55 at 1024³,
    /// 64×256×64, 64×1024×128 and 32×1024×32.
    var openBLASCoreType: String? {
        let avx512 = ["avx512f", "avx512bw", "avx512vl", "avx512dq", "avx512cd"].allSatisfy(flags.contains)
        let avx2 = flags.contains("avx2") && flags.contains("fma")
        if avx512, !(vendor == "AuthenticAMD" && family == 25) {
            return flags.contains("avx512_bf16") ? "Cooperlake" : "SkylakeX"
        }
        if avx2 { return "Haswell" }
        return nil
    }

    /// The widest vector extension, for `ddpm devices` ("avx512", "avx2", "sse4.2", ...).
    var simdLevel: String {
        if flags.contains("avx512f") { return flags.contains("avx512_bf16") ? "avx512 (bf16)" : "avx512" }
        if flags.contains("avx2") { return "avx2" }
        if flags.contains("avx") { return "avx" }
        if flags.contains("sse4_2") { return "sse4.2" }
        return flags.isEmpty ? "unknown" : "sse2"
    }
}
