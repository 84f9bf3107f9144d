#!/bin/sh
# Copies the console's browser libraries from the npm registry into
# console/static/vendor/, where go:embed picks them up. The copies are
# committed: opsbot needs no build step and no internet at run time
# (hospital intranets have none). Run again only to change a version.
#
#   scripts/vendor-console-assets.sh
#
# Needs npm (only `npm pack`, which downloads a package's tarball).
set -eu

HTMX_VERSION=2.0.11    # 0BSD (Zero-Clause BSD)
ECHARTS_VERSION=5.6.0  # Apache-2.0

root=$(cd "$(dirname "$0")/.." && pwd)
out="$root/console/static/vendor"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

cd "$work"
npm pack --silent "htmx.org@$HTMX_VERSION" >/dev/null
npm pack --silent "echarts@$ECHARTS_VERSION" >/dev/null
mkdir htmx echarts
tar -xzf "htmx.org-$HTMX_VERSION.tgz" -C htmx
tar -xzf "echarts-$ECHARTS_VERSION.tgz" -C echarts

mkdir -p "$out"
cp htmx/package/dist/htmx.min.js "$out/htmx.min.js"
cp htmx/package/LICENSE "$out/htmx.LICENSE"
cp echarts/package/dist/echarts.min.js "$out/echarts.min.js"
cp echarts/package/LICENSE "$out/echarts.LICENSE"
cp echarts/package/NOTICE "$out/echarts.NOTICE"
printf 'htmx.org %s\necharts %s\n' "$HTMX_VERSION" "$ECHARTS_VERSION" >"$out/VERSIONS"
(cd "$out" && sha256sum htmx.min.js echarts.min.js >SHA256SUMS)
echo "vendored htmx.org@$HTMX_VERSION and echarts@$ECHARTS_VERSION into $out"
