#!/bin/sh
# Runs gemmtune over several configurations of one shape.
# usage: sweep.sh "M N K ta tb batch" "LX LY|build options" ...
shape=$1; shift
for spec in "$@"; do
  L=${spec%%|*}; opts=${spec#*|}
  set -- $shape
  ${GEMMTUNE:-./gemmtune} ../../Kernels/gemm.cl "$opts" $1 $2 $3 $4 $5 $L $6 ${REPS:-7} 2>/dev/null | sed 's/ err.*FAIL/ FAIL/; s/ err.*//'
done
