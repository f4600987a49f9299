#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# Man pages and shell completion (issue 19). `make man` builds fluxlbd(8),
# fluxlb(8) and fluxlb-registry(8) with help2man from the programs' own
# --help (fluxlb's COMMANDS from every `fluxlb help COMMAND`); each renders
# with `man -l` without a groff warning, and every option of every --help
# (and every fluxlb command) appears in the rendered page. bash completion
# (with bash-completion's helpers) offers every fluxlb command and the
# options of --help for fluxlb, `fluxlb tree` and fluxlbd; the zsh file
# loads in zsh and names every command. No privileges needed.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
source "$ROOT/tests/lib/e2e.sh"
BIN=$ROOT/build/bin
if ! command -v help2man >/dev/null || ! command -v man >/dev/null; then
	skip man "help2man or man not installed (scripts/install-deps.sh)"
	exit 0
fi
out=$(make -s -C "$ROOT" man 2>&1); rc=$?
expect make_man_builds [ "$rc" = 0 ]
[ "$rc" = 0 ] || echo "$out" | tail -5 | sed 's/^/  /'

# The options of a --help text: long options, and short ones written "-x,".
options() { grep -oE -- '(^|[ ,[])--?[a-zA-Z][a-zA-Z0-9-]*' | sed 's/^[ ,[]//' | grep -E '^(--[a-z]|-[a-zA-Z]$)' | sort -u; }

for p in fluxlbd fluxlb fluxlb-registry; do
	page=$ROOT/build/man/$p.8
	t=${p//-/_}
	warn=$(MANWIDTH=80 man --warnings -l "$page" 2>&1 >/dev/null); rc=$?
	expect "man_${t}_renders_without_warnings" [ "$rc" = 0 -a -z "$warn" ]
	[ -z "$warn" ] || echo "$warn" | head -5 | sed 's/^/  /'
	text=$(MANWIDTH=200 man -l "$page" 2>/dev/null | col -b)
	help=$("$BIN/$p" --help)
	if [ "$p" = fluxlb ]; then
		for c in $(echo "$help" | sed -n '/^Commands:/,/^$/s/^  \([a-z]*\) .*/\1/p' | sort -u); do
			help+=$'\n'$("$BIN/fluxlb" help "$c" 2>/dev/null || "$BIN/fluxlb" help "$c" list)
		done
	fi
	missing=()
	for o in $(echo "$help" | options); do
		grep -qe "$o" <<<"$text" || missing+=("$o")
	done
	expect "man_${t}_has_every_help_option" [ ${#missing[@]} = 0 -a "$(echo "$help" | options | wc -l)" -gt 3 ]
	[ ${#missing[@]} = 0 ] || echo "  missing: ${missing[*]}"
done
text=$(MANWIDTH=200 man -l "$ROOT/build/man/fluxlb.8" 2>/dev/null | col -b)
missing=()
while read -r c; do
	grep -q "^ *fluxlb $c\$" <<<"$text" || missing+=("$c")
done < <("$BIN/fluxlb" --help | sed -n '/^Commands:/,/^$/p' | sed -n 's/^  \([a-z]\+\( [a-z]\+\)\?\)  .*/\1/p')
expect man_fluxlb_has_a_section_per_command [ ${#missing[@]} = 0 ]
[ ${#missing[@]} = 0 ] || echo "  missing: ${missing[*]}"

# ---- bash completion ----
COMP=$ROOT/dist/completion/fluxlb.bash
if [ -f /usr/share/bash-completion/bash_completion ]; then
	# complete_words WORD...: what bash offers for the last word.
	complete_words() {
		PATH=$BIN:$PATH bash -c 'source /usr/share/bash-completion/bash_completion; source "$1"; shift
			COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); COMP_LINE="$*"; COMP_POINT=${#COMP_LINE}
			f=$(complete -p "$1" | sed "s/.*-F \([^ ]*\) .*/\1/"); $f; printf "%s\n" "${COMPREPLY[@]}"' \
			sh "$COMP" "$@"
	}
	got=$(complete_words fluxlb "")
	missing=()
	for c in $("$BIN/fluxlb" --help | sed -n '/^Commands:/,/^$/s/^  \([a-z]*\) .*/\1/p' | sort -u) $("$BIN/fluxlb" --help | options); do
		grep -qx -- "$c" <<<"$got" || missing+=("$c")
	done
	expect bash_completes_every_fluxlb_command_and_option [ ${#missing[@]} = 0 ]
	[ ${#missing[@]} = 0 ] || echo "  missing: ${missing[*]}"
	got=$(complete_words fluxlb tree "")
	missing=()
	for o in $("$BIN/fluxlb" help tree | options); do
		o=${o%%=*}
		[ "$o" = -j ] || grep -qx -- "$o" <<<"$got" || missing+=("$o")
	done
	expect bash_completes_tree_options [ ${#missing[@]} = 0 ]
	[ ${#missing[@]} = 0 ] || echo "  missing: ${missing[*]}"
	expect bash_completes_sort_keys [ "$(complete_words fluxlb tree --sort s | paste -sd ' ')" = "slots" ]
	got=$(complete_words fluxlbd --)
	missing=()
	for o in $("$BIN/fluxlbd" --help | options | grep '^--'); do grep -qx -- "$o" <<<"$got" || missing+=("$o"); done
	expect bash_completes_every_fluxlbd_option [ ${#missing[@]} = 0 ]
	[ ${#missing[@]} = 0 ] || echo "  missing: ${missing[*]}"
	got=$(complete_words fluxlb-registry --)
	missing=()
	for o in $("$BIN/fluxlb-registry" --help | options | grep '^--'); do grep -qx -- "$o" <<<"$got" || missing+=("$o"); done
	expect bash_completes_every_registry_option [ ${#missing[@]} = 0 ]
else
	skip bash_completion "bash-completion not installed (scripts/install-deps.sh)"
fi

# ---- zsh completion ----
if command -v zsh >/dev/null; then
	out=$(zsh -n "$ROOT/dist/completion/_fluxlb" 2>&1); rc=$?
	expect zsh_completion_parses [ "$rc" = 0 ]
	missing=()
	for c in $("$BIN/fluxlb" --help | sed -n '/^Commands:/,/^$/s/^  \([a-z]*\) .*/\1/p' | sort -u) tree; do
		grep -q "'$c:" "$ROOT/dist/completion/_fluxlb" || missing+=("$c")
	done
	for o in $("$BIN/fluxlbd" --help | options | grep '^--'); do
		grep -q -- "'$o\\[\\|'$o=\\|}'\\[" "$ROOT/dist/completion/_fluxlb" || grep -q -- "$o" "$ROOT/dist/completion/_fluxlb" || missing+=("$o")
	done
	expect zsh_completion_names_every_command_and_fluxlbd_option [ ${#missing[@]} = 0 ]
	[ ${#missing[@]} = 0 ] || echo "  missing: ${missing[*]}"
else
	skip zsh_completion "zsh not installed"
fi
