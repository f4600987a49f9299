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
CFLAGS  += $(WARN) -std=gnu11 -D_GNU_SOURCE -MMD -MP \
           -Iinclude -Iuser/lib -I$(BUILD)/skel -I$(BUILD)/gen
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

# user/lib/ is shared; user/<dir>/ holds one program: <main>.c has main(),
# the rest of the folder is that program's own code, archived so tests and
# benchmarks can link it. Each program links only the libraries it uses.
LIB_SRCS  := $(wildcard user/lib/*.c)
LIB       := $(BUILD)/lib/libflb.a

PROG_DIRS := fluxlbd fluxlb registry
main_fluxlbd  := fluxlbd
main_fluxlb   := fluxlb
main_registry := fluxlb-registry
LDLIBS_fluxlbd  := -lxdp -lbpf -lyaml -lelf -lz -lpthread -lcurl -lcjson -lmicrohttpd
LDLIBS_fluxlb   := -lxdp -lbpf -lelf -lz
LDLIBS_registry := -lpthread -lcurl -lcjson -lmicrohttpd

# Everything, for tests and benchmarks that link several programs' parts.
LDLIBS    := -lxdp -lbpf -lyaml -lelf -lz -lpthread -lcurl -lcjson -lmicrohttpd
prog_srcs  = $(filter-out user/$(1)/$(main_$(1)).c,$(wildcard user/$(1)/*.c))
prog_lib   = $(BUILD)/lib/lib$(1).a
PROG_LIBS := $(foreach d,$(PROG_DIRS),$(call prog_lib,$(d)))
BINS      := $(foreach d,$(PROG_DIRS),$(BUILD)/bin/$(main_$(d)))
ALL_LIBS  := $(PROG_LIBS) $(LIB)

TEST_SRCS := $(wildcard tests/unit/test_*.c tests/bpf/test_*.c)
TEST_PROGS := $(patsubst tests/bpf/progs/%.bpf.c,$(BUILD)/tests/progs/%.bpf.o,$(wildcard tests/bpf/progs/*.bpf.c))
TEST_BINS := $(patsubst tests/%.c,$(BUILD)/tests/%,$(TEST_SRCS))
TEST_LIB  := $(patsubst %.c,$(BUILD)/obj/%.o,$(wildcard tests/lib/*.c))

.PHONY: all deps demo test test-unit test-bpf test-e2e bench fuzz image install uninstall clean help
.PHONY: man deb
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
	@echo 'make install    programs, systemd units, example config, manual (PREFIX, SYSCONFDIR, DESTDIR)'
	@echo 'make man        man pages fluxlbd(8), fluxlb(8), fluxlb-registry(8) from the --help texts'
	@echo 'make deb        the Debian package build/fluxlb_<version>_<arch>.deb'
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

# The version every program prints, rewritten only when it changes, so the
# objects that include it (and only those) are rebuilt for a new commit.
VERSION_H := $(BUILD)/gen/flb_version.h
.PHONY: FORCE
$(VERSION_H): FORCE
	$(Q)mkdir -p $(dir $@)
	$(Q)printf '#define FLB_VERSION "%s"\n' '$(VERSION)' >$@.tmp
	$(Q)if cmp -s $@.tmp $@; then rm -f $@.tmp; else mv $@.tmp $@; fi

$(BUILD)/obj/%.o: %.c | $(SKELS) $(VERSION_H)
	$(call msg,CC,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CC) $(CFLAGS) -c $< -o $@

# A program's own headers are visible to its own sources (and to tests).
$(foreach d,$(PROG_DIRS),$(eval $(BUILD)/obj/user/$(d)/%.o: CFLAGS += -Iuser/$(d)))

$(BUILD)/lib/%.a:
	$(call msg,AR,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)rm -f $@ && ar rcs $@ $^

$(LIB): $(patsubst %.c,$(BUILD)/obj/%.o,$(LIB_SRCS))

define program
$(call prog_lib,$(1)): $(patsubst %.c,$(BUILD)/obj/%.o,$(call prog_srcs,$(1)))
$(BUILD)/bin/$(main_$(1)): $(BUILD)/obj/user/$(1)/$(main_$(1)).o $(call prog_lib,$(1)) $(LIB)
	$$(call msg,LD,$$@)
	$(Q)mkdir -p $$(dir $$@)
	$(Q)$$(CC) $$(LDFLAGS) $$^ $$(LDLIBS_$(1)) -o $$@
endef
$(foreach d,$(PROG_DIRS),$(eval $(call program,$(d))))

# Tests see every program's headers and link every archive they need.
TEST_CFLAGS := $(foreach d,$(PROG_DIRS),-Iuser/$(d)) -Itests/lib
$(BUILD)/obj/tests/%.o: CFLAGS += $(TEST_CFLAGS)

$(BUILD)/tests/%: $(BUILD)/obj/tests/%.o $(TEST_LIB) $(ALL_LIBS)
	$(call msg,LD,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CC) $(LDFLAGS) $^ $(LDLIBS) -lm -o $@

$(BUILD)/bpf $(BUILD)/skel:
	$(Q)mkdir -p $@

# Install for hosts outside Kubernetes: programs, the BPF objects (for
# bpftool users; the programs embed their own), systemd units written with
# PREFIX, an example configuration and the manual. DESTDIR stages it.
PREFIX     ?= /usr/local
SYSCONFDIR ?= /etc
UNITDIR    ?= $(PREFIX)/lib/systemd/system
MANDIR     ?= $(PREFIX)/share/man
BASHCOMPDIR ?= $(PREFIX)/share/bash-completion/completions
ZSHCOMPDIR ?= $(PREFIX)/share/zsh/vendor-completions
MANS := $(patsubst %,$(BUILD)/man/%.8,$(notdir $(BINS)))
# Without help2man (scripts/install-deps.sh), install goes on without them.
INSTALL_MANS := $(if $(shell command -v help2man 2>/dev/null),$(MANS))
man: $(MANS)
$(BUILD)/man/%.8: $(BUILD)/bin/% dist/man/%.h2m scripts/gen-man.sh
	$(call msg,MAN,$@)
	$(Q)scripts/gen-man.sh $< dist/man/$*.h2m $@
install: $(BINS) $(BPF_OBJS) $(INSTALL_MANS)
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/lib/fluxlb/bpf \
		$(DESTDIR)$(UNITDIR) $(DESTDIR)$(PREFIX)/share/doc/fluxlb $(DESTDIR)$(SYSCONFDIR)/fluxlb \
		$(DESTDIR)$(MANDIR)/man8 $(DESTDIR)$(BASHCOMPDIR) $(DESTDIR)$(ZSHCOMPDIR)
	$(if $(INSTALL_MANS),install -m 0644 $(INSTALL_MANS) $(DESTDIR)$(MANDIR)/man8/,@echo "make install: no help2man, no man pages" >&2)
	install -m 0644 dist/completion/fluxlb.bash $(DESTDIR)$(BASHCOMPDIR)/fluxlb
	ln -sf fluxlb $(DESTDIR)$(BASHCOMPDIR)/fluxlbd
	ln -sf fluxlb $(DESTDIR)$(BASHCOMPDIR)/fluxlb-registry
	install -m 0644 dist/completion/_fluxlb $(DESTDIR)$(ZSHCOMPDIR)/_fluxlb
	install -m 0755 $(BINS) $(DESTDIR)$(PREFIX)/bin/
	install -m 0644 $(BPF_OBJS) $(DESTDIR)$(PREFIX)/lib/fluxlb/bpf/
	for u in deploy/systemd/*.service.in; do \
		sed 's|@PREFIX@|$(PREFIX)|g; s|@SYSCONFDIR@|$(SYSCONFDIR)|g' $$u >$(DESTDIR)$(UNITDIR)/$$(basename $$u .in) && \
		chmod 0644 $(DESTDIR)$(UNITDIR)/$$(basename $$u .in) || exit 1; \
	done
	install -m 0644 README.md docs/*.md $(DESTDIR)$(PREFIX)/share/doc/fluxlb/
	install -m 0644 deploy/daemonset/config/fluxlbd.yaml $(DESTDIR)$(SYSCONFDIR)/fluxlb/fluxlbd.yaml.example

uninstall:
	rm -f $(addprefix $(DESTDIR)$(PREFIX)/bin/,$(notdir $(BINS)))
	rm -rf $(DESTDIR)$(PREFIX)/lib/fluxlb $(DESTDIR)$(PREFIX)/share/doc/fluxlb
	rm -f $(DESTDIR)$(UNITDIR)/fluxlbd.service $(DESTDIR)$(UNITDIR)/fluxlb-registry.service
	rm -f $(DESTDIR)$(SYSCONFDIR)/fluxlb/fluxlbd.yaml.example
	rm -f $(addprefix $(DESTDIR)$(MANDIR)/man8/,$(notdir $(MANS)))
	rm -f $(addprefix $(DESTDIR)$(BASHCOMPDIR)/,fluxlb fluxlbd fluxlb-registry) $(DESTDIR)$(ZSHCOMPDIR)/_fluxlb

# The Debian package: `make install` staged with PREFIX=/usr, then
# dpkg-deb (dist/debian/: control template, maintainer scripts).
DEB_ARCH := $(shell dpkg --print-architecture 2>/dev/null || echo amd64)
DEB_VERSION := $(shell echo '$(VERSION)' | sed -E 's/^v([0-9]+\.)/\1/; /^[0-9]+\./!s/^/0.1+g/; s/-dirty$$/+dirty/; s/-/+/g')
DEB := $(BUILD)/fluxlb_$(DEB_VERSION)_$(DEB_ARCH).deb
deb: $(DEB)
$(DEB): $(BINS) $(BPF_OBJS) $(MANS) dist/debian/control.in dist/debian/postinst dist/debian/prerm dist/debian/postrm
	$(call msg,DEB,$@)
	$(Q)rm -rf $(BUILD)/deb && $(MAKE) --no-print-directory -s install DESTDIR=$(CURDIR)/$(BUILD)/deb \
		PREFIX=/usr SYSCONFDIR=/etc UNITDIR=/lib/systemd/system
	$(Q)scripts/mkdeb.sh $(BUILD)/deb $(DEB_VERSION) $(DEB_ARCH) $@

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

# Objects are kept (make would delete those it sees as intermediates).
.PRECIOUS: $(BUILD)/obj/%.o

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
