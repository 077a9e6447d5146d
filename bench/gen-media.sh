#!/bin/sh
# Generate the media the bench jobs use, into bench/media/ (or DIR).
#
#   bench/gen-media.sh [--force] [DIR]
#
# Everything comes from FFmpeg's built-in sources, so nothing is downloaded and the same FFmpeg
# build writes the same bytes every time (bitexact flags, fixed encoder threads, fixed noise seed).
# Clips exist at each output size the jobs use (720p, 1080p, 2160p), so no job pays for a resize
# the FFmpeg peer would not pay for. Light temporal grain gives the decoder and the encoder work
# comparable to camera footage instead of flat synthetic colour. Existing files are kept unless
# --force is given; `reel bench` runs this script itself when a file is missing.
set -eu

me=bench/gen-media
default_dir="$(cd "$(dirname "$0")" && pwd)/media"
help=2,12
. "$(dirname "$0")/../scripts/media-lib.sh"
# Sources are tagged BT.709 limited range and converted with that matrix, as a camera file would be.
tags="-colorspace bt709 -color_primaries bt709 -color_trc bt709 -color_range tv"
h264="-c:v libx264 -preset veryfast -crf 20 -g 60 -pix_fmt yuv420p -threads 2 -movflags +faststart"
aac="-c:a aac -b:a 128k -ar 48000 -ac 2"
to709="scale=out_color_matrix=bt709:out_range=tv,format=yuv420p"

# Clip A: 6 s test pattern (moving gradients, counters) with grain and a 440 Hz tone.
clip_a() {
    # shellcheck disable=SC2086
    ff -f lavfi -i "testsrc2=size=$1:rate=30:duration=6" \
        -f lavfi -i "sine=frequency=440:sample_rate=48000:duration=6" \
        -filter_complex "[0:v]noise=alls=5:allf=t,$to709[v];[1:a]volume=0.5,pan=stereo|c0=c0|c1=c0[a]" \
        -map "[v]" -map "[a]" $h264 $tags $aac $bitexact "$2"
}

# Clip B: 6 s colour bars with two boxes sliding across, grain, and a 660 Hz tone.
clip_b() {
    w="${1%x*}"
    h="${1#*x}"
    bw=$((w / 6))
    # shellcheck disable=SC2086
    ff -f lavfi -i "smptehdbars=size=$1:rate=30:duration=6" \
        -f lavfi -i "sine=frequency=660:sample_rate=48000:duration=6" \
        -filter_complex "[0:v]drawbox=x='mod(t*$w/5,$w-$bw)':y=$((h * 3 / 5)):w=$bw:h=$bw:color=white@0.9:t=fill,drawbox=x='mod(t*$w/5,$w-$bw)+$((bw / 5))':y=$((h * 3 / 5 + bw / 5)):w=$((bw * 3 / 5)):h=$((bw * 3 / 5)):color=0xff3366:t=fill,noise=alls=5:allf=t,$to709[v];[1:a]volume=0.5,pan=stereo|c0=c0|c1=c0[a]" \
        -map "[v]" -map "[a]" $h264 $tags $aac $bitexact "$2"
}

# 400x300 RGBA: a gradient disc with a soft ring; the corners are fully transparent.
logo_png() {
    # shellcheck disable=SC2086
    ff -f lavfi -i "color=c=black:size=400x300:rate=1:duration=1" \
        -vf "format=rgba,geq=r='55+200*X/W':g='90+120*Y/H':b='230-100*X/W':a='if(lt(hypot(X-200,Y-150),110),255,if(lt(hypot(X-200,Y-150),140),140,0))'" \
        -frames:v 1 -c:v png $bitexact "$1"
}

# 256x256 RGBA: a star-like blob, for the many-layer job.
star_png() {
    # shellcheck disable=SC2086
    ff -f lavfi -i "color=c=black:size=256x256:rate=1:duration=1" \
        -vf "format=rgba,geq=r='255':g='200-100*Y/H':b='60':a='if(lt(hypot(X-128,Y-128),80+30*cos(5*atan2(Y-128,X-128))),255,0)'" \
        -frames:v 1 -c:v png $bitexact "$1"
}

for res in 1280x720:720 1920x1080:1080 3840x2160:2160; do
    size="${res%:*}"
    tag="${res#*:}"
    gen "$dir/clips/a-$tag.mp4" clip_a "$size"
    gen "$dir/clips/b-$tag.mp4" clip_b "$size"
done
gen "$dir/images/logo.png" logo_png
gen "$dir/images/star.png" star_png
