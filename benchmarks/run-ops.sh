#!/usr/bin/env bash
# The op-loop benchmark: C# (Equinox), raw LibTorch C++ and PyTorch side by side. Extra arguments go to the program,
# e.g. ./benchmarks/run-ops.sh --rounds 3 --case 2x4 --impl cs,cpp   (see benchmarks/README.md).
set -euo pipefail
cd "$(dirname "$0")/.."
exec dotnet run -c Release --project benchmarks/Equinox.Benchmarks -- ops "$@"
