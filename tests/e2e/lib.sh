# Shared helpers for the end-to-end tests; each test_*.sh sources this file.
#
# Environment: RK_BIN (folder holding the raft-* executables) and RK_SRC
# (repository root). Sourcing it makes a temp dir $tmp (removed on exit), cds
# into it, and defines:
#
#   run CMD...                 run CMD, keep its exit code in $rc and its
#                              stdout/stderr in $tmp/out and $tmp/err
#   expect_rc N DESC CMD...    run CMD and check that it exits N
#   expect_out_has STR DESC    the last run's stdout contains STR
#   expect_err_has STR DESC    the last run's stderr contains STR
#   expect_err_lacks STR DESC  the last run's stderr does not contain STR
#   expect_eq WANT GOT DESC    two strings are equal
#   expect_same_file A B DESC  two files are byte-for-byte identical
#   json_num KEY FILE          the number after "KEY": in FILE (first one)
#   must CMD...                a setup step: any failure stops the test
#   finish                     print "N passed, M failed"; exit 1 if M > 0
#
# A failed check prints "FAIL: DESC" with what was expected and what came
# out, and the test goes on to the next check; `finish` makes it exit 1.

: "${RK_BIN:?RK_BIN must name the folder with the raft-* executables}"
: "${RK_SRC:?RK_SRC must name the repository root}"
RK_BIN=$(cd "$RK_BIN" && pwd)
RK_SRC=$(cd "$RK_SRC" && pwd)
ingest="$RK_BIN/raft-ingest"
index="$RK_BIN/raft-index"
assemble="$RK_BIN/raft-assemble"
for exe in "$ingest" "$index" "$assemble"; do
    [ -x "$exe" ] || { echo "setup: $exe is missing or not executable" >&2; exit 1; }
done

tmp=$(mktemp -d "${TMPDIR:-/tmp}/rk-e2e.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
cd "$tmp"

passed=0
failed=0
rc=0

pass() {
    passed=$((passed + 1))
    echo "ok: $1"
}

fail() {
    failed=$((failed + 1))
    echo "FAIL: $1" >&2
    shift
    local line
    for line in "$@"; do
        printf "%s\n" "$line" | sed "s/^/      /" >&2
    done
}

# Show the last run's output under a failed check, indented.
last_output() {
    echo "--- stdout:"
    sed 's/^/    /' "$tmp/out"
    echo "--- stderr:"
    sed 's/^/    /' "$tmp/err"
}

run() {
    rc=0
    "$@" >"$tmp/out" 2>"$tmp/err" || rc=$?
}

expect_rc() {
    local want=$1 desc=$2
    shift 2
    run "$@"
    if [ "$rc" -eq "$want" ]; then
        pass "$desc (exit $want)"
    else
        fail "$desc: expected exit $want, got $rc" "command: $*" "$(last_output)"
    fi
}

expect_out_has() {
    if grep -qF -- "$1" "$tmp/out"; then
        pass "$2"
    else
        fail "$2: stdout does not contain '$1'" "$(last_output)"
    fi
}

expect_err_has() {
    if grep -qF -- "$1" "$tmp/err"; then
        pass "$2"
    else
        fail "$2: stderr does not contain '$1'" "$(last_output)"
    fi
}

expect_err_lacks() {
    if grep -qF -- "$1" "$tmp/err"; then
        fail "$2: stderr contains '$1'" "$(last_output)"
    else
        pass "$2"
    fi
}

expect_eq() {
    if [ "$1" = "$2" ]; then
        pass "$3"
    else
        fail "$3: expected '$1', got '$2'"
    fi
}

expect_same_file() {
    if cmp -s -- "$1" "$2"; then
        pass "$3"
    else
        fail "$3: $1 and $2 differ" "$(diff -- "$1" "$2" | head -20)"
    fi
}

json_num() {
    grep -o "\"$1\":[0-9.eE+-]*" "$2" | head -n 1 | cut -d: -f2
}

must() {
    run "$@"
    if [ "$rc" -ne 0 ]; then
        echo "setup step failed (exit $rc): $*" >&2
        last_output >&2
        echo "$passed passed, $((failed + 1)) failed"
        exit 1
    fi
}

finish() {
    echo "$passed passed, $failed failed"
    [ "$failed" -eq 0 ]
}
