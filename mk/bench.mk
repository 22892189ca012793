# Benchmark targets. `bench` starts a private ActiveMQ, dynalite and
# mosquitto on free loopback ports, measures the full scenarios and writes
# docs/benchmarks.md; it takes about 15 minutes on 2 cores. `bench-smoke`
# runs every scenario once with small counts, prints the tables and writes
# nothing; it takes about a minute.

GO ?= go
BENCH_FLAGS ?=

.PHONY: bench bench-smoke

bench: deps ## measure speed, capacity, bursts and cost; writes docs/benchmarks.md (about 15 min)
	$(GO) run ./bench -out docs/benchmarks.md $(BENCH_FLAGS)

bench-smoke: deps ## run the benchmark scenarios once with small counts and print the tables (about 1 min)
	$(GO) run ./bench -smoke $(BENCH_FLAGS)
