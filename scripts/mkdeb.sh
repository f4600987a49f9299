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
deps=$(for b in "$stage"/usr/bin/*; do ldd "$b"; done | awk '/=> \// {print $3}' | sort -u |
	while read -r lib; do
		real=$(readlink -f "$lib")
		pkg=$(dpkg -S "$real" 2>/dev/null | head -1 | cut -d: -f1) ||
			pkg=$(dpkg -S "$lib" 2>/dev/null | head -1 | cut -d: -f1) || true
		[ -n "$pkg" ] || continue
		ver=$(dpkg-query -W -f '${Version}' "$pkg" | sed 's/-[^-]*$//')
		echo "$pkg (>= $ver)"
	done | sort -u | paste -sd, | sed 's/,/, /g')
mkdir -p "$stage/DEBIAN"
sed "s|@VERSION@|$version|; s|@ARCH@|$arch|; s|@DEPENDS@|$deps|" "$ROOT/dist/debian/control.in" \
	>"$stage/DEBIAN/control"
install -m 0755 "$ROOT"/dist/debian/postinst "$ROOT"/dist/debian/prerm "$ROOT"/dist/debian/postrm \
	"$stage/DEBIAN/"
(cd "$stage" && find etc -type f 2>/dev/null | sed 's|^|/|') >"$stage/DEBIAN/conffiles"
[ -s "$stage/DEBIAN/conffiles" ] || rm "$stage/DEBIAN/conffiles"
gzip -9n "$stage"/usr/share/man/man8/*.8
dpkg-deb --root-owner-group --build "$stage" "$out" >/dev/null
