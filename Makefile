# simkit: `make shopee` runs the Shopee pipeline on the embedded sample; `make test` runs every test.
# Both install what is missing first (Debian packages when run as root, npm packages, the native
# faiss-node build, the native engine addon, the TypeScript build).
SHELL := /bin/bash
.DEFAULT_GOAL := help

NODE ?= node
SIMKIT := $(NODE) bin/simkit.js
DATA ?=
OUT ?=
CONFIG ?=
RUN_ARGS = $(if $(DATA),--data "$(DATA)") $(if $(OUT),--out "$(OUT)") $(if $(CONFIG),--config "$(CONFIG)")
SOURCES := $(shell find core plugins competitions bench -name '*.ts' -not -path '*/test/*' 2>/dev/null)
FAISS_ADDON := node_modules/faiss-node/build/Release/faiss-node.node
NATIVE_ENGINE := native/engine/build/Release/simkit_engine.node
NATIVE_ENGINE_SOURCES := $(wildcard native/engine/src/*) native/engine/CMakeLists.txt scripts/build-native-engine.mjs

.PHONY: help setup system deps build test lint format fuzz typecheck gpu webgpu doctor clean \
	option-docs fashion-mnist fashion-mnist-precision bench bench-engine bench-losses bench-train bench-profile bench-knn bench-score bench-data \
	shopee-like bench-scale ablation

help:
	@echo "make shopee          run the Shopee pipeline (embedded sample unless DATA=<kaggle dir>; OUT=<dir>)"
	@echo "make <competition>   any registered competition, a scaffolded one included (npx simkit list competitions)"
	@echo "make test            install what is missing, run make lint, and run every test"
	@echo "make lint            type-check sources and tests, ESLint, Prettier --check (part of make test)"
	@echo "make format          rewrite the sources in the project's layout (Prettier, then ESLint --fix)"
	@echo "make fuzz            fuzz every reader, scorer and the submission writer longer (FUZZ_CASES=20000)"
	@echo "make bench           every benchmark (bench-engine bench-losses bench-train bench-profile bench-knn bench-score bench-data)"
	@echo "make bench-train     training and embedding samples/s against PyTorch (SIMKIT_BACKEND=<name>; PRECISION=bf16 adds bf16 rows)"
	@echo "make fashion-mnist-precision  Fashion-MNIST test accuracy of one classifier trained in f32 and in bf16"
	@echo "make bench-data      make shopee's image model: samples/s per epoch against the pure training-step rate"
	@echo "make bench-profile   top kernels of one training step and sgemm GFLOP/s (BACKENDS=wasm,native)"
	@echo "make bench-scale     the Shopee pipeline on a generated set: phase times, items/s, peak RSS (SCALE_POSTINGS=3000,10000 SCALE_EPOCHS=n)"
	@echo "make ablation        each winners' technique on and off on a sample (COMPETITION=shopee,hotels ROWS=defaults,folds)"
	@echo "make shopee-like     write a Shopee-like set (SCALE_POSTINGS=34250 SCALE_SEED=1 SCALE_HARD=0.3 SCALE_DATA=<dir>)"
	@echo "make gpu             install the optional CUDA backend (@tensorflow/tfjs-node-gpu)"
	@echo "make doctor          check the installation"

setup: build

system:
	@bash scripts/setup-system.sh $(SYSTEM_EXTRA)

node_modules/.package-lock.json: package.json package-lock.json
	npm ci --no-audit --no-fund
	@touch $@

deps: system node_modules/.package-lock.json $(FAISS_ADDON) $(NATIVE_ENGINE)

# Rebuilt when the typed-array patch or the build script changes, so a checkout never keeps a stale addon.
$(FAISS_ADDON): native/faiss-node-typed-arrays.patch scripts/build-faiss.mjs | node_modules/.package-lock.json
	$(NODE) scripts/build-faiss.mjs --force

$(NATIVE_ENGINE): $(NATIVE_ENGINE_SOURCES) | node_modules/.package-lock.json
	$(NODE) scripts/build-native-engine.mjs --force

# From scratch, so that a module deleted from the sources leaves no compiled di.config behind to be discovered.
dist/.built: $(SOURCES) tsconfig.json | deps
	rm -rf dist
	npx tsc -p tsconfig.json
	@touch $@

build: deps dist/.built

# The commands are package.json's scripts; tsconfig.check.json is the build's program plus the tests.
typecheck lint format: deps
	npm run --silent $@

test: build lint
	npx vitest run

# core/cli/option-docs.json: what `simkit list <kind> <name>` says of each option (from the option types' doc comments).
option-docs: deps
	$(NODE) scripts/option-docs.mjs

# `make test` runs 1,000 fuzz cases; this runs more (FUZZ_CASES, FUZZ_SEED) and nothing else.
FUZZ_CASES ?= 20000
FUZZ_SEED ?= 20261201
fuzz: build
	SIMKIT_FUZZ_CASES=$(FUZZ_CASES) SIMKIT_FUZZ_SEED=$(FUZZ_SEED) npx vitest run test/competitions/fuzz.test.ts

doctor: build
	$(SIMKIT) doctor

# Any other target is a competition's alias or Kaggle slug, looked up in the registry by
# `simkit run` (which names the known ones when there is no such competition).
.DEFAULT:
	@$(MAKE) --no-print-directory build
	$(SIMKIT) run $@ $(RUN_ARGS)

# The real-data benchmark: Debian's Fashion-MNIST (or DATA=<IDX dir>), side-by-side table and report.
# `simkit run fashion-mnist` runs the same competition on its embedded 2,000/500 sample.
fashion-mnist: build
	DATA="$(or $(DATA),/usr/share/datasets/fashion-mnist)" $(if $(OUT),OUT="$(OUT)") $(NODE) dist/bench/fashion-mnist.js

fashion-mnist: SYSTEM_EXTRA = dataset-fashion-mnist

# The Fashion-MNIST softmax classifier trained in f32 and in bf16 mixed precision: test accuracy side by side.
fashion-mnist-precision: build
	DATA="$(or $(DATA),/usr/share/datasets/fashion-mnist)" $(NODE) dist/bench/fashion-mnist-precision.js
fashion-mnist-precision: SYSTEM_EXTRA = dataset-fashion-mnist

gpu: deps
	@echo "Installing @tensorflow/tfjs-node-gpu 4.22.0. It downloads libtensorflow 2.9.1 (set TFJS_NODE_CDN_STORAGE"
	@echo "to a mirror when Google's host is unreachable) and runs on the GPU only with CUDA 11.2 + cuDNN 8.1."
	npm install --no-save --foreground-scripts @tensorflow/tfjs-node-gpu@4.22.0
	$(SIMKIT) --backend tensorflow doctor

webgpu: deps
	@echo "Installing the experimental WebGPU route (Dawn); it needs a GPU with a Vulkan driver."
	npm install --no-save webgpu@0.6.2 @tensorflow/tfjs-backend-webgpu@4.22.0
	$(SIMKIT) --backend webgpu doctor

bench: bench-engine bench-losses bench-train bench-profile bench-knn bench-score bench-data

bench-engine bench-losses bench-train bench-profile bench-knn bench-score bench-data: build
	$(NODE) --expose-gc dist/bench/$(@:bench-%=%).js

# A Shopee-like set in Kaggle's layout, of any size, the same for a seed (bench/generate-shopee-like.ts).
SCALE_POSTINGS ?= 34250
SCALE_SEED ?= 1
SCALE_HARD ?= 0.3
SCALE_DATA ?= output/shopee-like-$(SCALE_POSTINGS)-seed$(SCALE_SEED)-hard$(SCALE_HARD)
# A set already written is kept (it is written all at once, so train.csv there means complete).
shopee-like: build
	@if [ -f "$(SCALE_DATA)/train.csv" ]; then echo "$(SCALE_DATA) is there (remove it to write it again)"; \
	else $(NODE) dist/bench/generate-shopee-like.js --out "$(SCALE_DATA)" --postings $(SCALE_POSTINGS) \
		--seed $(SCALE_SEED) --hard $(SCALE_HARD); fi

# The whole pipeline on Shopee-like sets (written when missing), one run per size in SCALE_POSTINGS (comma-separated).
bench-scale: build
	$(NODE) dist/bench/scale.js --postings "$(SCALE_POSTINGS)" --seed $(SCALE_SEED) --hard $(SCALE_HARD) \
		$(if $(SCALE_EPOCHS),--epochs $(SCALE_EPOCHS))

# The techniques' ablation table per competition (bench/ablation.ts): one `nice -n 10 simkit run` per row, seed 42.
COMPETITION ?= shopee
ablation: build
	$(NODE) dist/bench/ablation.js --competition "$(COMPETITION)" $(if $(ROWS),--rows "$(ROWS)") $(if $(OUT),--out "$(OUT)")

clean:
	rm -rf dist output
