#!/usr/bin/env bash
# `reel bench` end to end on a small job of its own (no suite media needed): every measured kind
# runs as a child, and the JSON, SVG and Markdown outputs carry what they promise.
# Usage: bench_smoke.sh REEL SOURCE_DIR
set -uo pipefail
reel=$1
src=$2
dir=$(mktemp -d "${TMPDIR:-/tmp}/reel-bench-smoke.XXXXXX")
trap 'rm -rf "$dir"' EXIT
fails=0

fail() { echo "FAIL: $*"; fails=$((fails + 1)); }

clip="$src/examples/media/clips/a.mp4"
if [ ! -s "$clip" ]; then
  echo "FAIL: $clip is missing (scripts/gen-media.sh makes it)"
  exit 1
fi
cp "$clip" "$dir/clip.mp4"
cat >"$dir/smoke.json" <<'JOB'
{ "output": { "width": 320, "height": 180, "fps": 30, "duration": 2, "quality": 28 },
  "layers": [
    { "type": "video", "src": "clip.mp4", "start": 0, "duration": 2 },
    { "type": "shape", "shape": "ellipse", "width": 60, "height": 60, "fill": "#ff3366",
      "animate": { "x": [ { "time": 0, "value": 40 }, { "time": 2, "value": 280 } ] } },
    { "type": "text", "text": "bench", "font_size": 24, "y": 30 } ] }
JOB

"$reel" bench --engine cpu --jobs "$dir/smoke.json" --runs 2 --dir "$dir/bench" \
  --json "$dir/r.json" >"$dir/report.md" 2>"$dir/bench.err"
rc=$?
[ $rc = 0 ] || { fail "reel bench exited $rc"; cat "$dir/bench.err"; }
[ -s "$dir/r.svg" ] || fail "no SVG chart beside the JSON"
grep -q '<svg' "$dir/r.svg" 2>/dev/null || fail "the chart is not SVG"
grep -q '^| *smoke' "$dir/report.md" || fail "the Markdown report has no row for the job"

python3 - "$dir/r.json" <<'PY' || fails=$((fails + 1))
import json, re, sys
r = json.load(open(sys.argv[1]))
bad = []
kinds = {s["kind"]: s for s in r["series"] if s["job"] == "smoke"}
for k in ("render", "compose", "floor", "decode"):
    s = kinds.get(k)
    if not s:
        bad.append("no %s series" % k)
        continue
    if s["failed"] or len(s["runs"]) != 2:
        bad.append("%s: failed or %d runs" % (k, len(s["runs"])))
    if s["frames"] != 60:
        bad.append("%s: %s frames, expected 60" % (k, s["frames"]))
    for run in s["runs"]:
        if not run["wall_s"] > 0 or not run["peak_rss_mb"] > 0:
            bad.append("%s: a run without wall time or RSS" % k)
st = kinds.get("render", {}).get("summary", {}).get("stages_s", {})
for stage in ("decode", "compose", "encode", "render", "total"):
    if not st.get(stage, {}).get("median", 0) > 0:
        bad.append("render: stage %s has no time" % stage)
# yuv420p output is composed in place: nothing is converted
if st.get("convert", {}).get("median", -1) != 0:
    bad.append("render: a conversion was timed for yuv420p output")
if not any(x["job"] == "smoke" and x["to"] == "floor" and len(x["pairs"]) == 2 for x in r["ratios"]):
    bad.append("no reel/floor ratio with two pairs")
# Decoding alone: the clip's frames, timed apart from the child's start, cheaper than the
# composition-only child that decodes them too, and part of the CPU split.
# The job shows 2 s of a 30 fps clip: at least its 60 frames are decoded.
dec = kinds.get("decode", {})
m = re.search(r"decoding (\d+) frames", dec.get("note", ""))
if not m or int(m.group(1)) < 60:
    bad.append("decode: not every frame shown was decoded: %r" % dec.get("note"))
split = [x for x in r.get("cpu_split", []) if x["job"] == "smoke"]
if len(split) != 1:
    bad.append("no CPU split for the job")
else:
    x = split[0]
    if not 0 < x.get("decode_cpu_s", 0) < x["compose_cpu_s"]:
        bad.append("split: decoding CPU %r not between 0 and composition's %r"
                   % (x.get("decode_cpu_s"), x["compose_cpu_s"]))
    if not x.get("decode_bound", 0) > 1:
        bad.append("split: no (floor + decoding) / floor")
if not r["machine"]["cores"] >= 1:
    bad.append("machine facts missing")
for b in bad:
    print("FAIL:", b)
sys.exit(1 if bad else 0)
PY

[ $fails = 0 ] && echo "bench smoke: ok" || echo "bench smoke: $fails failure(s)"
[ $fails = 0 ]
