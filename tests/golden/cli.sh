#!/usr/bin/env bash
# The command line itself: every command's -h/--help, option values and their environment
# variables, validate listing every problem, the log level of the encoder fallback, asset roots
# reached through symbolic links, and the job checks that must happen at validate time rather than
# mid-render. Usage: cli.sh REEL
set -uo pipefail
reel=$1
dir=$(mktemp -d "${TMPDIR:-/tmp}/reel-cli.XXXXXX")
trap 'rm -rf "$dir"' EXIT
fails=0 passes=0
pass() { passes=$((passes + 1)); }
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
show() { sed 's/^/    /' "$1" | head -20; }

# run NAME WANT_STATUS -- reel args...: stdout in $dir/NAME.out, stderr in $dir/NAME.err
run() {
  local name=$1 want=$2; shift 3
  "$reel" "$@" >"$dir/$name.out" 2>"$dir/$name.err"
  local st=$?
  if [ "$st" = "$want" ]; then pass; else fail "$name exited $st, expected $want"; show "$dir/$name.err"; fi
}
# expect NAME FILE REGEX [what]: FILE (out or err of NAME) matches REGEX
expect() {
  if grep -Eq -- "$3" "$dir/$1.$2"; then pass; else fail "$1: $2 lacks /$3/ ${4:-}"; show "$dir/$1.$2"; fi
}
expect_not() {
  if grep -Eq -- "$3" "$dir/$1.$2"; then fail "$1: $2 has /$3/ ${4:-}"; show "$dir/$1.$2"; else pass; fi
}

command -v ffmpeg >/dev/null || { echo "FAIL: the ffmpeg tool is needed (scripts/install-deps.sh)"; exit 1; }
ffmpeg -nostdin -loglevel error -y -f lavfi -i testsrc2=size=320x240:rate=10:duration=1 \
  -c:v libx264 -pix_fmt yuv420p "$dir/clip.mp4" || { echo "FAIL: cannot make a test clip"; exit 1; }
W='"output": { "width": 320, "height": 240, "fps": 10, "duration": 1 }'
printf '{ %s, "layers": [ { "type": "color", "color": "#123456" } ] }\n' "$W" > "$dir/ok.json"

# ---- help: every command, -h and --help and `reel help COMMAND`, exit 0, usage on stdout ----
run help_list 0 -- help
# The commands `reel help` lists (serve, worker and any later one included), plus those that must be.
cmds=$(sed -n '/^commands:/,/^$/p' "$dir/help_list.out" | awk 'NF && !/^commands:/ {print $1}')
for c in render frame validate probe bench; do
  echo "$cmds" | grep -qx "$c" && pass || fail "'reel help' does not list $c"
done
for c in $cmds; do
  for flag in --help -h; do
    run "help_${c}_$flag" 0 -- "$c" "$flag"
    expect "help_${c}_$flag" out "^usage: reel $c( |\$)" "(its own usage)"
    [ -s "$dir/help_${c}_$flag.err" ] && fail "reel $c $flag wrote to stderr" || pass
  done
  run "help_cmd_$c" 0 -- help "$c"
  cmp -s "$dir/help_cmd_$c.out" "$dir/help_${c}_--help.out" && pass \
    || fail "'reel help $c' differs from 'reel $c --help'"
done
# --help wins wherever it stands, even beside a job that does not exist or another option.
run help_late 0 -- render "$dir/nope.json" -o "$dir/x.mp4" --help
expect help_late out '^usage: reel render '
run help_frame_opts 0 -- frame "$dir/ok.json" --at 0 -h
expect help_frame_opts out '^usage: reel frame '
run help_top 0 -- --help
expect help_top out '^usage: reel <command>'
run help_unknown 2 -- help nope
expect help_unknown err "unknown command 'nope'"
run no_command 2 --
run unknown_command 2 -- nope

# ---- option values: a bad one is a usage error (2) naming the option; nothing is written ----
bad() { # NAME WHAT [VAR=VALUE...] -- [args...]: exit 2, stderr matches WHAT, no output file
  local name=$1 what=$2; shift 2
  local envs=()
  while [ "$1" != -- ]; do envs+=("$1"); shift; done
  shift
  env "${envs[@]}" "$reel" render "$dir/ok.json" -o "$dir/$name.mp4" "$@" >"$dir/$name.out" \
    2>"$dir/$name.err"
  local st=$?
  [ "$st" = 2 ] && pass || { fail "$name exited $st, expected 2"; show "$dir/$name.err"; }
  expect "$name" err "$what" "(the option and its value)"
  expect_not "$name" err "bad option"
  [ -e "$dir/$name.mp4" ] && fail "$name wrote a file" || pass
}
bad threads_abc "--threads wants .*'abc'" -- --threads abc
bad threads_neg "--threads wants .*'-3'" -- --threads -3
bad threads_frac "--threads wants .*'2.5'" -- --threads 2.5
bad threads_huge "--threads wants .*'99999999999'" -- --threads 99999999999
bad gpu_abc "--gpu wants .*'abc'" -- --gpu abc
bad gpu_neg "--gpu wants .*'-2'" -- --gpu -2
bad engine_bad "--engine wants .*'vulkan'" -- --engine vulkan
bad encoder_bad "--encoder wants .*'x265'" -- --encoder x265
bad progress_bad "--progress wants .*'xml'" -- --progress=xml
bad loglevel_bad "--log-level wants .*'loud'" -- --log-level loud
bad logformat_bad "--log-format wants .*'yaml'" -- --log-format yaml
bad data_bad "--data wants KEY=VALUE, got 'novalue'" -- --data novalue
bad at_bad "--at wants .*'soon'" -- --at soon
bad unknown_opt "unknown option '--colour'" -- --colour red
bad missing_value "option '--threads' needs a value" -- --threads
# The same through the environment: the variable is named.
bad badenv_threads "REEL_THREADS wants .*'abc'" REEL_THREADS=abc --
bad badenv_threads_neg "REEL_THREADS wants .*'-3'" REEL_THREADS=-3 --
bad badenv_gpu "REEL_GPU wants .*'abc'" REEL_GPU=abc --
bad badenv_engine "REEL_ENGINE wants .*'vulkan'" REEL_ENGINE=vulkan --
bad badenv_encoder "REEL_ENCODER wants .*'x'" REEL_ENCODER=x --
bad badenv_progress "REEL_PROGRESS wants .*'xml'" REEL_PROGRESS=xml --
bad badenv_loglevel "REEL_LOG_LEVEL wants .*'loud'" REEL_LOG_LEVEL=loud --
bad badenv_logformat "REEL_LOG_FORMAT wants .*'yaml'" REEL_LOG_FORMAT=yaml --
bad badenv_data "REEL_DATA wants KEY=VALUE, got 'oops'" REEL_DATA=oops --
bad badenv_at "REEL_AT wants .*'soon'" REEL_AT=soon --
run probe_extra 2 -- probe extra
run gpu_auto 0 -- validate "$dir/ok.json" --gpu auto --threads 0

# ---- every option works from its environment variable ----
run_env() { # NAME WANT -- VAR=... -- reel args
  local name=$1 want=$2; shift 3
  local envs=()
  while [ "$1" != -- ]; do envs+=("$1"); shift; done
  shift
  env "${envs[@]}" "$reel" "$@" >"$dir/$name.out" 2>"$dir/$name.err"
  local st=$?
  [ "$st" = "$want" ] && pass || { fail "$name exited $st, expected $want"; show "$dir/$name.err"; }
}
run_env env_progress 0 -- REEL_PROGRESS=json -- render "$dir/ok.json" -o "$dir/p.mp4"
expect env_progress out '"frames_done":10,"frames_total":10' "(REEL_PROGRESS=json)"
run_env env_progress_flag 0 -- REEL_PROGRESS=json -- render "$dir/ok.json" -o "$dir/p2.mp4" --progress none
[ -s "$dir/env_progress_flag.out" ] && fail "--progress none did not win over REEL_PROGRESS" || pass
run_env env_output 0 -- REEL_OUTPUT="$dir/env-out.mp4" -- render "$dir/ok.json"
[ -s "$dir/env-out.mp4" ] && pass || fail "REEL_OUTPUT did not name the output"
run_env env_stats 0 -- REEL_STATS_JSON="$dir/stats.json" -- render "$dir/ok.json" -o "$dir/s.mp4"
python3 -c 'import json,sys; sys.exit(0 if json.load(open(sys.argv[1]))["frames"] == 10 else 1)' \
  "$dir/stats.json" 2>/dev/null && pass || fail "REEL_STATS_JSON wrote no stats"
printf '{ %s, "layers": [ { "type": "color", "color": "{{c}}" } ] }\n' "$W" > "$dir/merge.json"
run_env env_data 0 -- "REEL_DATA=x=1
c=#ff0000" -- validate "$dir/merge.json"
run_env env_data_flag 1 -- "REEL_DATA=c=#ff0000" -- validate "$dir/merge.json" --data c=red
expect env_data_flag err 'layers\[0\]\.color: invalid_job' "(--data wins over REEL_DATA)"
run_env env_at 0 -- REEL_AT=0.5 -- frame "$dir/ok.json" -o "$dir/f.png"
[ -s "$dir/f.png" ] && pass || fail "REEL_AT did not give the frame's time"
run_env env_engine 0 -- REEL_ENGINE=cpu -- render "$dir/ok.json" -o "$dir/e.mp4"
expect env_engine err '\[engine cpu,' "(REEL_ENGINE=cpu)"
run_env env_encoder 0 -- REEL_ENCODER=vaapi REEL_OUTPUT="$dir/v.mp4" -- render "$dir/ok.json" --encoder software
run_env env_encoder_only 0 -- REEL_ENCODER=software -- render "$dir/ok.json" -o "$dir/sw.mp4"
expect env_encoder_only err 'encoder libx264' "(REEL_ENCODER=software)"
run_env env_threads 0 -- REEL_THREADS=1 REEL_GPU=0 -- validate "$dir/ok.json"
run_env env_loglevel 0 -- REEL_LOG_LEVEL=debug -- render "$dir/ok.json" -o "$dir/d.mp4"
expect env_loglevel err ' debug ' "(REEL_LOG_LEVEL=debug)"
run_env env_logformat 0 -- REEL_LOG_FORMAT=json REEL_LOG_LEVEL=info -- render "$dir/ok.json" -o "$dir/j.mp4"
expect env_logformat err '^\{".*"level":"info"' "(REEL_LOG_FORMAT=json)"
mkdir -p "$dir/elsewhere" "$dir/jobs"
cp "$dir/clip.mp4" "$dir/elsewhere/far.mp4"
printf '{ %s, "layers": [ { "type": "video", "src": "far.mp4" } ] }\n' "$W" > "$dir/jobs/far.json"
run_env env_roots 0 -- REEL_ASSET_ROOT="$dir/nothing:$dir/elsewhere" -- validate "$dir/jobs/far.json"
run no_roots 1 -- validate "$dir/jobs/far.json"

# ---- validate lists every problem: one does not hide another ----
printf '{ %s, "layers": [ { "type": "video", "src": "missing.mp4", "colour": "#fff" }, { "type": "image", "src": "gone.png" }, { "type": "text", "text": "Hello world", "font_size": 4320 }, { "type": "text", "text": "fine" } ] }\n' "$W" > "$dir/many.json"
run every_problem 1 -- validate "$dir/many.json"
expect every_problem err '^layers\[0\]\.colour: unknown_field: '
expect every_problem err '^layers\[0\]\.src: asset_not_found: .*missing\.mp4'
expect every_problem err '^layers\[1\]\.src: asset_not_found: .*gone\.png'
expect every_problem err '^layers\[2\]\.text: limit_exceeded: .*16384'
expect_not every_problem err '^layers\[3\]'
run every_problem_render 1 -- render "$dir/many.json" -o "$dir/many.mp4"
expect every_problem_render err '2 more problems' "(render counts the asset problems too)"
printf '{ "layers": [] ' > "$dir/broken.json"
run document_problem 1 -- validate "$dir/broken.json"
expect document_problem err '^\(document\): invalid_json: '

# ---- jobs that used to pass validate and fail mid-render, or pass with a string cut short ----
cp "$dir/clip.mp4" "$dir/jobs/clip.mp4"
printf '{ %s, "layers": [ { "type": "video", "src": "clip.mp4", "width": 1e-6, "height": 1 } ] }\n' "$W" > "$dir/jobs/sliver.json"
run sliver_box 1 -- validate "$dir/jobs/sliver.json"
expect sliver_box err '^layers\[0\]\.width: invalid_job: '
printf '{ %s, "layers": [ { "type": "text", "text": "%s", "max_width": 1 } ] }\n' "$W" \
  "$(printf 'w %.0s' $(seq 400))" > "$dir/tall.json"
run tall_text 1 -- validate "$dir/tall.json"
expect tall_text err '^layers\[0\]\.text: limit_exceeded: .*16384 px'
printf '{ %s, "layers": [ { "type": "video", "src": "clip.mp4\\u0000../../etc/passwd" } ] }\n' "$W" > "$dir/jobs/nul.json"
run nul_escape 1 -- validate "$dir/jobs/nul.json"
expect nul_escape err '^layers\[0\]\.src: invalid_job: .*\\u0000'
printf '{ "output": { "duration": 3600.0000004 }, "layers": [] }\n' > "$dir/long.json"
run unrounded 1 -- validate "$dir/long.json"
expect unrounded err 'output\.duration: limit_exceeded: 3600\.0000004 is over the limit of 3600$'
printf '{ %s, "layers": [], "k\xff\x01": 1 }\n' "$W" > "$dir/rawkey.json"
run raw_key 1 -- validate "$dir/rawkey.json"
expect raw_key err 'k\\xFF\\x01'
if LC_ALL=C grep -q $'\xff' "$dir/raw_key.err"; then fail "raw_key: the raw byte was echoed"; else pass; fi

# ---- the encoder fallback: expected on a host without NVENC/VAAPI, so info, not warn ----
"$reel" probe >"$dir/probe.out" 2>/dev/null
run fallback_auto 0 -- render "$dir/ok.json" -o "$dir/auto.mp4" --encoder auto
expect_not fallback_auto err ' warn .*encoder' "(the expected fallback is not a warning)"
run fallback_info 0 -- render "$dir/ok.json" -o "$dir/auto2.mp4" --log-level info
for fam in nvenc vaapi; do
  if grep -Eq "^  h264_$fam .*not usable" "$dir/probe.out"; then
    expect fallback_info err " info .*encoder h264_$fam unavailable: .*; trying " "(said at info)"
    run "fallback_named_$fam" 1 -- render "$dir/ok.json" -o "$dir/named.mp4" --encoder "$fam"
    expect "fallback_named_$fam" err " warn .*encoder h264_$fam unavailable" "(asked for by name: warn)"
  else
    echo "note: h264_$fam is usable here; its fallback cases do not apply"
  fi
done

# ---- asset roots: a link into another configured root is fine, out of every root is not ----
mkdir -p "$dir/proj" "$dir/shared" "$dir/private"
cp "$dir/clip.mp4" "$dir/shared/clip.mp4"
cp "$dir/clip.mp4" "$dir/private/clip.mp4"
ln -s ../shared/clip.mp4 "$dir/proj/linked.mp4"
ln -s ../private/clip.mp4 "$dir/proj/escape.mp4"
printf '{ %s, "layers": [ { "type": "video", "src": "linked.mp4" } ] }\n' "$W" > "$dir/proj/linked.json"
printf '{ %s, "layers": [ { "type": "video", "src": "escape.mp4" } ] }\n' "$W" > "$dir/proj/escape.json"
run link_other_root 0 -- validate "$dir/proj/linked.json" --asset-root "$dir/shared"
run link_no_root 1 -- validate "$dir/proj/linked.json"
expect link_no_root err 'leaves its root'
run link_outside 1 -- validate "$dir/proj/escape.json" --asset-root "$dir/shared"
expect link_outside err "^layers\[0\]\.src: asset_not_found: .*leaves its root"

echo "cli: $passes passed, $fails failed"
[ "$fails" = 0 ]
