#!/usr/bin/env bash
# Debian packages the project uses, installed when we are root with apt.
#
#   scripts/install-system-deps.sh render   what rendering needs (`make render`)
#   scripts/install-system-deps.sh test     that, and what the tests need (`make test`)
#
# render:
# - libharfbuzz-subset0: WeasyPrint subsets fonts with HarfBuzz, 5-8x faster than the
#   fontTools fallback. Optional: without it everything works, more slowly.
# test (besides the above):
# - chromium: Debian's browser, driven by Playwright in the web page's end-to-end tests
#   (tests/web/test_browser*.py; Playwright never downloads a browser of its own). Under
#   CI those tests fail, loudly, when /usr/bin/chromium is missing.
# - calcurse: a calendar program that imports the patient's .ics file in tests/test_ics.py
#   (a parser other than the library that writes it). Under CI its absence fails.
# (The spreadsheet files the list tests read were made once by LibreOffice and are in
# tests/lists/; LibreOffice is needed only to remake them: tests/lists/make.sh.)
#
# apt waits for the package manager's lock (another install, unattended upgrades) for up
# to HANDOUTS_APT_TRIES x HANDOUTS_APT_WAIT seconds (default 120 x 5 s), saying so; when
# it fails, apt's own reason is printed. The script never fails the build: a missing
# package is a notice (rendering works without HarfBuzz; the tests say what they lack).
set -u
mode=${1:-test}
case "$mode" in
  render|test) ;;
  *) echo "usage: $0 render|test" >&2; exit 2 ;;
esac

need=()
ldconfig -p 2>/dev/null | grep -q 'libharfbuzz-subset\.so\.0' || need+=(libharfbuzz-subset0)
if [ "$mode" = test ]; then
  [ -x /usr/bin/chromium ] || need+=(chromium)
  command -v calcurse >/dev/null 2>&1 || need+=(calcurse)
fi
[ "${#need[@]}" -eq 0 ] && exit 0

why="libharfbuzz-subset0: 5-8x faster rendering; chromium and calcurse: the tests"
if [ "$(id -u)" != "0" ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "notice: missing ${need[*]}; install with: apt-get install --no-install-recommends ${need[*]}" >&2
  echo "        ($why)" >&2
  exit 0
fi

tries=${HANDOUTS_APT_TRIES:-120}
wait_s=${HANDOUTS_APT_WAIT:-5}
log=$(mktemp)
trap 'rm -f "$log"' EXIT

# apt-get with its output kept; while another process holds the package manager's lock,
# wait and try again (apt's own DPkg::Lock::Timeout does not cover `apt-get update`).
apt() {
  local i
  for ((i = 1; i <= tries; i++)); do
    if DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout="$wait_s" "$@" >"$log" 2>&1; then
      return 0
    fi
    if grep -qiE 'could not get lock|unable to acquire the dpkg|is held by process|unable to lock' "$log"; then
      [ "$i" -eq 1 ] && echo "waiting for the package manager's lock: $(grep -m1 -iE 'held by process|lock' "$log")" >&2
      sleep "$wait_s"
      continue
    fi
    return 1
  done
  echo "the package manager's lock was still held after $((tries * wait_s)) s" >&2
  return 1
}

echo "installing ${need[*]} (Debian packages, for $mode)" >&2
if apt update -qq && apt install -y -qq --no-install-recommends "${need[@]}"; then
  exit 0
fi
echo "notice: could not install ${need[*]} ($why); apt said:" >&2
grep -E '^(E|W|Err):' "$log" | tail -n 5 >&2 || true
grep -qE '^(E|W|Err):' "$log" || tail -n 5 "$log" >&2
exit 0
