#!/bin/sh
# Times forward, backward-data and backward-weight on the Unet's convolution shapes (batch 16).
# usage: convset.sh "build options" [LX LY]     (MODES="fwd fwdg ..." picks the paths; see convtune.c)
opts=$1; L=${2:-"16 1"}
for shape in "16 64 64 32 32 3 3 1 1" "16 128 128 16 16 3 3 1 1" "16 256 256 8 8 3 3 1 1" "16 512 512 4 4 3 3 1 1" \
             "16 3 64 32 32 7 7 3 3" "16 64 384 32 32 1 1 0 0" "16 256 128 16 16 1 1 0 0"; do
  for mode in ${MODES:-fwd bwdd bwdw}; do
    ${CONVTUNE:-./convtune} ../../Kernels/conv.cl "$opts" $mode $shape $L ${REPS:-5} 2>/dev/null | sed 's/ err.*FAIL/ FAIL/; s/ err.*//; s/ \[.*\]//'
  done
done
