#!/usr/bin/env bash
# raft-ingest error handling: missing paths leave the KB as it was, invalid
# UTF-8 is a warning, empty files are skipped, re-runs are idempotent, usage
# errors exit 2.
set -euo pipefail
source "$RK_SRC/tests/e2e/lib.sh"

printf '# Alpha\n\nThe alpha turbine was built in 1901.\n\nIt ran on coal.\n' > a.md
printf 'Beta notes: the beta pump moved water uphill.\n' > b.txt
printf 'Gamma: a third document that only the failed run names.\n' > c.md
printf 'hello w\xffrld\n\nsecond paragraph here\n' > bad.txt
: > empty.txt
printf '  \n\t\n   \n' > blank.md

# --- a missing path fails the run and changes nothing -----------------------
kb="$tmp/kb"
must "$ingest" --kb "$kb" --quiet a.md b.txt
must "$index" stats --kb "$kb" --json
cp out stats_before

expect_rc 1 "missing path: ingest good + missing file fails" "$ingest" --kb "$kb" a.md c.md missing.md
expect_err_has "missing.md" "missing path: stderr names missing.md"
must "$index" stats --kb "$kb" --json
expect_same_file stats_before out "missing path: stats --json unchanged after the failed run (no build yet)"

must "$index" build --kb "$kb" --quiet
must "$index" stats --kb "$kb" --json
cp out stats_before
printf '# Alpha\n\nThe alpha turbine was rebuilt in 1950.\n' > a.md
expect_rc 1 "missing path: ingest changed + new + missing file fails" "$ingest" --kb "$kb" a.md c.md missing.md
must "$index" stats --kb "$kb" --json
expect_same_file stats_before out "missing path: stats --json (with index) unchanged after the failed run"
expect_rc 0 "missing path: later run without the missing file succeeds" "$ingest" --kb "$kb" --json a.md b.txt c.md
expect_eq 1 "$(json_num docs_new out)" "missing path: the failed run had not stored c.md (docs_new 1)"
expect_eq 1 "$(json_num docs_changed out)" "missing path: the failed run had not stored a.md's change (docs_changed 1)"

fresh="$tmp/fresh-kb"
expect_rc 1 "missing path: first run on a fresh KB fails" "$ingest" --kb "$fresh" a.md missing.md
expect_err_has "missing.md" "missing path: fresh KB run names missing.md"
run "$index" stats --kb "$fresh" --json
if [ "$rc" -eq 0 ]; then
    expect_eq 0 "$(json_num docs out)" "missing path: fresh KB stores no documents"
    expect_eq 0 "$(json_num chunks out)" "missing path: fresh KB stores no chunks"
else
    expect_err_has "no such KB directory" "missing path: fresh KB was not created at all"
fi

# --- invalid UTF-8 is a warning, the document is stored -----------------------
kb="$tmp/kb-utf8"
expect_rc 0 "invalid UTF-8: ingest bad.txt with a good file" "$ingest" --kb "$kb" b.txt bad.txt
expect_err_has "bad.txt" "invalid UTF-8: warning names bad.txt"
expect_err_has "byte 7" "invalid UTF-8: warning gives byte 7"
expect_err_has "warning" "invalid UTF-8: reported as a warning"
must "$index" stats --kb "$kb" --json
expect_eq 2 "$(json_num docs out)" "invalid UTF-8: both documents stored (docs 2)"

# --- empty and whitespace-only files are skipped ----------------------------
kb="$tmp/kb-empty"
expect_rc 0 "empty files: ingest with an empty and a blank file" "$ingest" --kb "$kb" --json b.txt empty.txt blank.md
expect_err_has "empty.txt: skipped (empty)" "empty files: note names empty.txt"
expect_err_has "blank.md: skipped (no text)" "empty files: note names whitespace-only blank.md"
expect_eq 2 "$(json_num files_skipped out)" "empty files: summary files_skipped 2"
must "$index" stats --kb "$kb" --json
expect_eq 1 "$(json_num docs out)" "empty files: docs count excludes them (docs 1)"

# --- re-running on unchanged files adds nothing -----------------------------
printf '# Alpha\n\nThe alpha turbine was built in 1901.\n\nIt ran on coal.\n' > a.md
kb="$tmp/kb-rerun"
must "$ingest" --kb "$kb" --quiet a.md b.txt c.md
must "$index" stats --kb "$kb" --json
cp out stats_before
docs=$(json_num docs stats_before)
expect_eq 3 "$docs" "re-run: first run stored 3 documents"
expect_rc 0 "re-run: ingest the same files again" "$ingest" --kb "$kb" --json a.md b.txt c.md
expect_eq 0 "$(json_num docs_new out)" "re-run: docs_new 0"
expect_eq 0 "$(json_num chunks_added out)" "re-run: chunks_added 0"
expect_eq "$docs" "$(json_num docs_unchanged out)" "re-run: docs_unchanged equals the number of docs"
must "$index" stats --kb "$kb" --json
expect_eq "$(json_num docs stats_before)" "$(json_num docs out)" "re-run: stats docs unchanged"
expect_eq "$(json_num chunks stats_before)" "$(json_num chunks out)" "re-run: stats chunks unchanged"
printf 'Beta notes: the beta pump now moves oil downhill.\n' > b.txt
expect_rc 0 "re-run: ingest after changing b.txt" "$ingest" --kb "$kb" --json a.md b.txt c.md
expect_eq 1 "$(json_num docs_changed out)" "re-run: docs_changed 1"
expect_eq 0 "$(json_num docs_new out)" "re-run: docs_new 0 after a change"
expect_eq 2 "$(json_num docs_unchanged out)" "re-run: docs_unchanged 2 after a change"

# --- usage errors -----------------------------------------------------------
expect_rc 2 "usage: unknown option --bogus" "$ingest" --bogus
expect_err_has "--help" "usage: --bogus prints a hint to --help"
expect_rc 2 "usage: --overlap equal to --chunk-size" "$ingest" --kb "$tmp/kb-usage" --overlap 100 --chunk-size 100 a.md
expect_err_has "overlap" "usage: the overlap error names --overlap"
expect_rc 2 "usage: missing --kb" "$ingest" a.md
expect_err_has "--kb" "usage: the error names --kb"
if [ -e "$tmp/kb-usage" ]; then
    fail "usage: $tmp/kb-usage was created by a run that exited 2"
else
    pass "usage: no KB created on a usage error"
fi

expect_rc 0 "help: --help" "$ingest" --help
expect_out_has "Example" "help: --help shows an Example"
expect_rc 0 "version: --version" "$ingest" --version
expect_out_has "raft-ingest" "version: --version names the program"

finish
