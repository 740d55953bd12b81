#!/bin/sh
# usage: csweep.sh "MODE N Cin Cout H W KH KW PH PW" "LX LY|opts" ...
shape=$1; shift
for spec in "$@"; do
  L=${spec%%|*}; opts=${spec#*|}
  set -- $shape
  /tmp/convtune ../../Kernels/conv.cl "$opts" $1 $2 $3 $4 $5 $6 $7 $8 $9 ${10} $L ${REPS:-7} 2>/dev/null | sed 's/err.*FAIL/FAIL/; s/ err.*//'
done
