#!/bin/sh
# The FFmpeg CLI peer of the w1 bench jobs (bench/jobs/w1-720.json, w1-1080.json): the same
# picture, sound and encoder settings written as one hand-made filter_complex, for comparison.
#
#   bench/peer/w1.sh [--variant NAME] HEIGHT MEDIA_DIR FONT_FILE OUT.mp4   (HEIGHT: 720 or 1080)
#   bench/peer/w1.sh --list          the variants `reel bench` runs, one a line, "exact" first
#
# Variants (same picture, sound and encoder settings; only how FFmpeg is asked differs):
#   exact   the graph below as first written: the reference for the picture check.
#   fast    the fastest command found for the same output: the inputs are cut at the demuxer
#           (-t 6 on clip A, -t 5 on clip B) so nothing past what is used is read or decoded,
#           and the logo PNG is decoded once and repeated by the loop filter (the image demuxer
#           with -loop 1 decodes it again for every frame).
#   Kept for measuring by hand (not in --list): demux-trim and logo-once (each of fast's
#   changes alone), threads and filter1 (-filter_complex_threads 2 or 1 instead of FFmpeg's
#   automatic count), dec1 and dec2 (-threads 1 or 2 for each clip's decoder instead of
#   automatic). None beat the automatic thread counts by more than the noise, so fast keeps them;
#   dec1 and dec2 also change the sound after 5.95 s (amix, when clip A's sound ends, depends on
#   the order frames arrive in), so they are not the same job.
#
# The picture, as in the job:
#   clip A for 6 s, then clip B (from its start) fading in over A from 5 s to 6 s (xfade);
#   the 400x300 logo, its alpha fading in over the first second, its centre moving linearly from
#   (0.2 W, 0.3 H) to (0.8 W, 0.7 H) and its size scaling from 0.5x to 1.5x over the 10 s
#   (scale with per-frame expressions, then overlay);
#   "Weekly Highlights", DejaVu Sans 64 px, white, centred on (W/2, 0.15 H), for 1 s <= t < 4 s.
# The sound: clip A's track for 6 s plus clip B's from 5 s, summed as reel's mix does.
# Where FFmpeg cannot follow reel exactly: the overlay lands on whole pixels and the logo's size is
# rounded to whole pixels each frame (reel samples both at sub-pixel precision), drawtext sets
# glyphs on whole pixels without kerning, and the logo is converted to YUV before blending (reel
# blends in RGB); bench reports the PSNR between the two outputs so the difference is measured.
set -eu

variant=exact
case "${1:-}" in
--list)
    printf '%s\n' exact fast
    exit 0
    ;;
--variant)
    [ $# -ge 2 ] || {
        echo "bench/peer/w1.sh: --variant wants a name" >&2
        exit 2
    }
    variant="$2"
    shift 2
    ;;
--variant=*)
    variant="${1#--variant=}"
    shift
    ;;
esac

if [ $# -ne 4 ]; then
    sed -n '5,6p' "$0" | sed 's/^# \{0,1\}//' >&2
    exit 2
fi
h="$1"
media="$2"
font="$3"
out="$4"
case "$h" in
720) w=1280 ;;
1080) w=1920 ;;
*)
    echo "bench/peer/w1.sh: HEIGHT must be 720 or 1080" >&2
    exit 2
    ;;
esac

# What each variant changes: input cuts, how the logo is read, filter threads, blend format.
demux_trim=0 logo_once=0 fthreads=0 dthreads=0
case "$variant" in
exact) ;;
fast) demux_trim=1 logo_once=1 ;;
demux-trim) demux_trim=1 ;;
logo-once) logo_once=1 ;;
threads) fthreads=2 ;;
filter1) fthreads=1 ;;
dec1) dthreads=1 ;;
dec2) dthreads=2 ;;
*)
    echo "bench/peer/w1.sh: unknown --variant '$variant' (exact, fast, demux-trim, logo-once," \
        "threads, filter1, dec1, dec2)" >&2
    exit 2
    ;;
esac

# Same arithmetic as the job: keyframe positions are whole pixels (rounded at job generation).
x0=$(((w * 2 + 5) / 10))
x1=$(((w * 8 + 5) / 10))
y0=$(((h * 3 + 5) / 10))
y1=$(((h * 7 + 5) / 10))
ty=$(((h * 15 + 50) / 100))
# Scale factor at time t: 0.5 -> 1.5 over 10 s.
s="(0.5+t/10)"

if [ $demux_trim = 1 ]; then
    in_a="-t 6"
    in_b="-t 5"
else
    in_a=""
    in_b=""
fi
if [ "$dthreads" -gt 0 ]; then
    in_a="$in_a -threads $dthreads"
    in_b="$in_b -threads $dthreads"
fi
if [ $logo_once = 1 ]; then
    # One decoded picture, repeated 300 times at 30 fps (frame N at N/30 s).
    in_logo=""
    logo_src="[2:v]loop=loop=299:size=1,settb=1/30,setpts=N,"
else
    in_logo="-loop 1 -framerate 30 -t 10"
    logo_src="[2:v]"
fi

# reel centres the text's line box (ceil(1.2 x 64) = 77 px tall) on y and puts the baseline
# half a leading plus the font's ascender below the box top: for DejaVu Sans at 64 px (ascender
# 60 px, descender 16 px) that is 77/2 - 0.4 - 60 = 21.9 px below y. drawtext puts the baseline
# max_glyph_a (the tallest rendered glyph) below its own y, hence y = ty + 22 - max_glyph_a.
graph="[0:v]trim=end=6,setpts=PTS-STARTPTS[va];
[1:v]trim=end=5,setpts=PTS-STARTPTS[vb];
[va][vb]xfade=transition=fade:duration=1:offset=5[bg];
${logo_src}format=rgba,fade=t=in:st=0:d=1:alpha=1,
scale=w='400*$s':h='300*$s':eval=frame:flags=bilinear:out_color_matrix=bt709:out_range=tv,
format=yuva420p[logo];
[bg][logo]overlay=x='$x0+($x1-$x0)*t/10-overlay_w/2':y='$y0+($y1-$y0)*t/10-overlay_h/2':eval=frame[v1];
[v1]drawtext=fontfile='$font':text='Weekly Highlights':fontsize=64:fontcolor=white:
x=(w-text_w)/2:y=$ty+22-max_glyph_a:enable='gte(t,1)*lt(t,4)'[v];
[0:a]atrim=end=6[a0];
[1:a]atrim=end=5,adelay=5000:all=1[a1];
[a0][a1]amix=inputs=2:duration=longest:normalize=0[a]"

if [ "$fthreads" -gt 0 ]; then
    set -- -filter_complex_threads "$fthreads"
else
    set --
fi

# shellcheck disable=SC2086 # in_a, in_b and in_logo are lists of options
exec ffmpeg -nostdin -hide_banner -loglevel error -y \
    $in_a -i "$media/clips/a-$h.mp4" $in_b -i "$media/clips/b-$h.mp4" \
    $in_logo -i "$media/images/logo.png" \
    "$@" -filter_complex "$graph" -map "[v]" -map "[a]" -t 10 \
    -c:v libx264 -preset veryfast -crf 23 -g 60 -pix_fmt yuv420p \
    -colorspace bt709 -color_primaries bt709 -color_trc bt709 -color_range tv \
    -c:a aac -b:a 128k -ar 48000 -ac 2 -movflags +faststart "$out"
