# Fuzzing (issue 7): libFuzzer targets in tests/fuzz/, built with clang and
# sanitizers into build-fuzz/ (the libraries are compiled again there with
# the fuzzer's coverage instrumentation).
#   make fuzz FUZZ_SECONDS=N   build, make the seed corpora, run each target N s
#   make fuzz-regress          replay tests/fuzz/regressions/ (crashes found before)
# `make check` runs a short round (fuzz-check) when clang is installed.
FUZZ_CC ?= clang
FB := build-fuzz
FUZZ_SECONDS ?= 60
FUZZ_SAN := -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
FUZZ_CFLAGS := -std=gnu11 -D_GNU_SOURCE -D_FILE_OFFSET_BITS=64 -DERA_TOOLS_VERSION='"$(VERSION)"' \
	$(filter-out -Werror,$(WARN)) -I. -g -O1 $(FUZZ_SAN) -fsanitize=fuzzer-no-link \
	-DERA_XML_FEED=1024u
FUZZ_TARGETS := $(patsubst tests/fuzz/%.c,%,$(sort $(wildcard tests/fuzz/fuzz_*.c)))
# (ERA_XML_FEED: the parser's pieces are 1 KiB, so that inputs of
# max_len cross many of them.)
# fuzz_xml needs the restore parser (xml/era_parse.h)
ifeq ($(wildcard xml/era_parse.h),)
FUZZ_TARGETS := $(filter-out fuzz_xml fuzz_restore_split,$(FUZZ_TARGETS))
endif
FUZZ_LIB_OBJ := $(patsubst %.c,$(FB)/%.o,$(LIBPD_SRC) $(FORMAT_SRC) $(XML_SRC))
# the walk target fixes checksums of mutated blocks; the seeds are whole blocks
FUZZ_MAX_LEN_fuzz_walk := 600000
FUZZ_MAX_LEN_fuzz_sb := 65536
FUZZ_MAX_LEN_fuzz_xml := 65536
# two restores (one thread, two) per input, each to a 1 MiB memfd
FUZZ_MAX_LEN_fuzz_restore_split := 65536
# fuzz_repair takes images like fuzz_walk (and its seeds); fuzz_build event streams
FUZZ_MAX_LEN_fuzz_repair := 600000
FUZZ_MAX_LEN_fuzz_build := 4096
FUZZ_SEED_IMAGES := fresh grown snap_held
# target:max_len for each target (fuzz_walk's when it has no FUZZ_MAX_LEN_ of its own)
FUZZ_TARGET_LENS = $(foreach t,$(FUZZ_TARGETS),$(t):$(or $(FUZZ_MAX_LEN_$(t)),$(FUZZ_MAX_LEN_fuzz_walk)))

.PHONY: fuzz fuzz-build fuzz-seeds fuzz-regress fuzz-check

$(FB)/%.o: %.c
	@mkdir -p $(dir $@)
	@echo "  FUZZCC  $<"
	@$(FUZZ_CC) $(FUZZ_CFLAGS) $(XML_CFLAGS) -MMD -MP -c $< -o $@

$(FB)/fuzz_%: $(FB)/tests/fuzz/fuzz_%.o $(FUZZ_LIB_OBJ)
	$(FUZZ_CC) $(FUZZ_SAN) -fsanitize=fuzzer -o $@ $^ $(XML_LIBS) $(BLKID_LIBS) -lpthread

fuzz-build: $(FUZZ_TARGETS:%=$(FB)/%)

# Seeds: the small kernel fixtures and the reference samples, cut after
# their last used block (space map shrunk to match, so they check clean);
# XML dumps of them for the parser; their first blocks for the superblock.
$(FB)/seeds.stamp: $(B)/era_damage bin/era_dump $(wildcard tests/fixtures/*.meta.xz tests/oracle/samples/img/*.xz tests/fuzz/seeds/*/*)
	@rm -rf $(FB)/seeds && mkdir -p $(FB)/seeds/fuzz_walk $(FB)/seeds/fuzz_sb $(FB)/seeds/fuzz_xml $(FB)/seeds/fuzz_restore_split
	@set -e; for n in $(FUZZ_SEED_IMAGES); do \
		f=tests/fixtures/$$n.meta.xz; [ -f $$f ] || continue; \
		xz -dc $$f > $(FB)/seeds/fuzz_walk/$$n.img; \
	done; \
	for f in tests/oracle/samples/img/*.r110.img.xz; do \
		[ -f $$f ] || continue; xz -dc $$f > $(FB)/seeds/fuzz_walk/$$(basename $$f .img.xz).img; \
	done; \
	for f in $(FB)/seeds/fuzz_walk/*.img; do \
		$(B)/era_damage $$f shrink > /dev/null; \
		head -c 4096 $$f > $(FB)/seeds/fuzz_sb/$$(basename $$f .img).sb; \
		if [ $$(stat -c %s $$f) -le 65536 ]; then bin/era_dump $$f > $(FB)/seeds/fuzz_xml/$$(basename $$f .img).xml; fi; \
	done; \
	cp tests/oracle/samples/xml/*.xml $(FB)/seeds/fuzz_xml/ 2>/dev/null || true
	@# the split target: documents with comments, PIs, CDATA, markers, CRLF
	@cp $(FB)/seeds/fuzz_xml/* tests/fuzz/seeds/restore_split/* $(FB)/seeds/fuzz_restore_split/ 2>/dev/null || true
	@rm -rf $(FB)/seeds/fuzz_repair $(FB)/seeds/fuzz_build && cp -r $(FB)/seeds/fuzz_walk $(FB)/seeds/fuzz_repair
	@mkdir -p $(FB)/seeds/fuzz_build && cp tests/fuzz/seeds/build/* $(FB)/seeds/fuzz_build/
	@touch $@

fuzz-seeds: $(FB)/seeds.stamp

fuzz: fuzz-build fuzz-seeds
	@set -e; for tm in $(FUZZ_TARGET_LENS); do \
		t=$${tm%%:*}; max=$${tm#*:}; \
		mkdir -p $(FB)/corpus/$$t $(FB)/artifacts/$$t; \
		echo "== $$t: $(FUZZ_SECONDS) s"; \
		ASAN_OPTIONS=detect_leaks=1:allocator_may_return_null=1 \
		UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
		$(FB)/$$t -max_total_time=$(FUZZ_SECONDS) -max_len=$$max -timeout=10 -rss_limit_mb=2048 \
			-print_final_stats=1 -artifact_prefix=$(FB)/artifacts/$$t/ \
			$(FB)/corpus/$$t $(FB)/seeds/$$t 2>&1 | \
			grep -E '^(stat::|#[0-9]+.*DONE|INFO: (Loaded|seed)|==[0-9]+==|SUMMARY|.*(ERROR|WARNING|runtime error|Test unit written))' || true; \
		if ls $(FB)/artifacts/$$t/ 2>/dev/null | grep -q .; then \
			echo "$$t: crash inputs in $(FB)/artifacts/$$t/"; exit 1; fi; \
	done

# Inputs that once crashed a target: each must now run clean.
fuzz-regress: fuzz-build
	@set -eo pipefail; for t in $(FUZZ_TARGETS); do \
		d=tests/fuzz/regressions/$${t#fuzz_}; \
		ls $$d/* >/dev/null 2>&1 || continue; \
		echo "== $$t: replaying $$(ls $$d | wc -l) regression inputs"; \
		ASAN_OPTIONS=detect_leaks=1 $(FB)/$$t -runs=1 $$d/* 2>&1 | grep -E '^(Executed|==[0-9]+==|SUMMARY)|runtime error'; \
	done

fuzz-check:
	$(MAKE) fuzz-regress
	$(MAKE) fuzz FUZZ_SECONDS=20

ifneq ($(shell command -v $(FUZZ_CC) 2>/dev/null),)
CHECK_EXTRA += fuzz-check
else
# said, not silently left out
CHECK_EXTRA += fuzz-skipped
endif
.PHONY: fuzz-skipped
fuzz-skipped:
	@echo "fuzz-check: SKIPPED: $(FUZZ_CC) is not installed (apt-get install clang to fuzz in make check)"

-include $(shell find $(FB) -name '*.d' 2>/dev/null)
.SECONDARY: $(FUZZ_LIB_OBJ) $(FUZZ_TARGETS:%=$(FB)/tests/fuzz/%.o)
