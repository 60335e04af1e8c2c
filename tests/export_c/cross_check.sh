#!/bin/sh
# cross_check.sh - the generated C on other targets (issue 18's acceptance):
#   1. test_export_c --keep DIR exports its models and runs them on x86
#      (skipped when DIR already holds its files: ctest runs test_export_c
#      first, with DEEPC_EXPORT_C_KEEP=DIR, as this test's fixture);
#   2. each model builds for a Cortex-M4 with Debian's arm-none-eabi-gcc
#      (-mcpu=cortex-m4 -mthumb -Os -std=c99 -Wall -Wextra -Werror -pedantic)
#      and arm-none-eabi-size prints its flash (text + data) and RAM (bss);
#   3. each model builds with arm-linux-gnueabihf-gcc (static), runs under
#      qemu-arm on the same inputs, and its outputs must equal the x86 ones
#      (compare.c: bit for bit, else within 1e-6 of the largest magnitude,
#      and says which).
# Usage: cross_check.sh TEST_EXPORT_C_BINARY WORK_DIR
# Exits 77 (ctest's skip) naming the tool when a cross compiler or qemu-arm
# is absent.
set -eu
bin=$1
work=$2
here=$(cd "$(dirname "$0")" && pwd)
for tool in arm-none-eabi-gcc arm-none-eabi-size arm-linux-gnueabihf-gcc qemu-arm cc; do
    if ! command -v "$tool" > /dev/null 2>&1; then
        echo "cross_check: $tool not found; skipped (Debian: gcc-arm-none-eabi, gcc-arm-linux-gnueabihf, qemu-user)"
        exit 77
    fi
done
if [ ! -f "$work/mlp/out_cc.bin" ]; then
    rm -rf "$work"
    mkdir -p "$work"
    "$bin" --keep "$work" > "$work/test.log" 2>&1 || { cat "$work/test.log"; exit 1; }
fi
cc -std=c99 -O2 -o "$work/compare" "$here/compare.c" -lm
printf '%-12s %10s %10s %10s\n' model flash_B ram_B scratch_B
status=0
for d in "$work"/*/; do
    name=$(basename "$d")
    [ -f "$d/$name.c" ] || continue
    up=$(echo "$name" | tr a-z A-Z)
    defs="-DMODEL=$name -DMODEL_UP=$up -DMODEL_H=\"$name.h\""
    # Cortex-M4: the generated code plus a main holding the scratch, linked with newlib's nosys stubs
    arm-none-eabi-gcc -std=c99 -Wall -Wextra -Werror -pedantic -mcpu=cortex-m4 -mthumb -mfloat-abi=hard \
        -mfpu=fpv4-sp-d16 -Os -ffunction-sections -fdata-sections -Wl,--gc-sections --specs=nosys.specs \
        -I"$d" $defs -DMODEL_H="\"$name.h\"" -o "$d/m4.elf" "$here/m4_main.c" "$d/$name.c" -lm
    arm-none-eabi-size "$d/m4.elf" | awk -v n="$name" -v s="$(grep '^#define .*_SCRATCH_FLOATS' "$d/$name.h" | awk '{print $3 * 4}')" \
        'NR == 2 { printf "%-12s %10d %10d %10d\n", n, $1 + $2, $2 + $3, s }'
    # ARM Linux under qemu: the same outputs as x86
    arm-linux-gnueabihf-gcc -std=c99 -Wall -Wextra -Werror -pedantic -O2 -static -I"$d" $defs \
        -DMODEL_H="\"$name.h\"" -o "$d/run_arm" "$here/runner.c" "$d/$name.c" -lm
    n=$(( $(stat -c %s "$d/in.bin") / 4 / $(grep '^#define .*_INPUT_SIZE' "$d/$name.h" | awk '{print $3}') ))
    (cd "$d" && qemu-arm ./run_arm in.bin out_arm.bin "$n")
    if ! "$work/compare" "$d/out_cc.bin" "$d/out_arm.bin" "$name x86 vs arm"; then
        status=1
    fi
done
exit $status
