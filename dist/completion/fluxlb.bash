# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# bash completion for fluxlb, fluxlbd and fluxlb-registry. Installed by
# `make install` into share/bash-completion/completions (one file per name,
# the others are links). tests/e2e/test_man.sh checks that every command
# and option of the programs' --help is offered here.

_fluxlb_vips()
{
	# VIPs from the pinned maps, as `fluxlb vip list` names them.
	fluxlb vip list 2>/dev/null | awk 'NR > 1 {print $1}'
}

_fluxlb()
{
	local cur prev words cword
	_init_completion -n = || return
	local globals="-j --json --bpffs --skb -V --version -h --help"
	local cmds="status stats vip backend flow which tree decap help"
	local i cmd="" sub=""
	for ((i = 1; i < cword; i++)); do
		case ${words[i]} in
		--bpffs) ((i++)) ;;
		-*) ;;
		*) if [[ -z $cmd ]]; then cmd=${words[i]}; elif [[ -z $sub ]]; then sub=${words[i]}; fi ;;
		esac
	done
	case $prev in
	--bpffs) _filedir -d; return ;;
	--sort) COMPREPLY=($(compgen -W "id address weight slots flows packets bytes new_flows" -- "$cur")); return ;;
	--limit|--count) return ;;
	--vip) COMPREPLY=($(compgen -W "$(_fluxlb_vips)" -- "$cur")); return ;;
	esac
	if [[ $cur == --watch=* ]]; then
		return
	fi
	case $cmd in
	"") COMPREPLY=($(compgen -W "$cmds $globals" -- "$cur")) ;;
	help) COMPREPLY=($(compgen -W "$cmds" -- "$cur")) ;;
	vip) [[ -z $sub ]] && COMPREPLY=($(compgen -W "list" -- "$cur")) ||
		COMPREPLY=($(compgen -W "$(_fluxlb_vips) $globals" -- "$cur")) ;;
	backend) [[ -z $sub ]] && COMPREPLY=($(compgen -W "list" -- "$cur")) ||
		COMPREPLY=($(compgen -W "$(_fluxlb_vips) $globals" -- "$cur")) ;;
	flow) [[ -z $sub ]] && COMPREPLY=($(compgen -W "list" -- "$cur")) ||
		COMPREPLY=($(compgen -W "--vip --backend --limit $globals" -- "$cur")) ;;
	decap) [[ -z $sub ]] && COMPREPLY=($(compgen -W "attach detach stats" -- "$cur")) ||
		COMPREPLY=($(compgen -W "$(ls /sys/class/net 2>/dev/null) $globals" -- "$cur")) ;;
	which) COMPREPLY=($(compgen -W "tcp udp $globals" -- "$cur")) ;;
	tree) COMPREPLY=($(compgen -W "--watch --watch= --count --sort --human -H $(_fluxlb_vips) $globals" -- "$cur"))
		[[ ${COMPREPLY[0]-} == *= ]] && compopt -o nospace ;;
	*) COMPREPLY=($(compgen -W "$globals" -- "$cur")) ;;
	esac
}

_fluxlbd()
{
	local cur prev words cword
	_init_completion || return
	case $prev in
	-c|--config|--check-config) _filedir 'y?(a)ml'; return ;;
	--bpffs) _filedir -d; return ;;
	--log-level) COMPREPLY=($(compgen -W "debug info warn error" -- "$cur")); return ;;
	--log-format) COMPREPLY=($(compgen -W "logfmt json" -- "$cur")); return ;;
	--metrics-listen) return ;;
	esac
	COMPREPLY=($(compgen -W "-c --config --check-config --bpffs --metrics-listen --cleanup --log-level --log-format -h --help -V --version" -- "$cur"))
}

_fluxlb_registry()
{
	local cur prev words cword
	_init_completion || return
	local opts
	opts=$(fluxlb-registry --help 2>/dev/null | grep -oE -- '--[a-z][a-z0-9-]*' | sort -u)
	COMPREPLY=($(compgen -W "$opts -h --help" -- "$cur"))
}

complete -F _fluxlb fluxlb
complete -F _fluxlbd fluxlbd
complete -F _fluxlb_registry fluxlb-registry
