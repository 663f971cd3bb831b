# The front door for people and pipelines; CMake does the building.
#   make            configure and build (Release) into build/
#   make deps       install missing Debian packages (apt-get as root)
#   make test       deps + build + every test through ctest
#   make asan-test  the same under AddressSanitizer + UBSan in build-asan/
#   make demo       deps + build + the demo pipeline on pipelines/demo/docs
#   make bench      deps + build + the benchmarks under tests/bench/ (by hand, not CI)
#   make format     clang-format over the tree

JOBS ?= $(shell nproc 2>/dev/null || echo 2)
SOURCES = $(shell git ls-files '*.c' '*.h' '*.cpp' 2>/dev/null)
# Leaks inside the OpenMP runtime and OpenBLAS's thread pool are theirs, not ours.
SAN_ENV = ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
          LSAN_OPTIONS=suppressions=$(CURDIR)/tests/lsan.supp:print_suppressions=0 \
          UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1

.PHONY: all build deps test asan-test demo bench format clean

all: build

build/CMakeCache.txt:
	cmake -S . -B build -DCMAKE_BUILD_TYPE=Release

build: build/CMakeCache.txt
	cmake --build build -j $(JOBS)

deps:
	@bash scripts/deps.sh

test: deps
	$(MAKE) build
	ctest --test-dir build --output-on-failure -j $(JOBS)

build-asan/CMakeCache.txt:
	cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DRK_SANITIZE=ON

asan-test: deps build-asan/CMakeCache.txt
	cmake --build build-asan -j $(JOBS)
	$(SAN_ENV) ctest --test-dir build-asan --output-on-failure -j $(JOBS)

# Throughput figures of the issues' targets: ingest (about a minute; writes
# ~1 GB under $$TMPDIR), then vector search and index loading (a few minutes
# on 2 cores; ~2 GB of memory, ~1 GB under $$TMPDIR), then raft-assemble on
# a generated KB of 100,000 chunks (a minute or two), then training and
# generation on a GPT-2-sized model (several minutes; set RK_TORCH_PYTHON to a
# Python with torch for PyTorch's figure beside ours).
bench: deps
	$(MAKE) build
	build/bench/bench-ingest
	build/bench/bench-index
	build/bench/bench-assemble
	OMP_WAIT_POLICY=passive build/bench/bench-train

demo: deps
	$(MAKE) build
	bash pipelines/demo/run.sh build/bin build/demo

format:
	clang-format -i $(SOURCES)

clean:
	rm -rf build build-asan
