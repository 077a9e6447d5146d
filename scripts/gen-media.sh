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

# Media as phones, cameras and editors write it, tiny, under real/ (the media suite,
# tests/golden/media.sh, says what each must look like). Stored pictures use one pattern: quadrants
# red (top left), green (top right), blue (bottom left), white (bottom right).
quads="color=c=red:size=64x32:rate=30:duration=0.2,drawbox=x=32:y=0:w=32:h=16:color=lime:t=fill,drawbox=x=0:y=16:w=32:h=16:color=blue:t=fill,drawbox=x=32:y=16:w=32:h=16:color=white:t=fill"
x264q="-c:v libx264 -preset ultrafast -qp 0 -threads 1"

# set_matrix FILE A B C D: write the display matrix (x' = A x + C y, y' = B x + D y, as
# libavutil/display.h reads it) into every track header of an MP4, as cameras do for orientation.
set_matrix() {
    python3 - "$@" <<'EOF'
import struct, sys
path, a, b, c, d = sys.argv[1], *map(int, sys.argv[2:])
data = bytearray(open(path, "rb").read())
i = data.find(b"tkhd")
while i > 0:
    at = i + (56 if data[i + 4] == 1 else 44)
    data[at:at + 36] = struct.pack(">9i", a << 16, b << 16, 0, c << 16, d << 16, 0, 0, 0, 1 << 30)
    i = data.find(b"tkhd", i + 4)
open(path, "wb").write(data)
EOF
}

# with_exif FILE ORIENTATION: add an EXIF Orientation tag to a JPEG (APP1), a PNG (eXIf chunk) or
# a lossless WebP (an extended header and an EXIF chunk).
with_exif() {
    python3 - "$@" <<'EOF'
import struct, sys, zlib
path, o = sys.argv[1], int(sys.argv[2])
tiff = b"MM\0*" + struct.pack(">IH", 8, 1) + struct.pack(">HHIHH", 0x112, 3, 1, o, 0) + b"\0" * 4
data = open(path, "rb").read()
if data[:2] == b"\xff\xd8":
    app1 = b"Exif\0\0" + tiff
    data = data[:2] + b"\xff\xe1" + struct.pack(">H", len(app1) + 2) + app1 + data[2:]
elif data[:4] == b"RIFF" and data[12:16] == b"VP8L":
    bits = int.from_bytes(data[21:25], "little")
    w, h = (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    vp8x = b"VP8X" + struct.pack("<I", 10) + bytes([0x18, 0, 0, 0])
    vp8x += (w - 1).to_bytes(3, "little") + (h - 1).to_bytes(3, "little")
    exif = b"EXIF" + struct.pack("<I", len(tiff)) + tiff
    body = b"WEBP" + vp8x + data[12:] + exif
    data = b"RIFF" + struct.pack("<I", len(body)) + body
else:
    chunk = struct.pack(">I", len(tiff)) + b"eXIf" + tiff + struct.pack(">I", zlib.crc32(b"eXIf" + tiff))
    data = data[:33] + chunk + data[33:]
open(path, "wb").write(data)
EOF
}

# Matrices of the eight EXIF orientations (A B C D), 1 = as stored, 6 = phone portrait.
orient_matrix() {
    case $1 in
    1) echo "1 0 0 1" ;; 2) echo "-1 0 0 1" ;; 3) echo "-1 0 0 -1" ;; 4) echo "1 0 0 -1" ;;
    5) echo "0 1 1 0" ;; 6) echo "0 1 -1 0" ;; 7) echo "0 -1 -1 0" ;; 8) echo "0 -1 1 0" ;;
    esac
}
# shellcheck disable=SC2086,SC2046
orient_mp4() { ff -f lavfi -i "$quads" $x264q -pix_fmt yuv444p $bitexact "$1" && set_matrix "$1" $(orient_matrix "$o"); }
# shellcheck disable=SC2086,SC2046
orient_jpg() { ff -f lavfi -i "$quads" -frames:v 1 -pix_fmt yuvj444p -q:v 2 -c:v mjpeg $bitexact "$1" && with_exif "$1" "$o"; }
# shellcheck disable=SC2086,SC2046
orient_webp() { ff -f lavfi -i "$quads" -frames:v 1 -c:v libwebp -lossless 1 $bitexact "$1" && with_exif "$1" "$o"; }
# shellcheck disable=SC2086,SC2046
orient_png() { ff -f lavfi -i "$quads" -frames:v 1 -c:v png $bitexact "$1" && with_exif "$1" "$o"; }
# Half transparent (x < 32): VP9 and VP8 keep alpha in a side channel of the WebM.
alpha_src="color=c=red:size=64x36:rate=30:duration=0.5,format=rgba,geq=r=255:g=0:b=0:a='if(lt(X,32),0,255)'"
# shellcheck disable=SC2086,SC2046
alpha_vp9() { ff -f lavfi -i "$alpha_src" -c:v libvpx-vp9 -pix_fmt yuva420p -auto-alt-ref 0 -threads 1 $bitexact "$1"; }
# shellcheck disable=SC2086,SC2046
alpha_vp8() { ff -f lavfi -i "$alpha_src" -c:v libvpx -pix_fmt yuva420p -auto-alt-ref 0 -threads 1 $bitexact "$1"; }
# 16:9 anamorphic PAL, scaled down: 180x144 stored, SAR 64:45 (shown 256x144); red left, green right.
# shellcheck disable=SC2086,SC2046
anamorphic() { ff -f lavfi -i "color=c=red:size=180x144:rate=25:duration=0.2,drawbox=x=90:y=0:w=90:h=144:color=lime:t=fill,setsar=64/45" $x264q -pix_fmt yuv420p $bitexact "$1"; }
# 10 frames and 1 frame at 30 fps in MP4 (the container rounds its duration up to the ms).
# shellcheck disable=SC2086,SC2046
frames_mp4() { ff -f lavfi -i "color=c=red:size=64x36:rate=30" -frames:v "$n" $x264q -pix_fmt yuv420p $bitexact "$1"; }
# Variable frame rate: 0.5 s red at 10 fps, then 0.5 s green at 25 fps.
# shellcheck disable=SC2086,SC2046
vfr_mp4() { ff -f lavfi -i "color=c=red:size=64x36:rate=10:duration=0.5" -f lavfi -i "color=c=lime:size=64x36:rate=25:duration=0.5" -filter_complex "[0:v][1:v]concat=n=2:v=1[v]" -map "[v]" -fps_mode vfr $x264q -pix_fmt yuv420p $bitexact "$1"; }
# NTSC film rate: 1 s red, then green, at 24000/1001 fps.
# shellcheck disable=SC2086,SC2046
ntsc_mp4() { ff -f lavfi -i "color=c=red:size=64x36:rate=24000/1001:duration=2,drawbox=c=lime:t=fill:enable='gte(t,1)'" $x264q -pix_fmt yuv420p $bitexact "$1"; }
# #C04020 as 10-bit HEVC, as full-range H.264 and as BT.601-tagged 720p H.264.
# shellcheck disable=SC2086,SC2046
hevc10() { ff -f lavfi -i "color=c=0xC04020:size=64x64:rate=30:duration=0.1" -c:v libx265 -preset ultrafast -x265-params log-level=error:lossless=1 -pix_fmt yuv420p10le $bitexact "$1"; }
# shellcheck disable=SC2086,SC2046
full_range() { ff -f lavfi -i "color=c=0xC04020:size=64x36:rate=30:duration=0.1" -vf "scale=out_range=full:out_color_matrix=bt601" $x264q -pix_fmt yuvj420p -color_range pc -colorspace smpte170m $bitexact "$1"; }
# shellcheck disable=SC2086,SC2046
bt601_hd() { ff -f lavfi -i "color=c=0xC04020:size=1280x720:rate=30:duration=0.1" -vf "scale=out_range=tv:out_color_matrix=bt601" -c:v libx264 -preset ultrafast -crf 10 -threads 1 -pix_fmt yuv420p -colorspace smpte170m -color_primaries smpte170m -color_trc smpte170m $bitexact "$1"; }
# Odd size 63x35 (4:2:0 VP9), red.
# shellcheck disable=SC2086,SC2046
odd_webm() { ff -f lavfi -i "color=c=red:size=63x35:rate=30:duration=0.2" -c:v libvpx-vp9 -lossless 1 -pix_fmt yuv420p -threads 1 $bitexact "$1"; }
# 5.1 AAC at 48 kHz and 8 kHz mono WAV, 1 s of 440 Hz.
# shellcheck disable=SC2086,SC2046
surround() { ff -f lavfi -i "sine=frequency=440:sample_rate=48000:duration=1" -af "volume=0.5,pan=5.1|c0=c0|c1=c0|c2=c0|c3=c0|c4=c0|c5=c0" -c:a aac -b:a 192k $bitexact "$1"; }
# shellcheck disable=SC2086,SC2046
phone_wav() { ff -f lavfi -i "sine=frequency=440:sample_rate=8000:duration=1" -af volume=0.5 -c:a pcm_s16le $bitexact "$1"; }
# Paletted and 16-bit PNGs of the quadrants.
# shellcheck disable=SC2086,SC2046
png_pal() { ff -f lavfi -i "$quads" -frames:v 1 -pix_fmt pal8 -c:v png $bitexact "$1"; }
# shellcheck disable=SC2086,SC2046
png_16() { ff -f lavfi -i "$quads" -frames:v 1 -pix_fmt rgb48be -c:v png $bitexact "$1"; }
# Damaged uploads: a clip cut before its index (moov last), a JPEG cut in half, an empty file.
# shellcheck disable=SC2086,SC2046
truncated_mp4() { ff -f lavfi -i "color=c=red:size=64x36:rate=30:duration=1" $x264q -pix_fmt yuv420p $bitexact "$1.whole.mp4" && head -c 2000 "$1.whole.mp4" >"$1" && rm -f "$1.whole.mp4"; }
# shellcheck disable=SC2086,SC2046
truncated_jpg() { ff -f lavfi -i "mandelbrot=size=160x120" -frames:v 1 -c:v mjpeg $bitexact "$1.whole.jpg" && head -c $(($(wc -c <"$1.whole.jpg") / 2)) "$1.whole.jpg" >"$1" && rm -f "$1.whole.jpg"; }

gen "$dir/clips/a.mp4" clip_a
gen "$dir/clips/b.mp4" clip_b
gen "$dir/clips/green.mp4" clip_green
gen "$dir/images/logo.png" logo_png
gen "$dir/images/photo.jpg" photo_jpg
gen "$dir/images/sticker.webp" sticker_webp
gen "$dir/audio/music.wav" music_wav

mkdir -p "$dir/real"
for o in 1 2 3 4 5 6 7 8; do
    gen "$dir/real/orient-$o.mp4" orient_mp4
    gen "$dir/real/orient-$o.jpg" orient_jpg
done
o=6 && gen "$dir/real/orient-6.png" orient_png
o=8 && gen "$dir/real/orient-8.webp" orient_webp
gen "$dir/real/alpha-vp9.webm" alpha_vp9
gen "$dir/real/alpha-vp8.webm" alpha_vp8
gen "$dir/real/anamorphic.mp4" anamorphic
n=10 && gen "$dir/real/ten-frames.mp4" frames_mp4
n=1 && gen "$dir/real/one-frame.mp4" frames_mp4
gen "$dir/real/vfr.mp4" vfr_mp4
gen "$dir/real/ntsc.mp4" ntsc_mp4
gen "$dir/real/hevc10.mp4" hevc10
gen "$dir/real/full-range.mp4" full_range
gen "$dir/real/bt601-720p.mp4" bt601_hd
gen "$dir/real/odd.webm" odd_webm
gen "$dir/real/surround.m4a" surround
gen "$dir/real/phone.wav" phone_wav
gen "$dir/real/palette.png" png_pal
gen "$dir/real/deep.png" png_16
gen "$dir/real/truncated.mp4" truncated_mp4
gen "$dir/real/truncated.jpg" truncated_jpg
[ -e "$dir/real/empty.mp4" ] || : >"$dir/real/empty.mp4"
