# Shared by scripts/gen-media.sh and bench/gen-media.sh; sourced, not run. The sourcing script sets
#   me (its name in messages), default_dir (where media goes without DIR), help (its header's
#   line range, for --help)
# and passes its arguments through: [--force] [DIR]. Afterwards: $force, $dir (created, with
# clips/ and images/), ff (quiet ffmpeg, overwriting), $bitexact (no metadata or version strings),
# and gen OUT CMD... (run CMD, which writes OUT.tmp.EXT, unless OUT exists; renamed when done so an
# interrupted run never leaves a truncated file that later runs would keep).

force=0
dir=""
for arg in "$@"; do
    case "$arg" in
    --force | -f) force=1 ;;
    -h | --help)
        sed -n "${help}p" "$0" | sed 's/^# \{0,1\}//'
        exit 0
        ;;
    -*)
        echo "$me: unknown option $arg" >&2
        exit 2
        ;;
    *) dir="$arg" ;;
    esac
done
if [ -z "$dir" ]; then
    dir="$default_dir"
fi

if ! command -v ffmpeg >/dev/null 2>&1; then
    echo "$me: the ffmpeg command is needed to generate media (apt-get install ffmpeg)" >&2
    exit 1
fi
mkdir -p "$dir/clips" "$dir/images"

ff() {
    ffmpeg -nostdin -hide_banner -loglevel error -y "$@"
}
bitexact="-map_metadata -1 -fflags +bitexact -flags:v +bitexact -flags:a +bitexact"

gen() {
    out="$1"
    shift
    if [ "$force" -eq 0 ] && [ -s "$out" ]; then
        return 0
    fi
    tmp="${out%.*}.tmp.${out##*.}"
    "$@" "$tmp"
    mv -f "$tmp" "$out"
    echo "$me: wrote $out"
}
