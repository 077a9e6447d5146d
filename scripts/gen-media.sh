#!/bin/sh
# Generate the small, deterministic media files the example jobs and tests use.
#
#   scripts/gen-media.sh [--force] [DIR]      (DIR defaults to examples/media)
#
# Everything comes from FFmpeg's built-in sources (testsrc2, smptehdbars, mandelbrot, sine,
# aevalsrc), so nothing is downloaded. Files that already exist are kept unless --force is given.
# Encoders run with bitexact flags and fixed settings so that the same FFmpeg build produces the
# same bytes every time.
set -eu

me=gen-media
default_dir="$(cd "$(dirname "$0")/.." && pwd)/examples/media"
help=2,9
. "$(dirname "$0")/media-lib.sh"
mkdir -p "$dir/audio"
h264="-c:v libx264 -preset veryfast -crf 28 -g 30 -pix_fmt yuv420p -threads 2 -movflags +faststart"
aac="-c:a aac -b:a 96k -ar 48000 -ac 2"

# 6 s 1280x720 test pattern with a 440 Hz stereo tone.
clip_a() {
    # shellcheck disable=SC2086
    ff -f lavfi -i "testsrc2=size=1280x720:rate=30:duration=6" \
        -f lavfi -i "sine=frequency=440:sample_rate=48000:duration=6" \
        -filter_complex "[1:a]volume=0.5,pan=stereo|c0=c0|c1=c0[a]" -map 0:v -map "[a]" \
        $h264 $aac $bitexact "$1"
}

# 6 s colour bars with a sliding box and a 660 Hz tone.
clip_b() {
    # shellcheck disable=SC2086
    ff -f lavfi -i "smptehdbars=size=1280x720:rate=30:duration=6" \
        -f lavfi -i "sine=frequency=660:sample_rate=48000:duration=6" \
        -filter_complex "[0:v]drawbox=x='mod(t*240,1280-200)':y=440:w=200:h=200:color=white@0.9:t=fill,drawbox=x='mod(t*240,1280-200)+40':y=480:w=120:h=120:color=0xff3366:t=fill[v];[1:a]volume=0.5,pan=stereo|c0=c0|c1=c0[a]" \
        -map "[v]" -map "[a]" $h264 $aac $bitexact "$1"
}

# 3 s subject (a simple figure: head and shoulders) moving over pure #00ff00, for chroma keying.
# The figure is drawn once and the overlay repeats it, which keeps this quick.
clip_green() {
    # shellcheck disable=SC2086
    ff -f lavfi -i "color=c=0x00ff00:size=1280x720:rate=30:duration=3" \
        -f lavfi -i "color=c=black:size=360x400:rate=1:duration=1" \
        -filter_complex "[1:v]format=rgba,geq=r='if(lt(Y,170),235,40)':g='if(lt(Y,170),170,90)':b='if(lt(Y,170),125,210)':a='if(lt(hypot(X-180,Y-95),75)+lt(hypot((X-180)/170,(Y-400)/220),1),255,0)'[fig];[0:v][fig]overlay=x='260+t*200':y=320,format=yuv420p[v]" \
        -map "[v]" -an $h264 $bitexact "$1"
}

# 400x300 RGBA: a gradient disc with a soft ring; the corners are fully transparent.
logo_png() {
    # shellcheck disable=SC2086
    ff -f lavfi -i "color=c=black:size=400x300:rate=1:duration=1" \
        -vf "format=rgba,geq=r='55+200*X/W':g='90+120*Y/H':b='230-100*X/W':a='if(lt(hypot(X-200,Y-150),110),255,if(lt(hypot(X-200,Y-150),140),140,0))'" \
        -frames:v 1 -c:v png $bitexact "$1"
}

# 1280x720 "photo": a view of the Mandelbrot set.
photo_jpg() {
    # shellcheck disable=SC2086
    ff -f lavfi -i "mandelbrot=size=1280x720:rate=1:maxiter=256:start_scale=2.5" \
        -frames:v 1 -pix_fmt yuvj420p -q:v 4 -c:v mjpeg $bitexact "$1"
}

# 256x256 WebP with alpha: a star-like blob on transparency.
sticker_webp() {
    # shellcheck disable=SC2086
    ff -f lavfi -i "color=c=black:size=256x256:rate=1:duration=1" \
        -vf "format=rgba,geq=r='255':g='200-100*Y/H':b='60':a='if(lt(hypot(X-128,Y-128),80+30*cos(5*atan2(Y-128,X-128))),255,0)'" \
        -frames:v 1 -c:v libwebp -lossless 1 -pix_fmt bgra $bitexact "$1"
}

# 10 s C major chord (C4 E4 G4) with a gentle swell, 48 kHz stereo PCM.
music_wav() {
    # shellcheck disable=SC2086
    ff -f lavfi \
        -i "aevalsrc='(0.18*sin(2*PI*261.63*t)+0.15*sin(2*PI*329.63*t)+0.15*sin(2*PI*392.00*t))*(0.7+0.3*sin(2*PI*0.25*t))|(0.15*sin(2*PI*261.63*t)+0.18*sin(2*PI*329.63*t)+0.15*sin(2*PI*392.00*t))*(0.7+0.3*sin(2*PI*0.25*t))':s=48000:d=10" \
        -c:a pcm_s16le $bitexact "$1"
}

gen "$dir/clips/a.mp4" clip_a
gen "$dir/clips/b.mp4" clip_b
gen "$dir/clips/green.mp4" clip_green
gen "$dir/images/logo.png" logo_png
gen "$dir/images/photo.jpg" photo_jpg
gen "$dir/images/sticker.webp" sticker_webp
gen "$dir/audio/music.wav" music_wav
