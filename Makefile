# nocopy: `make test` sets everything up on a fresh machine and runs every test;
# `make demo` runs the main job. Other targets are steps of those two.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
JOBS ?= 2
CMAKE_TEST_FLAGS := -DNOCOPY_BUILD_PYTHON=OFF -DNOCOPY_BUILD_TESTS=ON -DNOCOPY_WERROR=ON

.PHONY: test demo build system-deps venv cpp-test asan-test tsan-test py-test cpp-examples bench \
        format format-check clean fuzz fuzz-smoke fuzz-deps wheel wheel-venv wheel-check sdist-test

test: format-check cpp-test asan-test tsan-test py-test cpp-examples sdist-test fuzz-smoke

# The main job: the seed examples measured (shared / copied / raised), then the loader
# benchmark's quick form against the seed recipes (chart in build/bench.png) and the quick form
# of the variable-size (imagenet-like) RandomResizedCrop workload.
demo: build
	$(PY) examples/demo.py
	$(PY) -m nocopy bench --quick --png build/bench.png
	$(PY) -m nocopy bench --workload imagenet --quick

# Debian packages the build and the C++ tests need (GoogleTest, nlohmann-json for the ImageSet
# manifest, libjpeg-turbo, FFmpeg's libraries for video, nginx for the remote store tests),
# installed only when missing.
system-deps:
	@if ! [ -f /usr/lib/x86_64-linux-gnu/cmake/GTest/GTestConfig.cmake ] && ! ls /usr/lib/*/cmake/GTest/GTestConfig.cmake >/dev/null 2>&1; then \
	  echo "installing libgtest-dev"; \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libgtest-dev) || \
	  (sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libgtest-dev); \
	fi
	@if ! [ -f /usr/include/nlohmann/json.hpp ]; then \
	  echo "installing nlohmann-json3-dev"; \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nlohmann-json3-dev) || \
	  (sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nlohmann-json3-dev); \
	fi
	@if ! [ -f /usr/include/jpeglib.h ]; then \
	  echo "installing libjpeg62-turbo-dev"; \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libjpeg62-turbo-dev) || \
	  (sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libjpeg62-turbo-dev); \
	fi
	@if ! command -v nginx >/dev/null 2>&1 && ! [ -x /usr/sbin/nginx ]; then \
	  echo "installing nginx (the web server of the remote store tests)"; \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx) || \
	  (sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx); \
	fi
	@if ! pkg-config --exists libavformat libavcodec libswscale libavutil 2>/dev/null; then \
	  echo "installing FFmpeg's development packages and pkg-config"; \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq pkg-config libavformat-dev libavcodec-dev libswscale-dev libavutil-dev) || \
	  (sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq pkg-config libavformat-dev libavcodec-dev libswscale-dev libavutil-dev); \
	fi

# The virtualenv with every build/test dependency, rebuilt when requirements-dev.txt changes.
$(VENV)/.deps: requirements-dev.txt
	python3 -m venv $(VENV)
	$(PY) -m pip install -q -U pip
	$(PY) -m pip install -q -r requirements-dev.txt
	touch $@

venv: $(VENV)/.deps

# Builds and installs the package into the virtualenv (incremental: build/ is reused).
build: $(VENV)/.deps system-deps
	$(PY) -m pip install -q --no-build-isolation --no-deps .

cpp-test: system-deps
	cmake -S . -B build/cpp -DCMAKE_BUILD_TYPE=Release $(CMAKE_TEST_FLAGS) >/dev/null
	cmake --build build/cpp -j$(JOBS)
	ctest --test-dir build/cpp --output-on-failure -j$(JOBS)
	@# The C++ benchmarks of window reads, of the sequence workloads without a loader and of the
	@# loaders' per-batch hand-off (docs/BENCHMARKS.md) keep building against the core.
	$(CXX) -O2 -std=c++20 -Wall -Wextra -Werror -Icpp/include bench/window_reads.cpp \
	  build/cpp/libnocopy.a -pthread -o build/window_reads
	$(CXX) -O2 -std=c++20 -Wall -Wextra -Werror -Icpp/include bench/sequence_reference.cpp \
	  build/cpp/libnocopy.a -pthread -o build/sequence_reference
	$(CXX) -O2 -std=c++20 -Wall -Wextra -Werror -Icpp/include bench/handoff.cpp \
	  build/cpp/libnocopy.a -pthread -o build/handoff

asan-test: system-deps
	cmake -S . -B build/asan -DCMAKE_BUILD_TYPE=Debug -DNOCOPY_SANITIZE=address,undefined $(CMAKE_TEST_FLAGS) >/dev/null
	cmake --build build/asan -j$(JOBS)
	UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 ASAN_OPTIONS=detect_leaks=1 \
	  ctest --test-dir build/asan --output-on-failure -j$(JOBS)

# ThreadSanitizer build of the C++ tests, running the concurrent ones (the batch engine, loaders, their chunked
# jobs, batch pool, sampler).
# -Wno-tsan: GCC warns that TSan does not model atomic_thread_fence (used by shared_array).
tsan-test: system-deps
	cmake -S . -B build/tsan -DCMAKE_BUILD_TYPE=Debug -DNOCOPY_SANITIZE=thread -DCMAKE_CXX_FLAGS=-Wno-tsan $(CMAKE_TEST_FLAGS) >/dev/null
	cmake --build build/tsan -j$(JOBS)
	TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1 \
	  ctest --test-dir build/tsan --output-on-failure -j$(JOBS) -R '^(BatchEngine|Loader|BatchPool|Sampler|SequenceLoader|LoaderAllocator|SequenceLoaderAllocator|ChunkedJob|VideoLoader|LazyShards)\.'

# --- the wheel and the sdist, tested as users get them (docs/INSTALL.md) -------------------------
# `make wheel`: dist/nocopy-*.whl, built from the same build folder as `make build` (incremental),
# repaired by auditwheel (libjpeg-turbo, FFmpeg and what they link bundled in nocopy.libs/, their
# licences added, tagged with the manylinux policy auditwheel reports here; sizes printed), and
# dist/nocopy-*.tar.gz.
DIST := dist
WHEEL_VENV := build/wheel-venv
WPY := $(CURDIR)/$(WHEEL_VENV)/bin/python
SDIST_VENV := build/sdist-venv
WHEEL_TESTS := build/wheel-tests
BASE_PYTHON = $$($(PY) -c 'import sys; print(sys._base_executable)')
wheel: $(VENV)/.deps system-deps
	rm -rf build/wheel-raw $(DIST) && mkdir -p build
	@echo "building the wheel"; start=$$(date +%s); \
	  $(PY) -m build -q --wheel --no-isolation --outdir build/wheel-raw . >build/wheel-build.log 2>&1 \
	  || { tail -40 build/wheel-build.log; exit 1; }; \
	  echo "  built in $$(( $$(date +%s) - start )) s"; start=$$(date +%s); \
	  $(PY) packaging/repair_wheel.py build/wheel-raw/nocopy-*.whl $(DIST) && \
	  echo "  repaired in $$(( $$(date +%s) - start )) s"
	$(PY) -m build -q --sdist --no-isolation --outdir $(DIST) . >build/sdist-build.log 2>&1 \
	  || { tail -40 build/sdist-build.log; exit 1; }
	@ls -l $(DIST)

# A fresh virtualenv with the wheel installed (--no-deps) and its one runtime requirement, NumPy
# (the dev venv's version); the test tools (pytest, torch, TF, JAX, ...) are not reinstalled: a
# .pth file adds the dev venv's site-packages AFTER the fresh env's own, so the wheel's nocopy
# wins over the source install in .venv (tests/wheel checks it).
wheel-venv: wheel
	rm -rf $(WHEEL_VENV)
	$(BASE_PYTHON) -m venv $(WHEEL_VENV)
	$(WPY) -m pip install -q --no-deps $(DIST)/nocopy-*.whl
	$(WPY) -m pip install -q "numpy==$$($(PY) -c 'import numpy; print(numpy.__version__)')"
	$(WPY) packaging/link_dev_site.py $(abspath $(VENV))

# The wheel itself: installed from the fresh env, versions agree, no library outside the wheel
# and the manylinux policy, the bundled licences, a C++ program built with find_package(nocopy)
# against nocopy.cmake_dir().
wheel-check: wheel-venv
	mkdir -p $(WHEEL_TESTS)
	cd $(WHEEL_TESTS) && NOCOPY_WHEEL_DIST=$(CURDIR)/$(DIST) $(WPY) -m pytest -q -p no:cacheprovider \
	  $(CURDIR)/tests/wheel

# The Python suite runs against the installed wheel, from a folder where the source package
# cannot be imported (build/wheel-tests). Tests that fork run in their own interpreter, before
# any test imports multithreaded JAX/TF.
FORK_TESTS := tests/python/unit/test_shared_array.py
py-test: wheel-check
	cd $(WHEEL_TESTS) && $(WPY) -m pytest -q $(addprefix $(CURDIR)/,$(FORK_TESTS))
	cd $(WHEEL_TESTS) && $(WPY) -m pytest -q $(CURDIR)/tests/python \
	  $(addprefix --ignore=$(CURDIR)/,$(FORK_TESTS))

# The sdist as users get it: pip builds it from source (with build isolation: scikit-build-core
# and nanobind from PyPI) in another fresh virtualenv, timed; then a smoke test from outside the
# source tree.
sdist-test: wheel
	rm -rf $(SDIST_VENV)
	$(BASE_PYTHON) -m venv $(SDIST_VENV)
	@echo "pip install $(DIST)/nocopy-*.tar.gz (builds from source)"; start=$$(date +%s); \
	  CMAKE_BUILD_PARALLEL_LEVEL=$(JOBS) $(SDIST_VENV)/bin/python -m pip install -q $(DIST)/nocopy-*.tar.gz \
	  >build/sdist-install.log 2>&1 || { tail -40 build/sdist-install.log; exit 1; }; \
	  echo "  installed in $$(( $$(date +%s) - start )) s"
	mkdir -p $(WHEEL_TESTS)
	cd $(WHEEL_TESTS) && $(CURDIR)/$(SDIST_VENV)/bin/python $(CURDIR)/tests/wheel/sdist_smoke.py

# The C++ package as users get it: installs the core (headers, libnocopy.a, CMake config) into
# build/install with `cmake --install`, builds examples/cpp (a program and a Python extension)
# against it with find_package(nocopy), and runs both (tests/python/system/test_cpp_examples.py).
INSTALL_PREFIX := $(CURDIR)/build/install
EXAMPLES_BUILD := $(CURDIR)/build/examples
cpp-examples: build
	cmake -S . -B build/cpp -DCMAKE_BUILD_TYPE=Release $(CMAKE_TEST_FLAGS) >/dev/null
	cmake --build build/cpp --target nocopy_core -j$(JOBS)
	rm -rf $(INSTALL_PREFIX)
	cmake --install build/cpp --prefix $(INSTALL_PREFIX) --component dev >/dev/null
	cmake -S examples/cpp/consumer -B $(EXAMPLES_BUILD)/consumer -DCMAKE_BUILD_TYPE=Release \
	  -DCMAKE_PREFIX_PATH=$(INSTALL_PREFIX) >/dev/null
	cmake --build $(EXAMPLES_BUILD)/consumer -j$(JOBS)
	cmake -S examples/cpp/extension -B $(EXAMPLES_BUILD)/extension -DCMAKE_BUILD_TYPE=Release \
	  -DCMAKE_PREFIX_PATH=$(INSTALL_PREFIX) -DPython_EXECUTABLE=$(abspath $(PY)) >/dev/null
	cmake --build $(EXAMPLES_BUILD)/extension -j$(JOBS)
	NOCOPY_CPP_EXAMPLES=$(EXAMPLES_BUILD) $(PY) -m pytest -q tests/python/system/test_cpp_examples.py

# Every benchmark, full size, with the optional peers installed (DALI on the CPU).
bench: build
	-$(PY) -m pip install -q -r requirements-bench.txt
	$(PY) bench/bench_views.py
	$(PY) bench/bench_copy.py
	$(PY) bench/bench_storage.py
	$(PY) -m nocopy bench --png build/bench.png --markdown
	$(PY) -m nocopy bench --workload imagenet --png build/bench_imagenet.png --markdown
	$(PY) bench/bench_sequence.py
	$(PY) bench/bench_jpeg.py
	$(PY) bench/bench_transforms.py --images 512 --rounds 5 --batches 8 --png build/bench_transforms.png
	$(PY) bench/bench_video.py --json build/bench_video.json
	$(PY) bench/bench_remote.py --json build/bench_remote.json
	$(PY) bench/gpu_check.py

CXX_SOURCES = $(wildcard cpp/include/nocopy/*/*.hpp cpp/include/nocopy/pipeline/*/*.hpp cpp/src/*/*.[ch]pp \
                          cpp/src/pipeline/*/*.[ch]pp cpp/bindings/*.[ch]pp tests/cpp/*/*.cpp tests/cpp/*/*/*.cpp \
                          tests/peer/*.cpp fuzz/*.cpp bench/*.cpp \
                          examples/cpp/*/*.[ch]pp tests/wheel/*/*.cpp)

format:
	clang-format -i $(CXX_SOURCES)

# Fails when a C++ file differs from the repository's clang-format style.
format-check:
	@command -v clang-format >/dev/null 2>&1 || \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq clang-format)
	@clang-format --dry-run -Werror $(CXX_SOURCES) && echo "clang-format: $(words $(CXX_SOURCES)) files clean"

clean:
	rm -rf build dist

# libFuzzer targets for the parsers (fuzz/*_fuzzer.cpp), built with Debian's clang (installed
# only when missing) and run for FUZZ_SECONDS each; new inputs go to build/fuzz/corpus-<name>,
# the small seed corpus is fuzz/corpus/<name>. `fuzz-smoke` is the short run `make test` uses.
FUZZ_SECONDS ?= 60
FUZZ_TARGETS := $(patsubst fuzz/%_fuzzer.cpp,%,$(wildcard fuzz/*_fuzzer.cpp))
# The core links libjpeg when its header is there (checked when the rule runs, after system-deps).
# nlohmann/json (the manifest parser's header, from system-deps) is in the default include path.
FUZZ_JPEG := [ -f /usr/include/jpeglib.h ]
# FFmpeg (the video decoder) the same way, when pkg-config finds its libraries.
FUZZ_FFMPEG_PKGS := libavformat libavcodec libswscale libavutil
FUZZ_FFMPEG := pkg-config --exists $(FUZZ_FFMPEG_PKGS) 2>/dev/null
FUZZ_FLAGS := -std=c++20 -O1 -g -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all

fuzz-deps:
	@if ! command -v clang++ >/dev/null 2>&1; then \
	  echo "installing clang"; \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq clang) || \
	  (sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq clang); \
	fi

CORE_SOURCES := $(wildcard cpp/src/core/*.cpp cpp/src/storage/*.cpp cpp/src/pipeline/*/*.cpp)
CORE_HEADERS := $(wildcard cpp/src/*/*.hpp cpp/src/pipeline/*/*.hpp cpp/include/nocopy/*/*.hpp \
                           cpp/include/nocopy/pipeline/*/*.hpp)
# The core is compiled once for every fuzzer (coverage-instrumented, sanitized; in parallel with
# -j), each fuzzer then links its own main against those objects.
FUZZ_CORE_OBJECTS := $(patsubst cpp/src/%.cpp,build/fuzz/core/%.o,$(CORE_SOURCES))
build/fuzz/core/%.o: cpp/src/%.cpp $(CORE_HEADERS) | fuzz-deps system-deps
	@mkdir -p $(dir $@)
	clang++ $(subst -fsanitize=fuzzer,-fsanitize=fuzzer-no-link,$(FUZZ_FLAGS)) -Icpp/include \
	  -Icpp/src $$($(FUZZ_JPEG) && echo -DNOCOPY_HAVE_JPEG=1) \
	  $$($(FUZZ_FFMPEG) && echo -DNOCOPY_HAVE_FFMPEG=1 $$(pkg-config --cflags $(FUZZ_FFMPEG_PKGS))) \
	  -c $< -o $@
build/fuzz/%: fuzz/%_fuzzer.cpp $(FUZZ_CORE_OBJECTS) $(CORE_HEADERS) | fuzz-deps system-deps
	@mkdir -p build/fuzz
	clang++ $(FUZZ_FLAGS) -Icpp/include -Icpp/src $$($(FUZZ_JPEG) && echo -DNOCOPY_HAVE_JPEG=1) \
	  $$($(FUZZ_FFMPEG) && echo -DNOCOPY_HAVE_FFMPEG=1 $$(pkg-config --cflags $(FUZZ_FFMPEG_PKGS))) \
	  $< $(FUZZ_CORE_OBJECTS) -pthread $$($(FUZZ_JPEG) && echo -ljpeg) \
	  $$($(FUZZ_FFMPEG) && pkg-config --libs $(FUZZ_FFMPEG_PKGS)) -o $@

fuzz: $(addprefix build/fuzz/,$(FUZZ_TARGETS))
	@for t in $(FUZZ_TARGETS); do \
	  mkdir -p build/fuzz/corpus-$$t; \
	  echo "fuzzing $$t for $(FUZZ_SECONDS) s"; \
	  build/fuzz/$$t -max_total_time=$(FUZZ_SECONDS) -max_len=4096 -timeout=10 -rss_limit_mb=2048 \
	    -print_final_stats=1 -artifact_prefix=build/fuzz/$$t- \
	    build/fuzz/corpus-$$t $$(ls -d fuzz/corpus/$$t 2>/dev/null) 2>build/fuzz/$$t.log || \
	    { tail -40 build/fuzz/$$t.log; exit 1; }; \
	  grep -E "DONE|^Done" build/fuzz/$$t.log; \
	done

fuzz-smoke:
	$(MAKE) -j$(JOBS) fuzz FUZZ_SECONDS=20
