#!/bin/sh
# m4_sizes.sh DIR - for every DIR/<name>/<name>.c that dc_model_export_c
# wrote: built for a Cortex-M4 (arm-none-eabi-gcc -mcpu=cortex-m4 -mthumb
# -Os, hard float, with tests/export_c/m4_main.c holding the scratch), the
# flash (text + data) and RAM (data + bss) arm-none-eabi-size reports, as a
# markdown table.  Exit 77 when arm-none-eabi-gcc is absent.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
command -v arm-none-eabi-gcc > /dev/null 2>&1 || { echo "m4_sizes: arm-none-eabi-gcc not found"; exit 77; }
echo "| model | flash (bytes) | RAM (bytes) | of which scratch |"
echo "|---|---|---|---|"
for d in "$1"/*/; do
    name=$(basename "$d")
    [ -f "$d/$name.c" ] || continue
    up=$(echo "$name" | tr a-z A-Z)
    arm-none-eabi-gcc -std=c99 -Wall -Wextra -Werror -pedantic -mcpu=cortex-m4 -mthumb -mfloat-abi=hard \
        -mfpu=fpv4-sp-d16 -Os -ffunction-sections -fdata-sections -Wl,--gc-sections --specs=nosys.specs \
        -I"$d" -DMODEL="$name" -DMODEL_UP="$up" -DMODEL_H="\"$name.h\"" -o "$d/m4.elf" "$here/m4_main.c" "$d/$name.c" -lm
    s=$(grep "^#define .*_SCRATCH_FLOATS" "$d/$name.h" | awk '{print $3 * 4}')
    arm-none-eabi-size "$d/m4.elf" | awk -v n="$name" -v s="$s" 'NR == 2 { printf "| %s | %d | %d | %d |\n", n, $1 + $2, $2 + $3, s }'
done
