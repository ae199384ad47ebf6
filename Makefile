# pgmux: entry points for building, testing and trying the proxy. The real build description
# is CMakeLists.txt; this file only installs dependencies and drives CMake, Ninja and CTest.

SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help

BUILD_DIR    ?= build
RELEASE_DIR  ?= build-release
JOBS         ?= $(shell nproc 2>/dev/null || echo 2)
CTEST_JOBS   ?= $(JOBS)
# Default per-test limit for tests that set none, so a hung test cannot eat the CI budget.
CTEST_TIMEOUT ?= 600
CMAKE_ARGS   ?=
# SKIP_DEPS=1 skips the Debian package check (other systems, or packages installed by hand).
SKIP_DEPS    ?=

FORMAT_DIRS  := src include tests bench

.PHONY: help deps configure test build demo clean distclean format format-check

help: ## Show this list.
	@echo "Targets:"
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed -E 's/^([a-z-]+):.*## /  make \1\t/' | expand -t 22
	@echo "Variables: BUILD_DIR=$(BUILD_DIR) RELEASE_DIR=$(RELEASE_DIR) JOBS=$(JOBS)" \
	  "CTEST_TIMEOUT=$(CTEST_TIMEOUT) SKIP_DEPS=$(SKIP_DEPS) CMAKE_ARGS=..."

deps: ## Install missing Debian packages (needs root when something is missing).
	@if [[ -z "$(SKIP_DEPS)" ]]; then scripts/install-deps.sh; fi

# The integration tests' PostgreSQL cluster lives in the build tree when the postgres user (the
# server refuses to run as root) can reach it and its Unix socket path is short enough;
# otherwise (a checkout under /root, say) in a directory under /tmp named after the build tree.
configure: deps ## Configure the test build (RelWithDebInfo, Ninja) in build/.
	@mkdir -p $(BUILD_DIR)
	@build=$$(cd $(BUILD_DIR) && pwd); pgdir=$$build/tests/integration/pgcluster; \
	if (( $${#pgdir} > 80 )) || \
	   { (( EUID == 0 )) && ! (cd / && runuser -u postgres -- test -x "$$build"); }; then \
	  pgdir=/tmp/pgmux-test-$$(printf '%s' "$$build" | cksum | cut -d' ' -f1); \
	fi; \
	set -x; cmake -S . -B $(BUILD_DIR) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	  -DPGMUX_BUILD_TESTS=ON -DPGMUX_TEST_PGDIR="$$pgdir" $(CMAKE_ARGS)

test: configure ## Build everything and run every unit and integration test.
	ninja -C $(BUILD_DIR) -j$(JOBS)
	ctest --test-dir $(BUILD_DIR) --output-on-failure --no-tests=error \
	  -j$(CTEST_JOBS) --timeout $(CTEST_TIMEOUT)

build: deps ## Build the Release binary: build-release/pgmux.
	cmake -S . -B $(RELEASE_DIR) -G Ninja -DCMAKE_BUILD_TYPE=Release \
	  -DPGMUX_BUILD_TESTS=OFF $(CMAKE_ARGS)
	ninja -C $(RELEASE_DIR) -j$(JOBS) pgmux
	@echo "built $(RELEASE_DIR)/pgmux"

demo: build ## Run pgmux on 127.0.0.1:6432 in front of a throwaway PostgreSQL (Ctrl-C stops).
	PGMUX_BIN=$(RELEASE_DIR)/pgmux scripts/demo.sh

format: ## Reformat C++ sources in place with clang-format.
	@files=$$(find $(FORMAT_DIRS) -type f \( -name '*.cpp' -o -name '*.hpp' -o -name '*.h' \) 2>/dev/null); \
	if [[ -n "$$files" ]]; then clang-format -i $$files; fi

format-check: ## Fail if any C++ source is not clang-formatted.
	@files=$$(find $(FORMAT_DIRS) -type f \( -name '*.cpp' -o -name '*.hpp' -o -name '*.h' \) 2>/dev/null); \
	if [[ -n "$$files" ]]; then clang-format --dry-run -Werror $$files; fi

clean: ## Remove the build directories.
	rm -rf $(BUILD_DIR) $(RELEASE_DIR)

distclean: clean ## Also stop a leftover demo and remove .demo/.
	scripts/demo.sh --stop

.PHONY: bench
bench: build ## Benchmark pgmux against PgBouncer and PostgreSQL (root; ~1 h; bench/README.md).
	@if ninja -C $(RELEASE_DIR) -t targets all 2>/dev/null | grep -q '^micro_bench:'; then \
	  ninja -C $(RELEASE_DIR) -j$(JOBS) micro_bench; fi
	SKIP_DEPS=$(SKIP_DEPS) PGMUX_BIN=$(RELEASE_DIR)/pgmux bench/run.sh
