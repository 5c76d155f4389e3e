# Samsa — the two commands of the README are `make run` and `make test`.
BUILD_DIR ?= build
JOBS ?= $(shell nproc)
CMAKE_FLAGS ?=

.PHONY: deps configure build run test unit integration bench clean fuzz

deps:
	@start=$$(date +%s); bash scripts/install-deps.sh && echo "== deps took $$(( $$(date +%s) - start ))s"

configure: deps
	@cmake -S . -B $(BUILD_DIR) -G Ninja $(CMAKE_FLAGS) > /dev/null

build: configure
	@start=$$(date +%s); ninja -C $(BUILD_DIR) -j$(JOBS) samsa unit_tests && \
	  echo "== build took $$(( $$(date +%s) - start ))s"

# Single-node broker on localhost:9092 with its data in ./data (Ctrl-C stops it cleanly); the web
# console, metrics, health and the admin API on http://localhost:9644 (http.listeners, printed at start).
run: build
	@echo "samsa: Kafka on localhost:9092, web console on http://localhost:9644/console/"
	@exec $(BUILD_DIR)/samsa start --override listeners=PLAINTEXT://localhost:9092 --override log.dirs=./data

unit: build
	@$(BUILD_DIR)/unit_tests --gtest_brief=1

integration: build
	@SAMSA_BIN=$(abspath $(BUILD_DIR))/samsa bash tests/integration/run.sh

# The layering and merge-marker checks first (seconds): an upward include, an unlinked dependency
# or an unresolved merge left in a file fails the run.
test: build
	@bash tests/build/merge_markers_check.sh
	@bash tests/build/layering_check.sh $(BUILD_DIR)
	@bash scripts/test.sh $(BUILD_DIR)

bench: build
	@bash bench/run.sh $(BUILD_DIR)

clean:
	rm -rf $(BUILD_DIR)
