#!/usr/bin/env bash
# What building and running Equinox needs from the system, checked before the shim's CMake build (and, with --python,
# before the tests). What is missing is installed with apt-get when that needs no password (root, or `sudo -n`),
# after saying what it installs; EQUINOX_NO_INSTALL=1 turns that off. Otherwise it writes the one command to run to
# the file named by its first argument and fails. Usage: prerequisites.sh ERROR_FILE [--python]
set -uo pipefail
error_file=$1
mode=${2:-}

needed=()   # the build fails without these
wanted=()   # only slower or less tested without these
if [ "$mode" = "--python" ]; then
  python=${EQUINOX_PYTHON:-/usr/bin/python3}
  "$python" -c 'import torch' >/dev/null 2>&1 || wanted+=(python3-torch)
else
  command -v cmake >/dev/null || needed+=(cmake)
  command -v g++ >/dev/null || needed+=(g++)
  if [ -z "${EQUINOX_LIBTORCH:-}" ] && ! ls /usr/lib/*-linux-gnu/cmake/Torch/TorchConfig.cmake >/dev/null 2>&1 &&
     ! python3 -c 'import torch' >/dev/null 2>&1; then
    needed+=(libtorch-dev)
  fi
  # Gloo's headers: without them the shim builds without c10d's ProcessGroupGloo and Equinox.Distributed says so.
  if [ -z "${EQUINOX_LIBTORCH:-}" ] && [ ! -f /usr/include/gloo/config.h ]; then wanted+=(libgloo-dev); fi
  # Debian's LibTorch multiplies matrices in whatever libblas.so.3 is; the reference BLAS is 15-25x slower.
  blas=""
  for link in /usr/lib/*-linux-gnu/libblas.so.3; do [ -e "$link" ] && blas=$(readlink -f "$link"); done
  case "$blas" in ''|*/blas/libblas.so*) wanted+=(libopenblas0-openmp) ;; esac
fi
[ ${#needed[@]} -eq 0 ] && [ ${#wanted[@]} -eq 0 ] && exit 0

all=("${needed[@]}" "${wanted[@]}")
command_line="sudo apt-get install ${all[*]}"
sudo_cmd=""
if [ -n "${EQUINOX_NO_INSTALL:-}" ] || ! command -v apt-get >/dev/null; then
  can_install=0
elif [ "$(id -u)" -eq 0 ]; then
  can_install=1
elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
  can_install=1; sudo_cmd="sudo -n"
else
  can_install=0
fi

if [ $can_install -eq 1 ]; then
  echo "EQUINOX: installing ${all[*]} with apt-get (set EQUINOX_NO_INSTALL=1 to install them yourself)"
  if $sudo_cmd apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -q "${all[@]}" >/dev/null; then
    exit 0
  fi
  echo "EQUINOX: apt-get could not install ${all[*]}."
fi
if [ ${#needed[@]} -gt 0 ]; then
  echo "EQUINOX: building the LibTorch shim needs ${needed[*]}. Install with: $command_line" > "$error_file"
  exit 1
fi
if [ "$mode" = "--python" ]; then
  echo "EQUINOX: python3-torch is missing, so the tests that compare with PyTorch will be skipped. Install with: $command_line"
else
  echo "EQUINOX: missing ${wanted[*]} (without OpenBLAS matrix products are 15-25x slower; without Gloo there is no Equinox.Distributed). Install with: $command_line"
fi
exit 0
