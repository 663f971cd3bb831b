#!/usr/bin/env bash
# A folder of hostile inputs: each problem is reported by name, the good
# files are stored, the run exits 0 (1 under --strict), and nothing crashes
# (this script also runs against the ASan/UBSan build).
set -euo pipefail
source "$RK_SRC/tests/e2e/lib.sh"

d="$tmp/hostile"
mkdir -p "$d/sub"
printf '# Good\n\nThe good file is about lighthouses.\n' > "$d/good.md"
head -c 4096 /dev/urandom > "$d/noise.txt"
printf 'binary\0data\0here' >> "$d/noise.txt"
: > "$d/empty.md"
printf 'caf\xe9 au lait, then \xff\xfe more text.\n' > "$d/latin1.txt"
# 50 MB on one line: numbered words, no newline and no sentence end.
awk 'BEGIN { for (i = 0; i < 4200000; i++) printf "word%07d ", i }' > "$d/oneline.txt"
printf '%%PDF-1.4\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n2 0 obj\n<< /Type /Pa' > "$d/truncated.pdf"
ln -s . "$d/sub/loop"
ln -s self "$d/self"
ln -s missing-target.md "$d/dangling.md"
printf 'Secret notes nobody may read.\n' > "$d/secret.txt"
chmod 000 "$d/secret.txt"

# Root reads any file, so the run goes through an unprivileged user there.
as_user=()
if [ "$(id -u)" -eq 0 ]; then
    chmod 777 "$tmp"
    chmod -R a+rX "$d"
    chmod 000 "$d/secret.txt"
    as_user=(setpriv --reuid=65534 --regid=65534 --clear-groups --)
fi

kb="$tmp/kb"
expect_rc 0 "hostile: the run succeeds" "${as_user[@]}" "$ingest" --kb "$kb" --json "$d"
expect_err_has "noise.txt: skipped (binary data" "hostile: binary file reported"
expect_err_has "empty.md: skipped (empty)" "hostile: empty file reported"
expect_err_has "latin1.txt: invalid UTF-8 at byte 3" "hostile: invalid UTF-8 reported with its offset"
expect_err_has "truncated.pdf" "hostile: truncated PDF reported"
expect_err_has "sub/loop: symlink loop" "hostile: folder symlink loop reported"
expect_err_has "self: symlink loop" "hostile: self-referencing symlink reported"
expect_err_has "dangling.md: broken symlink" "hostile: dangling symlink reported"
expect_err_has "secret.txt: cannot read: Permission denied" "hostile: unreadable file reported"
expect_err_lacks "AddressSanitizer" "hostile: no ASan report"
expect_err_lacks "runtime error" "hostile: no UBSan report"
expect_eq 3 "$(json_num docs_new out)" "hostile: good.md, latin1.txt and oneline.txt stored"
cp out summary

run "$ingest" ls --kb "$kb" --json
expect_eq 0 "$rc" "hostile: ls works"
grep oneline.txt out > oneline || true
chunks=$(json_num chunks oneline)
expect_eq 1 "$([ "${chunks:-0}" -ge 50400 ] && echo 1 || echo 0)" \
    "hostile: the 50 MB line is cut into chunks of at most 1000 characters ($chunks)"

expect_rc 1 "hostile --strict: exits 1" "${as_user[@]}" "$ingest" --kb "$tmp/kb-strict" --strict "$d"
expect_err_has "latin1.txt: invalid UTF-8 at byte 3 (refused: --strict)" "hostile --strict: invalid UTF-8 refused"
expect_err_has "failed (--strict); the others were stored" "hostile --strict: the error says the rest was stored"
run "$ingest" ls --kb "$tmp/kb-strict"
expect_out_has "good.md" "hostile --strict: good.md stored anyway"
finish
