# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# fluxlb: one non-recursive Makefile. Everything generated goes under build/.
# `make help` lists the targets; V=1 shows the commands; SAN=1 builds with
# ASan/UBSan.

BUILD      ?= build
CC         ?= gcc
CLANG      ?= clang
BPFTOOL    ?= bpftool
ARCH       := $(shell uname -m | sed 's/x86_64/x86/;s/aarch64/arm64/')
MULTIARCH  := $(shell $(CC) -print-multiarch 2>/dev/null)

ifeq ($(V),1)
  Q =
  msg =
else
  Q = @
  msg = @printf '  %-8s %s\n' "$(1)" "$(2)";
endif

WARN    := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes \
           -Wmissing-prototypes -Wvla -Wno-missing-field-initializers
CFLAGS  ?= -O2 -g
VERSION := $(shell git describe --always --dirty 2>/dev/null || echo 0.1)
CFLAGS  += -DFLB_VERSION=\"$(VERSION)\"
CFLAGS  += $(WARN) -std=gnu11 -D_GNU_SOURCE -MMD -MP \
           -Iinclude -Iuser -Itests/lib -I$(BUILD)/skel
LDLIBS  := -lxdp -lbpf -lyaml -lelf -lz -lpthread -lcurl -lcjson -lmicrohttpd
ifeq ($(SAN),1)
  CFLAGS  += -fsanitize=address,undefined -fno-omit-frame-pointer
  LDFLAGS += -fsanitize=address,undefined
endif

BPF_CFLAGS := -O2 -g -target bpf -D__TARGET_ARCH_$(ARCH) -Wall -Werror \
              -Iinclude -Ibpf $(if $(MULTIARCH),-I/usr/include/$(MULTIARCH)) \
              -MMD -MP

BPF_SRCS  := $(wildcard bpf/*.bpf.c)
BPF_OBJS  := $(patsubst bpf/%.bpf.c,$(BUILD)/bpf/%.bpf.o,$(BPF_SRCS))
SKELS     := $(patsubst bpf/%.bpf.c,$(BUILD)/skel/%.skel.h,$(BPF_SRCS))

# Programs: user/<prog>.c holds main(); everything else in user/ is library.
PROGS     := fluxlbd fluxlb fluxlb-registry
LIB_SRCS  := $(filter-out $(PROGS:%=user/%.c),$(wildcard user/*.c))
LIB_OBJS  := $(patsubst %.c,$(BUILD)/obj/%.o,$(LIB_SRCS))
LIB       := $(BUILD)/libfluxlb.a
BINS      := $(PROGS:%=$(BUILD)/bin/%)

TEST_SRCS := $(wildcard tests/unit/test_*.c tests/bpf/test_*.c)
TEST_PROGS := $(patsubst tests/bpf/progs/%.bpf.c,$(BUILD)/tests/progs/%.bpf.o,$(wildcard tests/bpf/progs/*.bpf.c))
TEST_BINS := $(patsubst tests/%.c,$(BUILD)/tests/%,$(TEST_SRCS))
TEST_LIB  := $(patsubst %.c,$(BUILD)/obj/%.o,$(wildcard tests/lib/*.c))

.PHONY: all deps demo test test-unit test-bpf test-e2e bench fuzz image clean help
.DEFAULT_GOAL := all

all: $(BPF_OBJS) $(SKELS) $(BINS) $(TEST_BINS) $(TEST_PROGS)

help:
	@echo 'make            build BPF objects, skeletons, fluxlbd, fluxlb and tests'
	@echo 'make deps       install the Debian packages everything needs (root)'
	@echo 'make demo       build and run the demo topology (root)'
	@echo 'make test       build and run unit, bpf and e2e tests (root)'
	@echo 'make test-unit  unit tests only (no privileges needed)'
	@echo 'make bench      benchmarks against baselines in the same run (root; ~2 min)'
	@echo 'make fuzz       10^6 hostile frames through the balancer (FLB_FUZZ_SEED=...)'
	@echo 'make image      the container image (needs a Docker engine)'
	@echo 'make clean      remove build/'
	@echo 'options: V=1 (show commands), SAN=1 (ASan/UBSan)'

deps:
	$(Q)scripts/install-deps.sh

demo: deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)scripts/demo.sh

test: deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)tests/run.sh

test-unit: $(TEST_BINS)
	$(Q)tests/run.sh unit

$(BUILD)/bpf/%.bpf.o: bpf/%.bpf.c | $(BUILD)/bpf
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(BUILD)/tests/progs/%.bpf.o: tests/bpf/progs/%.bpf.c
	$(call msg,BPF,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(BUILD)/skel/%.skel.h: $(BUILD)/bpf/%.bpf.o | $(BUILD)/skel
	$(call msg,SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< name $(notdir $*) > $@.tmp && mv $@.tmp $@

$(BUILD)/obj/%.o: %.c | $(SKELS)
	$(call msg,CC,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CC) $(CFLAGS) -c $< -o $@

$(LIB): $(LIB_OBJS)
	$(call msg,AR,$@)
	$(Q)rm -f $@ && ar rcs $@ $^

$(BUILD)/bin/%: $(BUILD)/obj/user/%.o $(LIB)
	$(call msg,LD,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CC) $(LDFLAGS) $^ $(LDLIBS) -o $@

$(BUILD)/tests/%: $(BUILD)/obj/tests/%.o $(TEST_LIB) $(LIB)
	$(call msg,LD,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CC) $(LDFLAGS) $^ $(LDLIBS) -lm -o $@

$(BUILD)/bpf $(BUILD)/skel:
	$(Q)mkdir -p $@

IMAGE ?= fluxlb:$(VERSION)
image:
	@if ! command -v docker >/dev/null 2>&1 || ! docker info >/dev/null 2>&1; then \
		echo "make image: no Docker engine here (docker info failed); no image was built." >&2; \
		echo "  where an engine runs: docker build --build-arg VERSION=$(VERSION) -t $(IMAGE) ." >&2; \
		exit 1; \
	fi
	docker build --build-arg VERSION=$(VERSION) -t $(IMAGE) -f $(CURDIR)/Dockerfile $(CURDIR)

clean:
	rm -rf $(BUILD)

# Benchmarks and fuzzing keep their rules beside their sources.
-include bench/bench.mk
-include tests/fuzz/fuzz.mk

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
