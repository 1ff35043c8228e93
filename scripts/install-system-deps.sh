#!/usr/bin/env bash
# System packages the project uses, installed from Debian when we are root with apt:
# - libharfbuzz-subset0: WeasyPrint subsets fonts with HarfBuzz, 5-8x faster than the
#   fontTools fallback. Optional: without it everything works, more slowly.
# - chromium: Debian's browser, driven by Playwright in the web page's end-to-end tests
#   (tests/test_web_browser.py; Playwright never downloads a browser of its own). Needed
#   only for the tests: under CI they fail, loudly, when /usr/bin/chromium is missing.
# - calcurse: a calendar program that imports the patient's .ics file in tests/test_ics.py
#   (a parser other than the library that writes it). Tests only; under CI its absence fails.
set -u
need=()
ldconfig -p 2>/dev/null | grep -q 'libharfbuzz-subset\.so\.0' || need+=(libharfbuzz-subset0)
[ -x /usr/bin/chromium ] || need+=(chromium)
command -v calcurse >/dev/null 2>&1 || need+=(calcurse)
[ "${#need[@]}" -eq 0 ] && exit 0
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "installing ${need[*]} (Debian packages)" >&2
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}") >/dev/null 2>&1 \
    || echo "notice: could not install ${need[*]}: font subsetting falls back to fontTools (slower); browser tests need /usr/bin/chromium" >&2
else
  echo "notice: missing ${need[*]}; install with: apt-get install --no-install-recommends ${need[*]}" >&2
  echo "        (libharfbuzz-subset0: 5-8x faster rendering; chromium: the web page's browser tests)" >&2
fi
exit 0
