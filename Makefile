# ddpm: build, test and demo entry points. `make test` is what CI runs (.ci/run).
#
# SCRATCH selects the SwiftPM build directory (default .build), so several checkouts or
# helpers can build side by side: `make test SCRATCH=.build-mine`.

SWIFT   ?= swift
SCRATCH ?= .build
SWIFTPM  = --scratch-path $(SCRATCH)
DDPM     = $(SCRATCH)/release/ddpm

# Debian packages the build and the OpenCL tests need: OpenBLAS (CPU GEMM), the OpenCL ICD
# loader and headers, PoCL (an OpenCL device on any CPU), clinfo, libpng/libjpeg for images, and
# Open MPI for data-parallel training (`mpirun -np N ddpm train`, docs/distributed.md; the binary
# loads libmpi only under mpirun, and the tests run mpirun).
APT_PACKAGES = libopenblas-dev ocl-icd-opencl-dev opencl-headers pocl-opencl-icd clinfo libpng-dev libjpeg-dev \
	libopenmpi-dev openmpi-bin

.PHONY: deps build test conformance demo clean examples

## deps: install the Debian packages above that are missing (apt-get; sudo only when not root).
deps:
	@missing=""; \
	for package in $(APT_PACKAGES); do \
		dpkg -s $$package >/dev/null 2>&1 || missing="$$missing $$package"; \
	done; \
	if [ -z "$$missing" ]; then \
		echo "deps: all present ($(APT_PACKAGES))"; \
	else \
		echo "deps: installing$$missing"; \
		if [ "$$(id -u)" = 0 ]; then sudo=""; else sudo="sudo"; fi; \
		$$sudo apt-get update && \
		DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y --no-install-recommends $$missing; \
	fi

## build: the release `ddpm` binary ($(SCRATCH)/release/ddpm) and, next to it, the OpenCL device
## plugin (libddpm-device-opencl.so) that it loads at run time.
build: deps
	$(SWIFT) build -c release $(SWIFTPM) --product ddpm
	$(SWIFT) build -c release $(SWIFTPM) --product ddpm-device-opencl
	@echo "built $(DDPM) and $(SCRATCH)/release/libddpm-device-opencl.so"

## test: the whole test suite (debug build), including the conformance suite on cpu and opencl
## (--build-tests also builds the OpenCL plugin next to the test bundle, where the registry finds it).
test: deps
	$(SWIFT) build $(SWIFTPM) --build-tests
	$(SWIFT) test $(SWIFTPM) --skip-build
	python3 scripts/fuzz.py --ddpm $(SCRATCH)/debug/ddpm --quick

## conformance: test and grad modes of the conformance suite on cpu and opencl (release build,
## heavy Unet shapes included). Runs all four and fails at the end if any of them failed.
conformance: build
	@status=0; \
	for device in cpu opencl; do \
		for mode in test grad; do \
			echo "== ddpm --device $$device conformance --mode $$mode"; \
			$(DDPM) --device $$device conformance --mode $$mode || status=1; \
		done; \
	done; \
	exit $$status

## demo: what this build can do: the devices and what they support, conformance on both, the
## GEMM yardsticks, then a short training run on the built-in digits (no download) and a grid of
## samples from it (runs/demo/samples.png).
DEMO_RUN = runs/demo
demo: build
	$(DDPM) devices
	$(DDPM) conformance --mode support
	$(DDPM) --device cpu conformance --quick
	$(DDPM) --device opencl conformance --quick
	$(DDPM) --device opencl conformance --mode grad
	$(DDPM) --device cpu conformance --mode perf --filter 'gemm\(batch=1, m=(1024|64), n=(1024|16384),'
	$(DDPM) --device opencl conformance --mode perf --filter 'gemm\(batch=1, m=(1024|64), n=(1024|16384),'
	rm -rf $(DEMO_RUN)
	$(DDPM) --device cpu train --data digits --dim 32 --mults 1,2 --timesteps 250 --sampling-timesteps 25 \
		--batch-size 32 --lr 1e-3 --lr-warmup 100 --steps 600 --save-every 300 --sample-every 300 --num-samples 64 \
		--log-every 50 --output $(DEMO_RUN)
	$(DDPM) --device cpu sample --checkpoint $(DEMO_RUN) --count 64 --batch-size 64 --output $(DEMO_RUN)/samples.png
	$(DDPM) inspect $(DEMO_RUN)
	@echo "demo: samples in $(DEMO_RUN)/samples.png, training grids in $(DEMO_RUN)/sample-*.png, losses in $(DEMO_RUN)/metrics.jsonl"

## clean: remove the build directory.
clean:
	rm -rf $(SCRATCH)

## bench: `ddpm bench` against PyTorch (scripts/torch_bench.py in the .venv-ref venv), the target
## table of docs/benchmarks.md (three training configs and 64-image DDIM sampling), cpu and opencl,
## 3 alternating rounds; medians and ratios.
## Extra options for scripts/bench.py go in BENCH_ARGS, e.g. BENCH_ARGS="--rounds 5 --devices cpu".
.PHONY: bench
bench: build
	python3 scripts/bench.py --ddpm $(DDPM) $(BENCH_ARGS)

## fuzz: issue 15's harnesses (docs/reliability.md). Mutants of safetensors files, checkpoint
## configurations, PNG/JPEG images, options and special files through the release binary under a
## memory limit and a timeout (FUZZ_CASES per area), then libFuzzer + AddressSanitizer on the
## safetensors reader, the configuration parsing and the image shim (FUZZ_SECONDS per target,
## corpus in Fuzz/corpus), and FAULT_ROUNDS rounds of each fault of scripts/faults.py (signals,
## error exits, kill -9 during checkpoint writes, two runs on one folder). `make test` runs a quick
## subset of the first and a few rounds of each fault (FaultInjectionTests).
FUZZ_CASES ?= 200
FUZZ_SECONDS ?= 120
FAULT_ROUNDS ?= 10
.PHONY: fuzz
fuzz: build
	python3 scripts/fuzz.py --ddpm $(DDPM) --cases $(FUZZ_CASES) --json $(SCRATCH)/fuzz-report.json
	python3 scripts/faults.py --ddpm $(DDPM) --rounds $(FAULT_ROUNDS) --json $(SCRATCH)/faults-report.json
	scripts/libfuzzer.sh $(SCRATCH)/fuzz $(FUZZ_SECONDS)

## examples: the example device plugin (examples/device-plugin, plain C against ddpm_device.h).
## Run it with: $(DDPM) --device-plugin examples/device-plugin/libddpm-device-example.so --device example conformance
examples:
	$(MAKE) -C examples/device-plugin
