#!/bin/sh
# The gl engine on a GPU node: composition-only and end-to-end frame rates of the bench jobs
# w1-1080 and layers-1080, beside the encode floor, in a few minutes.
#
#   bench/gpu.sh [--quick] [--runs N] [--out FILE] [--reel PATH]
#
#   --quick      a 0.1 s copy of each job (3 frames; every layer and keyframe time scaled down
#                with it) over small generated media, one run, no warm-up: a check of the script
#                that finishes well within a minute, on llvmpipe too
#   --runs N     measured runs per figure, median reported (default 3; --quick 1)
#   --out FILE   the Markdown summary (default bench/out/gpu-<host>.md)
#   --reel PATH  the reel binary (default $REEL, else build/reel beside this folder)
#
# Per job it runs, with the gl engine (EGL device or surfaceless platform; no X needed):
#   compose  `reel bench _compose JOB --engine gl`: the render loop with the encoder skipped;
#            fps = frames / the render loop's time
#   render   `reel render JOB --engine gl --stats-json F`: the whole process, end to end;
#            fps = frames / wall time (spawn to exit)
#   floor    `reel bench _floor JOB`: the job's frames rendered into memory (not timed), then the
#            encoder alone timed on them; fps = frames / encoder time
# and the ratio end-to-end ÷ floor (wall times: 1.0 would mean everything but encoding is free).
# The encoder is reel's automatic choice on both (NVENC where it opens, else libx264). The
# summary names the GPU (nvidia-smi), the CPU, the driver and the GL renderer the engine reported
# (`reel probe`), and says plainly when the renderer is a software one such as llvmpipe.
set -eu

here="$(cd "$(dirname "$0")" && pwd)"
quick=0
runs=""
out=""
reel="${REEL:-$here/../build/reel}"
while [ $# -gt 0 ]; do
    case "$1" in
    --quick) quick=1 ;;
    --runs)
        runs="${2:?--runs wants a number}"
        shift
        ;;
    --out)
        out="${2:?--out wants a file}"
        shift
        ;;
    --reel)
        reel="${2:?--reel wants a path}"
        shift
        ;;
    -h | --help)
        sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'
        exit 0
        ;;
    *)
        echo "bench/gpu.sh: unknown argument '$1' (see --help)" >&2
        exit 2
        ;;
    esac
    shift
done
case "${runs:-x}" in
x) if [ $quick = 1 ]; then runs=1; else runs=3; fi ;;
*[!0-9]* | 0)
    echo "bench/gpu.sh: --runs wants a whole number from 1" >&2
    exit 2
    ;;
esac
host="$(hostname -s 2>/dev/null || hostname)"
[ -n "$out" ] || out="$here/out/gpu-$host.md"

die() {
    echo "bench/gpu.sh: $*" >&2
    exit 1
}
[ -x "$reel" ] || die "no reel binary at $reel (build it, or give --reel PATH)"
command -v python3 >/dev/null 2>&1 || die "python3 is needed to read reel's JSON stats"
# The ffmpeg command makes the media (--quick, or bench/media missing); reel itself needs none.
have_ffmpeg=0
command -v ffmpeg >/dev/null 2>&1 && have_ffmpeg=1
need_ffmpeg() {
    [ $have_ffmpeg = 1 ] || die "the ffmpeg command is needed to generate $1 (apt-get install ffmpeg)"
}

tmp="$(mktemp -d "${TMPDIR:-/tmp}/reel-gpu-bench.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT INT TERM
log="$tmp/children.log"
t_start=$(date +%s)

# JSON field of a file: jget FILE KEY [KEY...] (nested keys), "" when absent.
jget() {
    python3 - "$@" <<'PY'
import json, sys
o = json.load(open(sys.argv[1]))
for k in sys.argv[2:]:
    o = o.get(k) if isinstance(o, dict) else None
print("" if o is None else o)
PY
}

# ---- the machine ----
cpu="$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo 2>/dev/null | head -n 1)"
[ -n "$cpu" ] || cpu="$(uname -m)"
cores="$(nproc 2>/dev/null || echo '?')"
gpu="none found (no nvidia-smi)"
if command -v nvidia-smi >/dev/null 2>&1; then
    gpu="$(nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader \
        2>/dev/null | head -n 1 | sed 's/, / · driver /2')" || true
    [ -n "$gpu" ] || gpu="nvidia-smi found no GPU"
fi
# The gl engine's own account: the EGL devices it sees, the one chosen, its renderer and version.
"$reel" probe >"$tmp/probe.txt" 2>>"$log" || die "reel probe failed; see below
$(tail -n 20 "$log")"
gl_state="$(sed -n 's/^  gl  *\([a-z ]*\)$/\1/p' "$tmp/probe.txt" | head -n 1)"
chosen="$(awk '/^  gl /{g=1; next} /^  [a-z]/{g=0} g && /chosen:/{sub(/^ *chosen: */, ""); print; exit}' "$tmp/probe.txt")"
renderer="$(awk '/^  gl /{g=1; next} /^  [a-z]/{g=0} g && /renderer:/{sub(/^ *renderer: */, ""); print; exit}' "$tmp/probe.txt")"
[ "$gl_state" = usable ] || die "the gl engine does not start here (reel probe: gl ${gl_state:-missing}; ${chosen:-no device})"
software=0
case "$renderer" in
*llvmpipe* | *softpipe* | *[Ss]oftware* | *swrast*) software=1 ;;
esac
echo "bench/gpu.sh: gl renderer: $renderer" >&2
echo "bench/gpu.sh: EGL: $chosen" >&2
if [ $software = 1 ]; then
    note="ran on $renderer, a software rasteriser on the CPU, not a GPU: the gl figures measure the CPU"
    echo "bench/gpu.sh: NOTE: $note" >&2
fi

# ---- jobs and media ----
jobs="w1-1080 layers-1080"
quick_s=0.1
if [ $quick = 1 ]; then
    need_ffmpeg "the small media of --quick"
    # Small stand-ins for the suite's media, at the same sizes and names (1 s clips).
    media="$tmp/media"
    mkdir -p "$media/clips" "$media/images"
    ff() { ffmpeg -nostdin -hide_banner -loglevel error -y "$@"; }
    enc="-c:v libx264 -preset ultrafast -pix_fmt yuv420p -g 30 -c:a aac -b:a 96k -ar 48000 -ac 2"
    # shellcheck disable=SC2086 # enc is a list of options
    ff -f lavfi -i testsrc2=size=1920x1080:rate=30:duration=1 \
        -f lavfi -i sine=frequency=440:sample_rate=48000:duration=1 $enc "$media/clips/a-1080.mp4"
    # shellcheck disable=SC2086
    ff -f lavfi -i smptehdbars=size=1920x1080:rate=30:duration=1 \
        -f lavfi -i sine=frequency=660:sample_rate=48000:duration=1 $enc "$media/clips/b-1080.mp4"
    ff -f lavfi -i color=c=black:size=400x300:duration=1 -vf \
        "format=rgba,geq=r='55+200*X/W':g='90+120*Y/H':b='230-100*X/W':a='if(lt(hypot(X-200,Y-150),140),255,0)'" \
        -frames:v 1 "$media/images/logo.png"
    ff -f lavfi -i color=c=black:size=256x256:duration=1 -vf \
        "format=rgba,geq=r=255:g='200-100*Y/H':b=60:a='if(lt(hypot(X-128,Y-128),100),255,0)'" \
        -frames:v 1 "$media/images/star.png"
    # Each job squeezed into $quick_s s: every start, duration and keyframe time scaled alike, so each
    # layer, fade and animation still appears.
    for j in $jobs; do
        python3 - "$here/jobs/$j.json" "$tmp/$j.json" "$quick_s" <<'PY'
import json, sys
job = json.load(open(sys.argv[1]))
new = float(sys.argv[3])
k = new / job["output"]["duration"]
def squeeze(o):
    if isinstance(o, dict):
        for key, v in o.items():
            if key in ("start", "duration", "time") and isinstance(v, (int, float)):
                o[key] = v * k
            else:
                squeeze(v)
    elif isinstance(o, list):
        for v in o:
            squeeze(v)
squeeze(job["layers"])
job["output"]["duration"] = new
json.dump(job, open(sys.argv[2], "w"), indent=1)
PY
    done
    jobdir="$tmp"
else
    media="$here/media"
    for f in clips/a-1080.mp4 clips/b-1080.mp4 images/logo.png images/star.png; do
        if [ ! -s "$media/$f" ]; then
            need_ffmpeg "the bench media ($media)"
            echo "bench/gpu.sh: generating the bench media (once; a few minutes)" >&2
            sh "$here/gen-media.sh" "$media" >>"$log" 2>&1 || die "bench/gen-media.sh failed"
            break
        fi
    done
    jobdir="$here/jobs"
fi

# ---- measuring ----
now() { date +%s.%N; }
fail_child() {
    echo "bench/gpu.sh: $1 failed; the children's log ends:" >&2
    tail -n 30 "$log" >&2
    exit 1
}
median() { python3 -c 'import statistics, sys; print(statistics.median(float(x) for x in sys.argv[1:]))' "$@"; }
fmt() { python3 -c 'import sys; v = float(sys.argv[1]); print("%.0f" % v if v >= 100 else "%.1f" % v if v >= 10 else "%.2f" % v)' "$1"; }

rows=""
for j in $jobs; do
    job="$jobdir/$j.json"
    [ -s "$job" ] || die "no job file $job"
    if [ $quick = 0 ]; then
        echo "bench/gpu.sh: $j: warm-up" >&2
        "$reel" frame "$job" --at 0 -o "$tmp/warm.png" --engine gl --asset-root "$media" \
            >>"$log" 2>&1 || fail_child "$j warm-up (reel frame --engine gl)"
    fi
    c_fps="" r_fps="" f_fps="" ratio="" r_walls="" f_walls=""
    for i in $(seq 1 "$runs"); do
        s="$tmp/$j-compose.json"
        "$reel" bench _compose "$job" --engine gl --asset-root "$media" --stats-json "$s" \
            >>"$log" 2>&1 || fail_child "$j compose-only run"
        frames="$(jget "$s" frames)"
        [ "$(jget "$s" engine)" = gl ] || fail_child "$j compose-only run (engine $(jget "$s" engine), not gl)"
        c_fps="$c_fps $(python3 -c 'import sys; print(float(sys.argv[1]) / float(sys.argv[2]))' \
            "$frames" "$(jget "$s" stages_s render)")"

        s="$tmp/$j-render.json"
        t0=$(now)
        "$reel" render "$job" -o "$tmp/$j.mp4" --engine gl --asset-root "$media" --progress none \
            --stats-json "$s" >>"$log" 2>&1 || fail_child "$j render"
        t1=$(now)
        [ "$(jget "$s" engine)" = gl ] || fail_child "$j render (engine $(jget "$s" engine), not gl)"
        encoder="$(jget "$s" encoder)"
        wall="$(python3 -c 'import sys; print(float(sys.argv[2]) - float(sys.argv[1]))' "$t0" "$t1")"
        r_walls="$r_walls $wall"

        s="$tmp/$j-floor.json"
        "$reel" bench _floor "$job" --asset-root "$media" --stats-json "$s" \
            >>"$log" 2>&1 || fail_child "$j encode floor"
        f_walls="$f_walls $(jget "$s" wall_s)"
        floor_enc="$(jget "$s" encoder)"
        echo "bench/gpu.sh: $j run $i: render $(fmt "$wall") s, floor $(fmt "$(jget "$s" wall_s)") s" >&2
    done
    # shellcheck disable=SC2086 # lists of numbers
    {
        c_fps="$(median $c_fps)"
        r_wall="$(median $r_walls)"
        f_wall="$(median $f_walls)"
    }
    r_fps="$(python3 -c 'import sys; print(float(sys.argv[1]) / float(sys.argv[2]))' "$frames" "$r_wall")"
    f_fps="$(python3 -c 'import sys; print(float(sys.argv[1]) / float(sys.argv[2]))' "$frames" "$f_wall")"
    ratio="$(python3 -c 'import sys; print("%.2f" % (float(sys.argv[1]) / float(sys.argv[2])))' "$r_wall" "$f_wall")"
    line="| $j | $frames | $(fmt "$c_fps") | $(fmt "$r_fps") | $(fmt "$r_wall") | $(fmt "$f_fps") | $(fmt "$f_wall") | $ratio | $encoder / $floor_enc |"
    rows="$rows$line
"
done
elapsed=$(($(date +%s) - t_start))

# ---- the summary ----
mkdir -p "$(dirname "$out")"
{
    echo "## reel gl engine: $host ($(date -u +%Y-%m-%dT%H:%M:%SZ))"
    echo
    echo "- GPU: $gpu"
    echo "- GL renderer: $renderer"
    echo "- EGL: $chosen"
    echo "- CPU: $cpu, $cores cores"
    ffv="no ffmpeg command"
    [ $have_ffmpeg = 0 ] || ffv="$(ffmpeg -hide_banner -version | head -n 1)"
    echo "- reel: $("$reel" --version 2>/dev/null | head -n 1 || echo '?'); $ffv"
    if [ $software = 1 ]; then
        echo
        echo "**NOTE: $note.**"
    fi
    echo
    if [ $quick = 1 ]; then
        echo "Quick mode (a check, not a measurement): each job squeezed into $quick_s s over small generated media; $runs run(s), no warm-up."
    else
        echo "Median of $runs run(s) after a one-frame warm-up, per job."
    fi
    echo
    echo "| job | frames | compose-only fps | end-to-end fps | end-to-end s | encode floor fps | floor s | end-to-end ÷ floor | encoder (render / floor) |"
    echo "|---|--:|--:|--:|--:|--:|--:|--:|---|"
    printf '%s' "$rows"
    echo
    echo "compose-only: \`reel bench _compose\` (render loop, encoder skipped; frames ÷ render-loop time)."
    echo "end-to-end: \`reel render --engine gl\` (frames ÷ process wall time)."
    echo "encode floor: \`reel bench _floor\` (the same frames from memory through the same encoder; frames ÷ encoder time)."
    echo "Took ${elapsed} s."
} >"$out"
cat "$out"
echo "bench/gpu.sh: wrote $out" >&2
