#!/bin/bash
# build-module.sh DIR CFLAGS LDFLAGS: configure Debian's nginx-dev tree in
# DIR with the flags Debian's nginx was built with plus our module, then
# build only the dynamic module.
set -e
dir=$1 cflags=$2 ldflags=$3
top=$(cd "$(dirname "$0")/.." && pwd)
src=/usr/share/nginx/src
stamp="$dir/.fedi-configured"
want="$top|$cflags|$ldflags|$(ls "$top"/ngx_fedi_module/*.[ch] | md5sum)|$(md5sum <"$top/config")"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
    rm -rf "$dir"
    mkdir -p "$dir"
    cp -a "$src"/. "$dir"/
    . "$src/conf_flags"
    cd "$dir"
    ./configure "${NGX_CONF_FLAGS[@]}" \
        --with-cc-opt="-g -O2 -fPIC $cflags" \
        --with-ld-opt="-Wl,-z,relro -Wl,-z,now -fPIC $ldflags" \
        --add-dynamic-module="$top" >"$dir/configure.log" 2>&1 \
        || { tail -30 "$dir/configure.log"; exit 1; }
    echo "$want" >"$stamp"
fi
cd "$dir"
make -s -j2 -f objs/Makefile modules
