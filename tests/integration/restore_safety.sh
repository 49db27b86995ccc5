#!/bin/sh
# A restore never writes outside its destination: symlinks planted in the
# destination are not followed, with --replace or without; awkward names
# (leading dashes, newlines) restore; a node sees and restores only its own
# data, even under the same path as another node's.
tid="restore safety"
. "$(dirname "$0")/lib.sh"

start_server SAFE || { fail "server starts"; finish; }
adm "register node na nodea-secret" >/dev/null
adm "register node nb nodeb-secret" >/dev/null

src="$T/data/tree"
out="$T/outside"
mkdir -p "$src/d" "$out"
printf 'inside d\n' > "$src/d/f"
printf 'top\n' > "$src/top.txt"
printf 'linked\n' > "$src/h1"
ln "$src/h1" "$src/h2"
printf 'victim\n' > "$out/victim"
cli na nodea-secret incremental "$src" > "$T/b1.out" 2>&1
check "backup of node A" test $? -eq 0

outside_untouched() {	# only the victim, unchanged
	test "$(ls -A "$out")" = "victim" && test "$(cat "$out/victim")" = "victim"
}

# A directory of the backup is a symlink to outside in the destination.
for replace in "" "--replace"; do
	dest="$T/dest-dir$replace"
	mkdir -p "$dest"
	ln -s "$out" "$dest/d"
	cli na nodea-secret restore "$src/" "$dest/" --subdir=yes $replace > "$T/rd$replace.out" 2>&1
	rc=$?
	check "restore ${replace:-without --replace} over a symlinked directory exits 4 or 12 ($rc)" \
	    test $rc -eq 4 -o $rc -eq 12
	check "restore ${replace:-without --replace}: nothing written through the symlink" outside_untouched
	check "restore ${replace:-without --replace}: the symlink is left alone" test -L "$dest/d"
	check "restore ${replace:-without --replace}: the entry is reported as not restored" \
	    grep -q "d/f.*not restored" "$T/rd$replace.out"
	check "restore ${replace:-without --replace}: the rest is restored" cmp "$src/top.txt" "$dest/top.txt"
done

# A file of the backup is a symlink to outside in the destination.
dest="$T/dest-file"
mkdir -p "$dest"
ln -s "$out/victim" "$dest/top.txt"
cli na nodea-secret restore "$src/" "$dest/" --subdir=yes > "$T/rf1.out" 2>&1
check "existing symlink without --replace: skipped, exit 4" test $? -eq 4
check "existing symlink without --replace: reported" grep -q "top.txt.*skipped" "$T/rf1.out"
check "existing symlink without --replace: target untouched" outside_untouched
cli na nodea-secret restore "$src/" "$dest/" --subdir=yes --replace > "$T/rf2.out" 2>&1
check "existing symlink with --replace: exit 0" test $? -eq 0
check "existing symlink with --replace: target untouched" outside_untouched
check "existing symlink with --replace: replaced by the file" sh -c "test ! -L '$dest/top.txt' && cmp '$src/top.txt' '$dest/top.txt'"

# A hard link whose first name is in the way (skipped) must not be linked
# to what is in the way: not to a symlink pointing outside, not to an
# unrelated file.
dest="$T/dest-hl1"
mkdir -p "$dest"
ln -s "$out/victim" "$dest/h1"
cli na nodea-secret restore "$src/" "$dest/" --subdir=yes > "$T/rh1.out" 2>&1
check "hard link beside a symlink in the way: no link to outside" test ! -L "$dest/h2"
check "hard link beside a symlink in the way: target untouched" outside_untouched
dest="$T/dest-hl2"
mkdir -p "$dest"
printf 'unrelated\n' > "$dest/h1"
cli na nodea-secret restore "$src/" "$dest/" --subdir=yes > "$T/rh2.out" 2>&1
check "hard link beside an unrelated file: file in the way kept" grep -q unrelated "$dest/h1"
check "hard link beside an unrelated file: not linked to it" \
    sh -c "test ! -e '$dest/h2' || ! grep -q unrelated '$dest/h2'"

# Names with leading dashes and newlines, as SRC and below it.
nl='
'
odd="$T/data/-odd${nl}src"
mkdir -p "$odd/-d${nl}x"
printf 'dash\n' > "$odd/-d${nl}x/-f${nl}y"
printf 'x' > "$odd/--"
printf 'y' > "$odd/-"
cli na nodea-secret incremental "$odd" > "$T/b2.out" 2>&1
check "backup of awkward names" test $? -eq 0
cli na nodea-secret restore "$odd/" "$T/r-odd/" --subdir=yes > "$T/ro.out" 2>&1
check "restore of a SRC with a leading dash and a newline exits 0" test $? -eq 0
check "awkward names restore identically" same_tree "$odd" "$T/r-odd"
( cd "$T/data" && cli na nodea-secret restore --subdir=yes -- "-odd${nl}src/" "$T/r-odd2/" ) > "$T/ro2.out" 2>&1
check "relative SRC starting with '-' after '--' exits 0" test $? -eq 0
check "relative SRC starting with '-' restores identically" same_tree "$odd" "$T/r-odd2"

# Two nodes: B sees and restores only its own data.
cli nb nodeb-secret --json query filespace > "$T/qfs-b0.json" 2>&1
check "node B sees no filespace before it backs up" grep -q '"rows":\[\]' "$T/qfs-b0.json"
cli nb nodeb-secret --json query backup "$src/" > "$T/qb-b.json" 2>&1
rc=$?
check "node B cannot list node A's files" sh -c "test $rc -ne 0 || grep -q '\"rows\":\[\]' '$T/qb-b.json'"
check "node B's listing names none of A's files" sh -c "! grep -q top.txt '$T/qb-b.json'"
cli nb nodeb-secret restore "$src/" "$T/r-b/" --subdir=yes > "$T/rb.out" 2>&1
rc=$?
check "node B's restore of node A's path fails ($rc)" test $rc -ne 0
check "node B's restore of node A's path writes nothing" test ! -e "$T/r-b/top.txt" -a ! -e "$T/r-b/d"

shared="$T/data/shared"
mkdir -p "$shared"
printf 'A owns this\n' > "$shared/who"
cli na nodea-secret incremental "$shared" > "$T/bs-a.out" 2>&1
cp -p "$shared/who" "$T/who-a"
printf 'B owns this\n' > "$shared/who"
printf 'only B\n' > "$shared/b-only"
cli nb nodeb-secret incremental "$shared" > "$T/bs-b.out" 2>&1
check "node B backs up the same path" test $? -eq 0
cli nb nodeb-secret --json query filespace > "$T/qfs-b1.json" 2>&1
check "node B sees one filespace, its own" python3 -c 'import json,sys
rows = json.load(open(sys.argv[1]))["rows"]
assert len(rows) == 1 and rows[0]["objects"] == 3, rows' "$T/qfs-b1.json"
cli na nodea-secret restore "$shared/" "$T/r-sa/" --subdir=yes > "$T/rsa.out" 2>&1
check "node A restores its own version of the shared path" cmp "$T/who-a" "$T/r-sa/who"
check "node A does not get node B's file" test ! -e "$T/r-sa/b-only"
cli nb nodeb-secret restore "$shared/" "$T/r-sb/" --subdir=yes > "$T/rsb.out" 2>&1
check "node B restores its own version of the shared path" grep -q "B owns this" "$T/r-sb/who"
cli nb nodeb-secret restore --inactive "$src/top.txt" "$T/r-b2/" > "$T/rb2.out" 2>&1
check "node B cannot get A's file with --inactive either" test ! -e "$T/r-b2/top.txt"
check "nothing was ever written outside" outside_untouched
stop_server
client_reports
finish
