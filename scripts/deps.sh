#!/usr/bin/env bash
# Installs the Debian packages raftkit needs to build and test, when missing.
# As root it runs apt-get; otherwise it prints the command to run and fails.
set -euo pipefail
pkgs=(
    cmake make pkg-config gcc g++
    libfaiss-dev          # FAISS (C++ library and C API headers)
    liblmdb-dev           # the KB store
    libcurl4-openssl-dev  # HTTP
    libutf8proc-dev       # Unicode normalization
    libcriterion-dev      # unit tests
    libopenblas-openmp-dev # BLAS, the OpenMP build (FAISS and our kernels use OpenMP)
    libjansson-dev        # JSON
    libxxhash-dev         # hashing
    libxml2-dev           # HTML
    libpoppler-glib-dev   # PDF (optional for a build, installed here so PDF is tested)
    libcairo2-dev         # tests draw their PDFs with cairo
    chromium              # e2e/test_report loads report.html in a headless browser
)
missing=()
for p in "${pkgs[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
cmd="apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ${missing[*]}"
if [ "$(id -u)" -ne 0 ]; then
    echo "raftkit: missing packages: ${missing[*]}" >&2
    echo "raftkit: run as root: $cmd" >&2
    exit 1
fi
echo "raftkit: installing ${missing[*]}" >&2
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
