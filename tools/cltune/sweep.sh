#!/bin/sh
# usage: sweep.sh "M N K ta tb batch" "LX LY" "opts" ...   (KERNEL env selects the kernel)
shape=$1; shift
for spec in "$@"; do
  L=${spec%%|*}; opts=${spec#*|}
  set -- $shape
  ./gemmtune ../../Kernels/gemm.cl "$opts -DUSE_FMA" $1 $2 $3 $4 $5 $L $6 ${REPS:-7} 2>/dev/null | sed 's/ M=.*\[/ [/; s/err.*FAIL/FAIL/; s/ err.*//'
done
