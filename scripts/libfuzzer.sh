#!/bin/sh
# Coverage-guided fuzzing of the parsers with libFuzzer and AddressSanitizer (issue 15):
#   safetensors    the safetensors container reader and its JSON parser (Sources/SafeTensors)
#   configuration  a checkpoint's Unet/diffusion configuration (Sources/Diffusion and below)
#   image          the PNG/JPEG decoding shim (Sources/CImageShim, libpng, libjpeg-turbo)
# Usage: scripts/libfuzzer.sh BUILD_DIR SECONDS_PER_TARGET
# Each target starts from its corpus in Fuzz/corpus/<target> and runs for the given time;
# new inputs go to BUILD_DIR/corpus/<target> (the repository's corpus stays as committed),
# crashes to BUILD_DIR/artifacts. Exit status 1 when a target found a crash, leak or timeout.
set -eu
out=${1:-.build/fuzz}
seconds=${2:-60}
root=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p "$out/modules" "$out/artifacts"
flags="-sanitize=fuzzer,address -parse-as-library -g -O"

# Static libraries of the modules Diffusion imports, each with its swiftmodule.
module() { # name sources...
    name=$1; shift
    [ "$out/lib$name.a" -nt "$root/Sources/$name" ] && return 0
    echo "libfuzzer: building $name"
    (cd "$out" && swiftc $flags -I modules -emit-library -static -emit-module -emit-module-path "modules/$name.swiftmodule" \
        -module-name "$name" -o "lib$name.a" "$@" 2>&1 | grep -v "Cannot export local symbol" || true)
}
module Devices $(find "$root/Sources/Devices" -name '*.swift')
module Graph $(find "$root/Sources/Graph" -name '*.swift')
module SafeTensors $(find "$root/Sources/SafeTensors" -name '*.swift')

echo "libfuzzer: building the targets"
swiftc $flags -module-name SafeTensors -o "$out/fuzz-safetensors" \
    $(find "$root/Sources/SafeTensors" -name '*.swift') "$root/Fuzz/SafeTensorsFuzz.swift" 2>&1 | grep -v "Cannot export local symbol" || true
swiftc $flags -module-name Diffusion -I "$out/modules" -L "$out" -lGraph -lDevices -lSafeTensors -o "$out/fuzz-configuration" \
    $(find "$root/Sources/Diffusion" -name '*.swift') "$root/Fuzz/ConfigurationFuzz.swift" 2>&1 | grep -v "Cannot export local symbol" || true
clang -fsanitize=fuzzer,address -g -O1 -I "$root/Sources/CImageShim/include" -o "$out/fuzz-image" \
    "$root/Fuzz/image_fuzz.c" "$root/Sources/CImageShim/png.c" "$root/Sources/CImageShim/jpeg.c" -lpng16 -ljpeg

status=0
for target in safetensors configuration image; do
    [ -x "$out/fuzz-$target" ] || { echo "libfuzzer: fuzz-$target was not built"; exit 1; }
    mkdir -p "$out/corpus/$target"
    echo "== libFuzzer $target for ${seconds}s"
    # RSS limit 2 GiB, 10 s per input, no leak reports from the Swift runtime's caches.
    if ! ASAN_OPTIONS=detect_leaks=0:allocator_may_return_null=1 "$out/fuzz-$target" \
        -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 -print_final_stats=1 \
        -artifact_prefix="$out/artifacts/$target-" "$out/corpus/$target" "$root/Fuzz/corpus/$target" \
        >"$out/$target.log" 2>&1; then
        status=1
        echo "libfuzzer: $target FAILED (see $out/$target.log, inputs in $out/artifacts)"
        grep -E "ERROR|SUMMARY|Fatal error" "$out/$target.log" | head -5
    fi
    grep -E "stat::number_of_executed_units|stat::peak_rss_mb|cov:" "$out/$target.log" | tail -3
done
exit $status
