# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# Benchmarks (issue 8): `make bench`, `make bench BASELINE=<git ref>`. Included at the end of the top-level
# Makefile, so BUILD, CC, CLANG, CFLAGS, BPF_CFLAGS, LDLIBS, ALL_LIBS, TEST_CFLAGS, SKELS,
# BPFTOOL and the msg/Q macros are those of the build. Everything generated
# goes under $(BUILD)/bench. Never part of `make test`.

BENCH_OUT   := $(BUILD)/bench
BENCH_BPF   := bwrap bfwd
BENCH_SKELS := $(BENCH_BPF:%=$(BENCH_OUT)/skel/%.skel.h)
BENCH_PROGS := bench_dp bench_fwd bench_cp
BENCH_BINS  := $(BENCH_PROGS:%=$(BENCH_OUT)/%)
BENCH_COMMON := $(BENCH_OUT)/obj/bench_util.o
BENCH_PCPU  := $(BENCH_OUT)/bpf/balancer_pcpu.bpf.o

.PHONY: bench bench-build

# BASELINE=<git ref>: only the A/B of the balancer against that ref's
# (bench/ab.sh builds it in a scratch worktree); docs/BENCHMARKS.md is left as is.
bench: bench-build
	$(Q)$(if $(BASELINE),bench/ab.sh '$(BASELINE)',bench/run.sh)

bench-build: $(BENCH_BINS) $(BENCH_PCPU)

# The balancer with one LRU list per CPU in its conntrack table (bpf/maps.h,
# FLB_CT_PERCPU): bench_dp -p times it beside this build on every CPU at once.
$(BENCH_PCPU): bpf/balancer.bpf.c | $(BUILD)/bpf/balancer.bpf.o
	$(call msg,BPF,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CLANG) $(BPF_CFLAGS) -DFLB_CT_PERCPU -c $< -o $@

$(BENCH_OUT)/bpf/%.bpf.o: bench/bpf/%.bpf.c bench/bench_abi.h
	$(call msg,BPF,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CLANG) $(BPF_CFLAGS) -Ibench -c $< -o $@

$(BENCH_OUT)/skel/%.skel.h: $(BENCH_OUT)/bpf/%.bpf.o
	$(call msg,SKEL,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(BPFTOOL) gen skeleton $< name $* > $@.tmp && mv $@.tmp $@

$(BENCH_OUT)/obj/%.o: bench/%.c $(BENCH_SKELS) | $(SKELS)
	$(call msg,CC,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CC) $(CFLAGS) $(TEST_CFLAGS) -Ibench -I$(BENCH_OUT)/skel -c $< -o $@

# Keep the BPF objects and skeletons (make would delete them as intermediates).
.SECONDARY: $(BENCH_BPF:%=$(BENCH_OUT)/bpf/%.bpf.o) $(BENCH_SKELS)

$(BENCH_BINS): $(BENCH_OUT)/%: $(BENCH_OUT)/obj/%.o $(BENCH_COMMON) $(ALL_LIBS)
	$(call msg,LD,$@)
	$(Q)$(CC) $(LDFLAGS) $^ $(LDLIBS) -lm -o $@

# `make bench-ablate`: where each path's time goes. bench/ablate.patch
# (applied to a copy of bpf/) puts ABL_<STEP> switches into the balancer,
# each leaving one step out; bench/ablate.sh times every such object beside
# this build (bench_dp -b). Not part of `make bench`.
ABLATIONS := NOVIP NOCT NOSTATS NONH NOENCAP NOSYNCT NOMAGLEV NOINSERT
ABLATE_DIR := $(BENCH_OUT)/ablate

.PHONY: bench-ablate
bench-ablate: bench-build $(ABLATIONS:%=$(ABLATE_DIR)/%.bpf.o)
	$(Q)bench/ablate.sh $(ABLATE_DIR) $(ABLATIONS)

$(ABLATE_DIR)/bpf/.patched: bench/ablate.patch bpf/balancer.bpf.c $(wildcard bpf/*.h)
	$(call msg,PATCH,$(ABLATE_DIR)/bpf)
	$(Q)rm -rf $(ABLATE_DIR)/bpf && mkdir -p $(ABLATE_DIR) && cp -r bpf $(ABLATE_DIR)/
	$(Q)cd $(ABLATE_DIR) && patch -s -p1 <$(CURDIR)/bench/ablate.patch || \
		{ echo "bench: bench/ablate.patch no longer applies to bpf/: update it" >&2; exit 1; }
	$(Q)touch $@

# Quote includes resolve in the patched copy's folder first.
$(ABLATE_DIR)/%.bpf.o: $(ABLATE_DIR)/bpf/.patched
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) -DABL_$* -c $(ABLATE_DIR)/bpf/balancer.bpf.c -o $@
