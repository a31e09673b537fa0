# era-tools. `make demo` and `make check` are the two commands a new machine needs.
SHELL := /bin/bash
export LC_ALL := C

PREFIX ?= /usr/local
SBINDIR ?= $(PREFIX)/sbin
MANDIR ?= $(PREFIX)/share/man
INCLUDEDIR ?= $(PREFIX)/include
LIBDIR ?= $(PREFIX)/lib
DESTDIR ?=
VERSION := 0.1.0

CC ?= cc
CXX ?= c++
PYTHON ?= /usr/bin/python3
OPT ?= -O2
WARN := -Wall -Wextra -Werror -Wshadow -Wno-unused-parameter
CFLAGS ?= $(OPT) -g
CXXFLAGS ?= $(OPT) -g
ALL_CFLAGS := -std=gnu11 -D_GNU_SOURCE -D_FILE_OFFSET_BITS=64 -DERA_TOOLS_VERSION='"$(VERSION)"' $(WARN) -I. $(CFLAGS) $(SANFLAGS)
ALL_CXXFLAGS := -std=gnu++17 -D_GNU_SOURCE $(WARN) -I. $(CXXFLAGS) $(SANFLAGS)
LDFLAGS ?=
B ?= build

XML_CFLAGS := $(shell pkg-config --cflags libxml-2.0 2>/dev/null || echo -I/usr/include/libxml2)
XML_LIBS := $(shell pkg-config --libs libxml-2.0 2>/dev/null || echo -lxml2)
BLKID_LIBS := -lblkid

LIBPD_SRC := $(sort $(wildcard libpd/*.c))
FORMAT_SRC := $(sort $(wildcard format/*.c))
XML_SRC := $(sort $(wildcard xml/*.c))
TOOLS := $(patsubst tools/%.c,%,$(sort $(wildcard tools/era_*.c)))
TOOL_COMMON := $(sort $(filter-out tools/era_%.c,$(wildcard tools/*.c)))
TEST_SRC := $(sort $(wildcard tests/unit/*.cc))

LIBPD_OBJ := $(LIBPD_SRC:%.c=$(B)/%.o)
FORMAT_OBJ := $(FORMAT_SRC:%.c=$(B)/%.o)
XML_OBJ := $(XML_SRC:%.c=$(B)/%.o)
TOOL_COMMON_OBJ := $(TOOL_COMMON:%.c=$(B)/%.o)
BINS := $(TOOLS:%=bin/%)

DEPS_PKGS := build-essential pkg-config libxml2-dev libxml2-utils libblkid-dev \
	libgtest-dev python3-pytest xz-utils groff-base
KERNEL_PKGS := qemu-system-x86 busybox-static cpio dmsetup

.PHONY: all deps deps-kernel demo check check-unit check-integration check-asan check-kernel \
	check-kernel-fast fixtures bench fuzz clean install uninstall static

all: $(BINS) bin/era_check.static

# $(call install_missing,PACKAGES[,APT-GET OPTIONS ]): installs those of the
# Debian PACKAGES not installed yet.
define install_missing
	@missing=""; for p in $(1); do \
		dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'install ok installed' || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
		echo "installing:$$missing"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(2)$$missing; \
	fi
endef

deps:
	$(call install_missing,$(DEPS_PKGS))

deps-kernel:
	$(call install_missing,$(KERNEL_PKGS))

$(B)/%.o: %.c
	@mkdir -p $(dir $@)
	@echo "  CC      $<"
	@$(CC) $(ALL_CFLAGS) $(XML_CFLAGS) -MMD -MP -c $< -o $@

$(B)/libpd.a: $(LIBPD_OBJ)
	@rm -f $@; ar rcs $@ $^

$(B)/libera.a: $(FORMAT_OBJ) $(XML_OBJ)
	@rm -f $@; ar rcs $@ $^

bin/%: $(B)/tools/%.o $(TOOL_COMMON_OBJ) $(B)/libera.a $(B)/libpd.a
	@mkdir -p bin
	$(CC) $(SANFLAGS) $(LDFLAGS) -o $@ $^ $(XML_LIBS) $(BLKID_LIBS) -lpthread
# Kept, not deleted as intermediates: else the next `make` (which reads
# their .d files) builds and relinks them again.
.SECONDARY: $(TOOLS:%=$(B)/tools/%.o)

# era_check for initramfs: libc alone, statically linked.
# (tools/output.c, for the tools that write, needs libblkid)
STATIC_COMMON_OBJ := $(filter-out $(B)/tools/output.o,$(TOOL_COMMON_OBJ))
bin/era_check.static: $(B)/tools/era_check.o $(STATIC_COMMON_OBJ) $(B)/libera.a $(B)/libpd.a
	@mkdir -p bin
	$(CC) -static $(LDFLAGS) -o $@ $(B)/tools/era_check.o $(STATIC_COMMON_OBJ) $(B)/libera.a $(B)/libpd.a -lpthread

era_check.static static: bin/era_check.static

# Unit tests: GoogleTest through the C shim header tests/unit/shim.h.
$(B)/tests/%.o: tests/%.cc
	@mkdir -p $(dir $@)
	@echo "  CXX     $<"
	@$(CXX) $(ALL_CXXFLAGS) $(XML_CFLAGS) -MMD -MP -c $< -o $@

$(B)/unit_tests: $(TEST_SRC:%.cc=$(B)/%.o) $(B)/libera.a $(B)/libpd.a
	$(CXX) $(SANFLAGS) -o $@ $^ -lgtest -lgtest_main $(XML_LIBS) $(BLKID_LIBS) -lpthread

check-unit: $(B)/unit_tests
	$(B)/unit_tests

check-integration: $(BINS)
	$(PYTHON) -m pytest -q -p no:cacheprovider --basetemp=$(B)/pytest-tmp tests/integration

# Pieces in mk/*.mk add their own targets; CHECK_EXTRA lists more targets
# that `make check` runs after the unit and integration tests.
CHECK_EXTRA :=
include $(sort $(wildcard mk/*.mk))
include tests/kernel/Makefile.inc

check: deps
	$(MAKE) all $(B)/unit_tests
	$(B)/unit_tests --gtest_brief=1
	$(foreach t,$(CHECK_EXTRA),$(MAKE) $(t) &&) true
	$(PYTHON) -m pytest -q -p no:cacheprovider --basetemp=$(B)/pytest-tmp $(PYTEST_ARGS) tests/integration

check-asan:
	$(MAKE) B=build-asan SANFLAGS="-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all" OPT=-O1 \
		$(BINS:bin/%=build-asan/bin/%) build-asan/unit_tests
	ASAN_OPTIONS=detect_leaks=1 build-asan/unit_tests
	ERA_TOOLS_BIN=$(CURDIR)/build-asan/bin $(PYTHON) -m pytest -q -p no:cacheprovider --basetemp=build-asan/pytest-tmp tests/integration

build-asan/bin/%: build-asan/tools/%.o $(TOOL_COMMON:%.c=build-asan/%.o) build-asan/libera.a build-asan/libpd.a
	@mkdir -p $(dir $@)
	$(CC) $(SANFLAGS) -o $@ $^ $(XML_LIBS) $(BLKID_LIBS) -lpthread

demo: deps all
	@bash tests/demo.sh

clean:
	rm -rf build build-asan bin

-include $(shell find $(B) -path $(B)/pytest-tmp -prune -o -name '*.d' -type f -print 2>/dev/null)
