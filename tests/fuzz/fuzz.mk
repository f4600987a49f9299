# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# The fuzz test (tests/fuzz/test_fuzz.c), included by the top Makefile.
# It is built into $(BUILD)/tests/bpf/ so that `make test` (tests/run.sh)
# runs it with its default of 20,000 frames; `make fuzz` runs 10^6 with a
# fresh seed, printed. Override with FLB_FUZZ_SEED=... FLB_FUZZ_COUNT=...

FUZZ_BIN  := $(BUILD)/tests/bpf/test_fuzz
FUZZ_OBJS := $(patsubst %.c,$(BUILD)/obj/%.o,$(wildcard tests/fuzz/*.c))

FLB_FUZZ_COUNT ?= 1000000

all: $(FUZZ_BIN)

$(FUZZ_BIN): $(FUZZ_OBJS) $(TEST_LIB) $(ALL_LIBS)
	$(call msg,LD,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CC) $(LDFLAGS) $^ $(LDLIBS) -o $@

# The seed comes from the command line or environment, else /dev/urandom.
fuzz: $(FUZZ_BIN)
	$(Q)seed='$(FLB_FUZZ_SEED)'; seed=$${seed:-$$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')}; \
	FLB_FUZZ_SEED=$$seed FLB_FUZZ_COUNT='$(FLB_FUZZ_COUNT)' $(FUZZ_BIN)
