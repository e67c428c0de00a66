#!/bin/sh
# Regenerates cjk.ttf.gz, the CJK font the labels package embeds: a subset of
# Droid Sans Fallback (Apache License 2.0, Debian package fonts-droid-fallback)
# holding every CJK Unified Ideograph of the basic block (U+4E00–U+9FFF, all
# of GBK's hanzi), CJK and full-width punctuation and the symbols Chinese
# product text uses (℃ ① ㎡ ★). Latin text is drawn with the Go fonts
# (golang.org/x/image/font/gofont), which this font lacks.
#
# Changes to the original font (Apache 2.0 §4b): glyphs outside those ranges,
# hinting and OpenType layout features removed; family renamed.
#
# Needs fontTools (Debian: python3-fonttools). Output is deterministic for a
# given input font and fontTools version.
set -eu
src=${1:-/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf}
cd "$(dirname "$0")"
python3 -m fontTools.subset "$src" \
	--unicodes='U+2000-206F,U+2100-214F,U+2190-21FF,U+2460-24FF,U+25A0-25FF,U+2600-26FF,U+3000-303F,U+3200-33FF,U+4E00-9FFF,U+FF00-FFEF' \
	--no-hinting --layout-features='' --drop-tables+=GSUB,GPOS,GDEF \
	--output-file=cjk.tmp.ttf
python3 - <<'PY'
from fontTools.ttLib import TTFont
f = TTFont('cjk.tmp.ttf')
for rec in f['name'].names:
    if rec.nameID in (1, 4, 16):
        rec.string = 'Sanbao Label CJK'
    elif rec.nameID == 6:
        rec.string = 'SanbaoLabelCJK'
    elif rec.nameID == 3:
        rec.string = 'Sanbao Label CJK (subset of Droid Sans Fallback)'
f['head'].created = f['head'].modified = 0
f.save('cjk.ttf')
PY
rm -f cjk.tmp.ttf
gzip -9 -n -f cjk.ttf
