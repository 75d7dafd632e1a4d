#!/usr/bin/env bash
# Builds what a GPU machine without .NET runs: the GPU test suite (an xunit v3 executable) and the
# BatchNorm benchmark, self-contained for linux-x64, into .gpu/pub, packed as .gpu/pub.tar.xz
# (small enough to travel). On the GPU machine: bench/gpu/run.sh.
set -euo pipefail
cd "$(dirname "$0")/../.."
rm -rf .gpu/pub .gpu/pub.tar.xz
for p in bench/MiniNet.Gpu.Bench tests/MiniNet.Gpu.Tests; do
  dotnet publish "$p" -c Release -r linux-x64 --self-contained -o .gpu/pub -v q -nologo
done
rm -rf .gpu/pub/CodeCoverage          # the test SDK's coverage collector: not needed to run tests
tar cf - -C .gpu/pub . | xz -T2 -6 > .gpu/pub.tar.xz
ls -l .gpu/pub.tar.xz
