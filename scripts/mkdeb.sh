#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# mkdeb.sh STAGE VERSION ARCH OUT: the Debian package of a `make install`
# staged in STAGE (PREFIX=/usr). Depends: the Debian packages that hold the
# shared libraries the programs link (found with dpkg -S, at least the
# installed upstream version), as dpkg-shlibdeps would find them without a
# source package. Files under /etc are conffiles.
set -euo pipefail
stage=$1 version=$2 arch=$3 out=$4
ROOT=$(cd "$(dirname "$0")/.." && pwd)
# The libraries the programs name (DT_NEEDED), not what those pull in.
deps=$(for b in "$stage"/usr/bin/*; do readelf -d "$b"; done | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p' |
	sort -u | while read -r soname; do
		lib=$(ldconfig -p | awk -v s="$soname" '$1 == s && $0 ~ /x86-64|64bit|=>/ {print $NF; exit}')
		[ -n "$lib" ] || { echo "mkdeb: $soname not found" >&2; exit 1; }
		pkg=$(dpkg -S "$(readlink -f "$lib")" 2>/dev/null || dpkg -S "$lib" 2>/dev/null) || true
		pkg=$(echo "$pkg" | head -1 | cut -d: -f1)
		[ -n "$pkg" ] || { echo "mkdeb: no package holds $lib" >&2; exit 1; }
		ver=$(dpkg-query -W -f '${Version}' "$pkg" | sed 's/-[^-]*$//')
		echo "$pkg (>= $ver)"
	done | sort -u | paste -sd, | sed 's/,/, /g')
[ -n "$deps" ]
mkdir -p "$stage/DEBIAN"
sed "s|@VERSION@|$version|; s|@ARCH@|$arch|; s|@DEPENDS@|$deps|" "$ROOT/dist/debian/control.in" \
	>"$stage/DEBIAN/control"
install -m 0755 "$ROOT"/dist/debian/postinst "$ROOT"/dist/debian/prerm "$ROOT"/dist/debian/postrm \
	"$stage/DEBIAN/"
(cd "$stage" && find etc -type f 2>/dev/null | sed 's|^|/|') >"$stage/DEBIAN/conffiles"
[ -s "$stage/DEBIAN/conffiles" ] || rm "$stage/DEBIAN/conffiles"
gzip -9n "$stage"/usr/share/man/man8/*.8
dpkg-deb --root-owner-group --build "$stage" "$out" >/dev/null
