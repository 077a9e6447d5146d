#!/usr/bin/env bash
# bench/gpu.sh --quick end to end: on a machine without a GPU it runs the gl engine on Mesa llvmpipe
# (installed by install-deps, so a missing llvmpipe is a failure; it skips only with
# REEL_TEST_NO_GL=1, as the other gl tests) and must say so; on a GPU it runs there. Either way the
# summary must carry every figure for both jobs.
# Usage: bench_gpu_quick.sh REEL SOURCE_DIR
set -uo pipefail
reel=$1
src=$2
dir=$(mktemp -d "${TMPDIR:-/tmp}/reel-gpu-quick.XXXXXX")
trap 'rm -rf "$dir"' EXIT
if [ "${REEL_TEST_NO_GL:-0}" = 1 ]; then
  echo "SKIP: REEL_TEST_NO_GL=1 (the gl engine is not to be tested here)"
  exit 77
fi
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }

"$src/bench/gpu.sh" --quick --reel "$reel" --out "$dir/gpu.md" >"$dir/stdout" 2>"$dir/stderr"
rc=$?
[ $rc = 0 ] || { fail "bench/gpu.sh --quick exited $rc"; cat "$dir/stderr"; }
[ -s "$dir/gpu.md" ] || fail "no summary written to --out"
cmp -s "$dir/stdout" "$dir/gpu.md" || fail "stdout is not the summary"

python3 - "$dir/gpu.md" "$dir/stderr" <<'PY' || fails=$((fails + 1))
import os, re, sys
if not os.path.exists(sys.argv[1]):
    sys.exit(1)  # already reported: no summary
md = open(sys.argv[1]).read()
err = open(sys.argv[2]).read()
bad = []
renderer = re.search(r"^- GL renderer: (.+)$", md, re.M)
if not renderer or renderer.group(1).strip() in ("", "?"):
    bad.append("no GL renderer named")
for key in ("GPU", "CPU", "EGL"):
    if not re.search(r"^- %s: \S" % key, md, re.M):
        bad.append("no %s line" % key)
if renderer and "llvmpipe" in renderer.group(1):
    if "NOTE: ran on llvmpipe" not in md or "NOTE: ran on llvmpipe" not in err:
        bad.append("ran on llvmpipe without saying so")
for job in ("w1-1080", "layers-1080"):
    row = re.search(r"^\| %s \|(.*)\|$" % re.escape(job), md, re.M)
    if not row:
        bad.append("no row for %s" % job)
        continue
    cells = [c.strip() for c in row.group(1).split("|")]
    # frames, compose fps, end-to-end fps, end-to-end s, floor fps, floor s, ratio, encoders
    if len(cells) != 8:
        bad.append("%s: %d cells, expected 8" % (job, len(cells)))
        continue
    try:
        nums = [float(c) for c in cells[:7]]
    except ValueError:
        bad.append("%s: a figure is not a number: %s" % (job, cells[:7]))
        continue
    if nums[0] != 3:
        bad.append("%s: %g frames, expected 3" % (job, nums[0]))
    if not all(v > 0 for v in nums):
        bad.append("%s: a figure is not positive: %s" % (job, cells[:7]))
    # end-to-end ÷ floor is the ratio of the two wall times shown, each rounded to its last
    # printed digit (a 0.06 s floor may be anything from 0.055 to 0.065)
    def half_ulp(cell):
        return 0.5 * 10 ** -(len(cell.split(".")[1]) if "." in cell else 0)
    e_r, e_f, e_q = half_ulp(cells[3]), half_ulp(cells[5]), half_ulp(cells[6])
    lo = (nums[3] - e_r) / (nums[5] + e_f) - e_q
    hi = (nums[3] + e_r) / max(nums[5] - e_f, 1e-9) + e_q
    if not lo <= nums[6] <= hi:
        bad.append("%s: ratio %g is not %g / %g" % (job, nums[6], nums[3], nums[5]))
    if not cells[7] or "/" not in cells[7]:
        bad.append("%s: encoders not named" % job)
for b in bad:
    print("FAIL:", b)
sys.exit(1 if bad else 0)
PY

if [ $fails = 0 ]; then
  echo "bench gpu quick: ok"
else
  echo "bench gpu quick: $fails failure(s)"
  cat "$dir/stdout"
fi
[ $fails = 0 ]
