# natsim: a NATS server whose distributed core runs in a deterministic simulator.
GO        ?= go
BIN       := bin
STORE_DIR ?= $(CURDIR)/data/jetstream
SEEDS     ?= 1-200
DET_SEEDS ?= 1-20
SOAK_SEEDS ?= 1-5000

.PHONY: all build run test unit race sim sim-determinism soak bench lint clean

all: build

## build: the production server (Buggify compiled out) and the simulator.
build:
	$(GO) build -tags production -o $(BIN)/nats-server ./cmd/nats-server
	$(GO) build -o $(BIN)/sim ./cmd/sim

## run: the server on 127.0.0.1:4222, JetStream on $(STORE_DIR), monitoring on 8222.
run: build
	./$(BIN)/nats-server -a 127.0.0.1 -p 4222 -m 8222 -js -sd $(STORE_DIR)

## test: vet, unit/property/integration tests, a simulation sweep and a determinism check.
test: lint unit race sim sim-determinism

unit:
	$(GO) test -count=1 -timeout 15m ./...

## race: the concurrent packages (the server, the real world, the shared sublist, the stores) under the race detector.
race:
	$(GO) test -race -count=1 -timeout 15m ./node/... ./env/osenv ./ds/sublist ./store/...

## sim: a sweep of $(SEEDS) seeds over every scenario.
sim:
	$(GO) run ./cmd/sim -seeds $(SEEDS)

sim-determinism:
	$(GO) run ./cmd/sim -seeds $(DET_SEEDS) -check-determinism

## soak: a long sweep, by hand.
soak:
	$(GO) run ./cmd/sim -seeds $(SOAK_SEEDS)

## bench: nats bench against the reference and ours, side by side.
bench: build
	./scripts/bench.sh

## lint: gofmt, go vet and the layering/determinism lint test.
lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) test -count=1 -run 'TestLint' ./lint/...

clean:
	rm -rf $(BIN)
