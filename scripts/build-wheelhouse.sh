#!/bin/sh
# Build an offline wheelhouse of Stockade and every dependency for an audit host (roles/audit_schedule).
#
#   scripts/build-wheelhouse.sh --python 3.11 [--glibc 2.36] [--arch x86_64] [--out DIR] [--ref GITREF]
#
# Runs on the controller (the only machine that reaches PyPI). The audit host then installs with
# `pip install --no-index --find-links DIR stockade` and never reaches an index.
#
# - Stockade's own wheel is built from a clean copy of the working tree (git's tracked and untracked,
#   not ignored files) or, with --ref, from that commit or tag (`git archive`), with SOURCE_DATE_EPOCH fixed: the same sources give a byte-identical wheel, so
#   copying the wheelhouse again changes nothing.
# - Dependencies are downloaded as wheels for the audit host's CPython X.Y and glibc (manylinux_2_17 ..
#   manylinux_2_<glibc>), pinned to the versions of the Python running this script (`pip freeze`: the
#   versions the controller tested) where that Python has them.
# - A dependency published only as an sdist (sslyze) is found by resolving once for this Python
#   (`pip install --dry-run --report`) and built here with `pip wheel --no-deps`; it must come out pure
#   Python (py3-none-any), or the build stops and says which package has no wheel.
# - Cached: dependencies are downloaded again only when Stockade's requirements, the constraints or the
#   target change (DIR/.deps-stamp). DIR/SHA256SUMS lists every wheel; DIR/wheelhouse.tar holds them all
#   (reproducible: the same wheels give the same archive).
#
# Prints one last line: "wheelhouse DIR: N wheels, changed" or "..., unchanged". Exit 0, 1 on failure,
# 2 on bad arguments.
set -eu

usage() {
    echo "usage: $0 --python X.Y [--glibc X.Y] [--arch x86_64|aarch64] [--out DIR] [--ref GITREF] [--project DIR] [--python-bin PATH]" >&2
    exit 2
}

project=$(CDPATH='' cd -- "$(dirname -- "$0")/.." && pwd)
pyver=""
glibc="2.36"
arch="x86_64"
out=""
ref=""
python_bin="${PYTHON:-$project/.venv/bin/python}"
while [ $# -gt 0 ]; do
    case "$1" in
        --python) pyver="${2:-}"; shift 2 ;;
        --glibc) glibc="${2:-}"; shift 2 ;;
        --arch) arch="${2:-}"; shift 2 ;;
        --out) out="${2:-}"; shift 2 ;;
        --ref) ref="${2:-}"; shift 2 ;;
        --project) project="${2:-}"; shift 2 ;;
        --python-bin) python_bin="${2:-}"; shift 2 ;;
        -h|--help) usage ;;
        *) echo "$0: unknown argument $1" >&2; usage ;;
    esac
done
echo "$pyver" | grep -Eq '^3\.[0-9]+$' || { echo "$0: --python X.Y is required (e.g. 3.11)" >&2; usage; }
echo "$glibc" | grep -Eq '^2\.[0-9]+$' || { echo "$0: --glibc must look like 2.36" >&2; usage; }
case "$arch" in x86_64|aarch64) ;; *) echo "$0: --arch must be x86_64 or aarch64" >&2; usage ;; esac
[ -f "$project/pyproject.toml" ] || { echo "$0: $project has no pyproject.toml" >&2; exit 2; }
[ -x "$python_bin" ] || python_bin=$(command -v python3)

abi="cp$(echo "$pyver" | tr -d .)"
minor=${glibc#2.}
tag="${abi}-manylinux_2_${minor}_${arch}"
out="${out:-$project/build/wheelhouse/$tag}"
mkdir -p "$out"
out=$(CDPATH='' cd -- "$out" && pwd)

# One build per wheelhouse at a time (two audit hosts of one release share it).
exec 9>"$out/.lock"
flock 9

pip() { "$python_bin" -m pip --disable-pip-version-check "$@"; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# 1. Stockade's wheel, from a clean copy (no stale build/ or egg-info leftovers), reproducibly.
mkdir "$work/src"
if [ -n "$ref" ]; then
    git -C "$project" archive --format=tar "$ref" -- pyproject.toml README.md LICENSE stockade checks | tar -xf - -C "$work/src"
elif git -C "$project" rev-parse --git-dir >/dev/null 2>&1; then
    (cd "$project" && git ls-files -z --cached --others --exclude-standard -- pyproject.toml README.md LICENSE stockade checks \
        | xargs -0 sh -c 'for f; do [ -e "$f" ] && printf "%s\0" "$f"; done' sh \
        | tar --null -T - -cf -) | tar -xf - -C "$work/src"
else
    (cd "$project" && tar --exclude='__pycache__' -cf - pyproject.toml README.md LICENSE stockade checks) | tar -xf - -C "$work/src"
fi
SOURCE_DATE_EPOCH=315532800 pip wheel --quiet --no-deps --wheel-dir "$work/stockade" "$work/src" >&2
stockade_wheel=$(ls "$work/stockade"/stockade-*.whl)

# 2. Dependencies, for the audit host's interpreter and platform.
platforms="--platform manylinux2014_$arch"
i=17
while [ "$i" -le "$minor" ]; do
    platforms="$platforms --platform manylinux_2_${i}_$arch"
    i=$((i + 1))
done
pip freeze --exclude-editable 2>/dev/null | grep -Ev '^(stockade|-e )|@ ' > "$work/constraints.txt" || true
requires=$(unzip -p "$stockade_wheel" '*.dist-info/METADATA' | grep '^Requires-Dist:' | grep -v 'extra ==' || true)
stamp=$(printf '%s\n%s\n%s\n' "$tag" "$requires" "$(cat "$work/constraints.txt")" | sha256sum | cut -d' ' -f1)
changed=unchanged
if [ "$(cat "$out/.deps-stamp" 2>/dev/null)" != "$stamp" ]; then
    mkdir -p "$work/deps" "$work/pure"
    cp "$stockade_wheel" "$work/deps/"
    # Which dependencies PyPI publishes only as an sdist (sslyze): resolve once for this Python and look.
    pip install --quiet --dry-run --ignore-installed --constraint "$work/constraints.txt" \
        --report "$work/report.json" "$stockade_wheel" 2>"$work/resolve.err" \
        || { grep -v '^WARNING: Location' "$work/resolve.err" >&2; exit 1; }
    "$python_bin" -c 'import json, sys
for item in json.load(open(sys.argv[1]))["install"]:
    url = item["download_info"]["url"]
    if not url.endswith(".whl") and not url.startswith("file:"):
        print(item["metadata"]["name"] + "==" + item["metadata"]["version"])' "$work/report.json" > "$work/sdists.txt"
    while read -r spec; do
        # Built here; only pure Python fits another interpreter and platform.
        pip wheel --quiet --no-deps --wheel-dir "$work/built" "$spec" 2>"$work/build.err" \
            || { grep -v '^WARNING: Location' "$work/build.err" >&2; exit 1; }
        for wheel in "$work/built"/*.whl; do
            case "$wheel" in
                *-none-any.whl) mv "$wheel" "$work/pure/" ;;
                *) echo "$0: $spec has no wheel on PyPI and is not pure Python: no wheel for CPython $pyver" >&2
                   exit 1 ;;
            esac
        done
    done < "$work/sdists.txt"
    # shellcheck disable=SC2086 # $platforms is a list of options
    if ! pip download --only-binary=:all: --python-version "$pyver" --implementation cp --abi "$abi" \
            --abi abi3 --abi none $platforms --constraint "$work/constraints.txt" --find-links "$work/pure" \
            --dest "$work/deps" "$stockade_wheel" >"$work/download.log" 2>&1; then
        grep -v '^WARNING: Location' "$work/download.log" | tail -20 >&2
        echo "$0: could not gather wheels for CPython $pyver on $arch (glibc $glibc); the lines above name the package" >&2
        exit 1
    fi
    cp "$work/pure"/*.whl "$work/deps/" 2>/dev/null || true
    find "$out" -maxdepth 1 -name '*.whl' -delete
    cp "$work/deps"/*.whl "$out/"
    echo "$stamp" > "$out/.deps-stamp"
    changed=changed
fi

# 3. Stockade's wheel replaces the cached one only when its bytes differ.
target="$out/$(basename "$stockade_wheel")"
if ! cmp -s "$stockade_wheel" "$target"; then
    find "$out" -maxdepth 1 -name 'stockade-*.whl' -delete
    cp "$stockade_wheel" "$target"
    changed=changed
fi
(cd "$out" && sha256sum -- *.whl > SHA256SUMS.tmp && mv SHA256SUMS.tmp SHA256SUMS)
# One reproducible archive of it all: the role copies one file instead of one per wheel.
if [ "$changed" = changed ] || [ ! -f "$out/wheelhouse.tar" ]; then
    (cd "$out" && tar --sort=name --mtime=@315532800 --owner=0 --group=0 --numeric-owner --mode=a+rX,go-w \
        --format=gnu -cf wheelhouse.tar.tmp SHA256SUMS -- *.whl && mv wheelhouse.tar.tmp wheelhouse.tar)
fi
echo "wheelhouse $out: $(ls "$out"/*.whl | wc -l) wheels, $changed"
