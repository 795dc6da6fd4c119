# Targets for building and testing moq-gateway. `make ci` is what
# scripts/test.sh (the README's test command) runs after installing tools.

GO       ?= go
LINT     := $(GO) tool -modfile=tools/go.mod golangci-lint
FUZZTIME ?= 30000x
PKGS     := ./...

.PHONY: help build test fuzz bench bench-smoke lint fmt tidy e2e ci

help: ## list targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/'

build: ## build bin/moq-gateway and bin/moq-bench
	$(GO) build -o bin/ ./cmd/moq-gateway ./cmd/moq-bench

test: ## unit tests with the race detector
	$(GO) test -race -shuffle on -timeout 15m $(PKGS)

fuzz: ## run every fuzz target for FUZZTIME each
	FUZZTIME=$(FUZZTIME) ./scripts/fuzz.sh

bench: ## benchmarks with allocation counts
	$(GO) test -run '^$$' -bench . -benchmem $(PKGS)

bench-smoke: ## every benchmark once, to keep them compiling and running
	$(GO) test -run '^$$' -bench . -benchmem -benchtime 1x $(PKGS)

lint: ## go vet, golangci-lint (pinned in tools/go.mod), go mod tidy check
	$(GO) vet $(PKGS)
	$(LINT) run --build-tags e2e $(PKGS)
	$(GO) mod tidy -diff

fmt: ## format with the linter's formatters
	$(LINT) fmt $(PKGS)

e2e: ## end-to-end tests against the built binary, ffmpeg and third-party peers
	$(GO) test -tags e2e -timeout 30m -count 1 ./e2e/...

ci: lint test fuzz bench-smoke e2e ## everything CI runs
