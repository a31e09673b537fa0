# Benchmarks against the reference tools (bench/README.md). Never part of
# `make check`; only the generator is built for the integration smoke test.
#   make bench                         all sizes (64k,1m,4m,16m), 3 repetitions
#   make bench BENCH_SIZES=64k,1m BENCH_REPS=1
# Other knobs (environment): BENCH_WRITESETS, BENCH_090_16M=1, BENCH_KERNEL=0,
# BENCH_CACHE (default ~/.cache/era-tools/bench), BENCH_TIMEOUT (seconds).
.PHONY: bench bench-gen bench-dry

BENCH_GEN := $(B)/bench/gen_xml
BENCH_TIMEIT := $(B)/bench/timeit
BENCH_HELPERS := $(BENCH_GEN) $(BENCH_TIMEIT)

$(B)/bench/%: bench/%.c
	@mkdir -p $(dir $@)
	@echo "  CC      $<"
	@$(CC) -std=gnu11 -D_GNU_SOURCE $(WARN) -O2 -g -o $@ $<

bench-gen: $(BENCH_HELPERS)

# the smoke test (tests/integration/test_bench_smoke.py) uses both helpers
check-integration: $(BENCH_HELPERS)

bench: $(BENCH_HELPERS)
	$(MAKE) OPT=-O2 $(BINS)
	$(PYTHON) bench/run.py --gen $(BENCH_GEN) --timeit $(BENCH_TIMEIT)

bench-dry: $(BENCH_HELPERS)
	$(PYTHON) bench/run.py --gen $(BENCH_GEN) --timeit $(BENCH_TIMEIT) --dry-run
