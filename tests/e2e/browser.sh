# A page checked in a real browser: Debian's chromium, headless, offline.
# Sourced by e2e tests after lib.sh (it uses $tmp).
#
#   check_in_browser HTML_FILE SCREENSHOT_PNG
#
# loads HTML_FILE twice, once to print its DOM and once to take a screenshot
# (1280x2400), and returns non-zero, with each problem on stderr, when
#   - chromium fails, times out (60 s a run) or writes no DOM or screenshot;
#   - the page logs anything to the console: chromium's log line carries no
#     level for a web page (it passes levels through only for its own
#     chrome:// pages), and a page without script gets console messages only
#     from the browser reporting a problem (a load blocked by the page's
#     Content-Security-Policy, a parse error), so every message counts;
#   - the page asks for anything but file:, data:, about:, blob: or chrome:
#     URLs, by any means (a subresource, a navigation such as a meta
#     refresh): every URL in chromium's net log counts, except those of the
#     requests chromium starts for itself (no initiator, and a network
#     isolation key that is not the file:// page's). In chromium 156 two such
#     requests survive every switch below: the sign-in cookie check
#     (accounts.google.com/ListAccounts) and a component update check;
#     --host-resolver-rules keeps them, and anything else, off the network.
# Sets browser_dom (the DOM, for callers to grep) and browser_dir (the
# profile, net logs and chromium's stderr of this call).
#
# RK_CHROMIUM names another chromium binary.

browser_runs=0

# Chromium with everything that would talk to the network, or wait for a
# person, turned off; "$@" adds what one run does.
_chromium() {
    local args=(
        --headless --disable-gpu --hide-scrollbars --mute-audio --force-color-profile=srgb
        --user-data-dir="$browser_dir/profile" --no-first-run --no-default-browser-check
        --disable-background-networking --disable-component-update --disable-default-apps
        --disable-sync --disable-extensions --disable-breakpad --disable-domain-reliability
        --disable-client-side-phishing-detection --safebrowsing-disable-auto-update
        --metrics-recording-only --password-store=basic
        --disable-features=NetworkTimeServiceQuerying,OptimizationHints,Translate,MediaRouter
        --host-resolver-rules="MAP * ~NOTFOUND"
        --enable-logging=stderr --v=0
    )
    # The sandbox needs an unprivileged user; as root chromium refuses to
    # start with it.
    [ "$(id -u)" -eq 0 ] && args+=(--no-sandbox)
    timeout -k 5 60 "${RK_CHROMIUM:-chromium}" "${args[@]}" "$@"
}

# Problems in one run's stderr ($1) and net log ($2), one per line.
_browser_problems() {
    local log=$1 netlog=$2 own url
    # [pid:tid:time:INFO:CONSOLE:3] "message", source: file:///... (3)
    # (older chromium: INFO:CONSOLE(3)).
    grep -E ':CONSOLE[:(]' "$log" | sed 's/^[^]]*] */console: /' || true
    [ -s "$netlog" ] || {
        echo "no net log written"
        return
    }
    # The net log holds one event per line. The start of a request names its
    # initiator and network isolation key; chromium's own requests have no
    # initiator and a key that is not the file:// page's.
    own=$(grep '"initiator":"not an origin"' "$netlog" | grep -v '"network_isolation_key":"file://' |
        grep -o '"url":"[^"]*"' | sort -u || true)
    # Every other URL the log names, started or not, is the page's.
    { grep -o '"url":"[^"]*"' "$netlog" || true; } | sort -u | while IFS= read -r url; do
        case "$url" in
        '"url":"file:'* | '"url":"data:'* | '"url":"about:'* | '"url":"blob:'* | '"url":"chrome:'*) continue ;;
        esac
        printf '%s\n' "$own" | grep -qxF -- "$url" || echo "network request: $(printf '%s' "$url" | cut -d'"' -f4)"
    done
    return 0
}

check_in_browser() {
    local html=$1 png=$2 bad=0 problems rc
    browser_runs=$((browser_runs + 1))
    browser_dir="$tmp/browser.$browser_runs"
    browser_dom="$browser_dir/dom.html"
    rm -rf "$browser_dir"
    mkdir -p "$browser_dir"
    [ -f "$html" ] || {
        echo "check_in_browser: $html: no such file" >&2
        return 1
    }
    command -v "${RK_CHROMIUM:-chromium}" >/dev/null || {
        echo "check_in_browser: ${RK_CHROMIUM:-chromium} not found (make deps installs chromium)" >&2
        return 1
    }
    local url
    # A file: URL, with what would end or escape its path percent-encoded.
    url="file://$(printf '%s/%s' "$(cd "$(dirname "$html")" && pwd)" "$(basename "$html")" |
        sed 's/%/%25/g; s/ /%20/g; s/#/%23/g; s/?/%3F/g')"
    rm -f "$png"

    rc=0
    _chromium --log-net-log="$browser_dir/dom.netlog.json" --dump-dom "$url" \
        >"$browser_dom" 2>"$browser_dir/dom.stderr" || rc=$?
    if [ "$rc" -ne 0 ]; then
        echo "check_in_browser: chromium --dump-dom exited $rc ($([ "$rc" -ge 124 ] && echo "timed out, ")see $browser_dir/dom.stderr)" >&2
        bad=1
    elif ! grep -qi '<html' "$browser_dom"; then
        echo "check_in_browser: chromium printed no DOM" >&2
        bad=1
    fi
    problems=$(_browser_problems "$browser_dir/dom.stderr" "$browser_dir/dom.netlog.json")

    # A second profile: the first run's state must not hide the second's
    # requests, and the screenshot run is checked the same way.
    rc=0
    mv "$browser_dir/profile" "$browser_dir/profile.dom" 2>/dev/null || true
    _chromium --log-net-log="$browser_dir/shot.netlog.json" --window-size=1280,2400 --screenshot="$png" "$url" \
        >"$browser_dir/shot.stdout" 2>"$browser_dir/shot.stderr" || rc=$?
    if [ "$rc" -ne 0 ]; then
        echo "check_in_browser: chromium --screenshot exited $rc ($([ "$rc" -ge 124 ] && echo "timed out, ")see $browser_dir/shot.stderr)" >&2
        bad=1
    elif [ "$(head -c 8 "$png" 2>/dev/null | od -An -tx1 | tr -d ' \n')" != 89504e470d0a1a0a ]; then
        echo "check_in_browser: no PNG screenshot at $png" >&2
        bad=1
    fi
    problems=$(printf '%s\n%s\n' "$problems" \
        "$(_browser_problems "$browser_dir/shot.stderr" "$browser_dir/shot.netlog.json")" | sed '/^$/d' | sort -u)
    if [ -n "$problems" ]; then
        printf '%s\n' "$problems" | while IFS= read -r line; do
            printf 'check_in_browser: %s: %s\n' "$html" "$line"
        done >&2
        bad=1
    fi
    return "$bad"
}
