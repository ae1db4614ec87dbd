#!/usr/bin/env bash
# What a Linux user expects of installed programs (issue 16, item 9), checked against the programs themselves:
# --version of both; man pages corehomectl(1), corehomed(8), corehomed.yaml(5) that name every verb, option
# and configuration key the binaries and the configuration loader know, render without warnings, and whose
# example configuration loads; bash completions that offer exactly the verbs and options of --help; the
# tmpfiles.d entry creating the configuration and state directories with the modes the code gives them, on
# which a device then works; and meson installing all of it.
set -euo pipefail
corehomectl="$BUILD_DIR/agent/corehomectl"
corehomed="$BUILD_DIR/agent/corehomed"
man_dir="$BUILD_DIR/man"
completion_dir="$SOURCE_DIR/shell-completion"
tmpfiles_conf="$SOURCE_DIR/systemd/corehomed.tmpfiles"
trust="$FIXTURES_DIR/trust"
scratch=$(mktemp -d /tmp/corehomed-conventions.XXXXXX)
trap 'rm -rf "$scratch"' EXIT
now=--now=2026-11-25T10:00:00Z
passed=0

fail() {
        echo "FAIL: $*"
        exit 1
}
ok() {
        echo "ok: $*"
        passed=$((passed + 1))
}

version=$(meson introspect "$BUILD_DIR" --projectinfo | python3 -c 'import json,sys; print(json.load(sys.stdin)["version"])')

# --- --version ---
for prog in corehomectl corehomed; do
        out=$("$BUILD_DIR/agent/$prog" --version) || fail "$prog --version exited $?"
        [ "$out" = "$prog $version" ] || fail "$prog --version printed '$out', expected '$prog $version'"
done
ok "corehomectl --version and corehomed --version print '<name> $version'"

# --- what the binaries say they know ---
# The verbs: the first word of each "  VERB ..." line of the Commands section of corehomectl --help.
"$corehomectl" --help | sed -n '/^Commands:/,/^$/ { s/^  \([a-z][a-z-]*\).*/\1/p }' | sort >"$scratch/verbs"
[ "$(wc -l <"$scratch/verbs")" -ge 15 ] || fail "corehomectl --help lists only: $(tr '\n' ' ' <"$scratch/verbs")"
# options FILE: the long options ("--name", without "=VALUE") of the option lines of a --help text.
options() { grep -oE '^  (-[a-z], )?--[a-z-]+' "$1" | sed 's/^.*--/--/' | sort -u; }
"$corehomectl" --help >"$scratch/help"
options "$scratch/help" >"$scratch/global-options"
"$corehomed" --help >"$scratch/corehomed-help"
options "$scratch/corehomed-help" >"$scratch/corehomed-options"
[ "$(wc -l <"$scratch/corehomed-options")" -ge 6 ] || fail "corehomed --help: options: $(cat "$scratch/corehomed-options")"
while read -r verb; do
        "$corehomectl" "$verb" --help >"$scratch/help-$verb" || fail "corehomectl $verb --help exited $?"
        # The usage line's options ("--key=NAME", "[--account=ID]") and the option lines.
        { options "$scratch/help-$verb"; sed -n '1s/^Usage: [^]]*\]\] \[--json\] //p' "$scratch/help-$verb" |
                grep -oE -- '--[a-z-]+' || true; } | sort -u | grep -vx -- '--help' >"$scratch/options-$verb" || true
done <"$scratch/verbs"
[ -s "$scratch/options-sign" ] && [ -s "$scratch/options-import" ] || fail "no options found for sign or import"
# The configuration keys: the names of agent/config/config.c's key tables ({ "KEY", parse_... }).
grep -oE '\{ "[a-z-]+", parse_' "$SOURCE_DIR/agent/config/config.c" | sed 's/{ "\(.*\)", parse_/\1/' |
        sort -u >"$scratch/config-keys"
[ "$(wc -l <"$scratch/config-keys")" -ge 20 ] || fail "config keys: $(tr '\n' ' ' <"$scratch/config-keys")"

# --- man pages ---
roff() { sed 's/-/\\-/g' <<<"$1"; }        # how a name is written in roff: hyphens escaped
roff_re() { sed 's/-/\\\\-/g' <<<"$1"; } # the same as a regular expression
for page in corehomectl.1 corehomed.8 corehomed.yaml.5; do
        MANWIDTH=80 man --warnings -l "$man_dir/$page" >"$scratch/rendered" 2>"$scratch/warnings" ||
                fail "man -l $page exited $?: $(cat "$scratch/warnings")"
        [ ! -s "$scratch/warnings" ] || fail "man -l $page warns: $(cat "$scratch/warnings")"
        grep -q "^NAME" "$scratch/rendered" || fail "man -l $page rendered no NAME section"
done
ok "man --warnings -l renders the three pages without a warning"

# The example of corehomed.yaml(5) is a configuration the loader takes.
d="$scratch/example"
mkdir -p "$d/etc/corehomed/trusted" "$d/sys/class/dmi/id"
echo SN-0001 >"$d/sys/class/dmi/id/product_serial"
echo 0123456789abcdef0123456789abcdef >"$d/etc/machine-id"
sed -n '/^\.SH EXAMPLE/,/^\.fi/p' "$man_dir/corehomed.yaml.5" | sed '1,/^\.RS/d; /^\.RE/,$d; s/\\-/-/g' \
        >"$d/etc/corehomed/corehomed.yaml"
grep -q '^device:' "$d/etc/corehomed/corehomed.yaml" || fail "no example found in corehomed.yaml.5"
"$corehomectl" --root="$d" status >"$scratch/out" 2>&1 || fail "the example of corehomed.yaml.5: $(cat "$scratch/out")"
grep -q 'SN-0001' "$scratch/out" || fail "status of the example does not show its serial: $(cat "$scratch/out")"
ok "the example of corehomed.yaml(5) loads (status shows the serial it reads from DMI)"

# --- the README: its usage names every verb, its device recipe the device owner's deny and allow ---
sed -n '/^## Usage/,/^## /p' "$SOURCE_DIR/README.md" >"$scratch/readme-usage"
while read -r verb; do
        grep -qE "^  $verb( |$)" "$scratch/readme-usage" || fail "README.md's usage does not list $verb"
done <"$scratch/verbs"
sed -n '/^## A device in/,/^## /p' "$SOURCE_DIR/README.md" >"$scratch/readme-recipe"
for verb in deny allow; do
        grep -qE "^corehomectl $verb " "$scratch/readme-recipe" || fail "README.md's device recipe does not show $verb"
done
ok "README.md lists the $(wc -l <"$scratch/verbs") verbs; its device recipe shows deny and allow"

# --- bash completion ---
# complete SCRIPT WORD...: what the completion offers for the last WORD, one per line, sorted.
complete_words() {
        local script=$1
        shift
        bash --norc --noprofile -c '
                source "$1"; shift
                fn=$(complete -p "$1" | sed "s/.*-F \([^ ]*\) .*/\1/")
                COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1))
                "$fn"
                printf "%s\n" "${COMPREPLY[@]}"' _ "$script" "$@" | sed '/^$/d' | sort -u
}
PATH="$BUILD_DIR/agent:$PATH"
complete_words "$completion_dir/corehomectl.bash" corehomectl "" >"$scratch/completed"
diff -u "$scratch/verbs" "$scratch/completed" >"$scratch/diff" ||
        fail "the completion's verbs differ from corehomectl --help (- help, + completion): $(cat "$scratch/diff")"
complete_words "$completion_dir/corehomectl.bash" corehomectl --root=/tmp --json "" >"$scratch/completed"
diff -q "$scratch/verbs" "$scratch/completed" >/dev/null || fail "after global options, the verbs are not offered"
complete_words "$completion_dir/corehomectl.bash" corehomectl -- | sed 's/=$//' >"$scratch/completed"
diff -u "$scratch/global-options" "$scratch/completed" >"$scratch/diff" ||
        fail "the completion's global options differ from --help: $(cat "$scratch/diff")"
while read -r verb; do
        complete_words "$completion_dir/corehomectl.bash" corehomectl "$verb" -- | sed 's/=$//' |
                grep -vx -- '--help' >"$scratch/completed" || true
        diff -u "$scratch/options-$verb" "$scratch/completed" >"$scratch/diff" ||
                fail "the completion's options of $verb differ from $verb --help: $(cat "$scratch/diff")"
done <"$scratch/verbs"
complete_words "$completion_dir/corehomed.bash" corehomed -- | sed 's/=$//' >"$scratch/completed"
diff -u "$scratch/corehomed-options" "$scratch/completed" >"$scratch/diff" ||
        fail "corehomed's completion differs from corehomed --help: $(cat "$scratch/diff")"
ok "bash completion offers exactly the verbs and options of --help (corehomectl, each verb, corehomed)"

# --- installed by meson ---
meson introspect "$BUILD_DIR" --installed >"$scratch/installed"
for want in /man1/corehomectl.1 /man8/corehomed.8 /man5/corehomed.yaml.5 \
        /bash-completion/completions/corehomectl /bash-completion/completions/corehomed \
        /tmpfiles.d/corehomed.conf; do
        grep -qF "$want\"" "$scratch/installed" || fail "meson does not install $want: $(cat "$scratch/installed")"
done
ok "meson installs the three man pages, both completions and tmpfiles.d/corehomed.conf"

# --- tmpfiles.d ---
command -v systemd-tmpfiles >/dev/null || fail "systemd-tmpfiles is not installed (make deps installs systemd)"
# A tree made by corehomectl alone: the directories the code creates, with its modes.
new_device() { # new_device DIR: acme/appliance-1 trusting the test root, with alice's stick
        mkdir -p "$1/etc/corehomed/trusted" "$1/stick"
        cp "$trust/trusted/root.assert" "$1/etc/corehomed/trusted/"
        echo 0123456789abcdef0123456789abcdef >"$1/etc/machine-id"
        printf 'device:\n  brand-id: acme\n  model: appliance-1\n' >"$1/etc/corehomed/corehomed.yaml"
        cp "$trust/stick.assert" "$1/stick/auto-import.assert"
}
code="$scratch/by-code"
new_device "$code"
"$corehomectl" --root="$code" "$now" import-media "$code/stick" >"$scratch/out" 2>&1 ||
        fail "import-media: $(cat "$scratch/out")"
t="$scratch/by-tmpfiles"
mkdir -p "$t"
systemd-tmpfiles --root="$t" --create "$tmpfiles_conf" >"$scratch/out" 2>&1 ||
        fail "systemd-tmpfiles --create: $(cat "$scratch/out")"
n=0
while read -r type path mode user group _; do
        [ "$type" = d ] || continue
        [ -d "$t$path" ] || fail "tmpfiles did not create $path"
        got=$(stat -c '%a %U %G' "$t$path")
        [ "$got" = "${mode#0} $user $group" ] || fail "$path: $got, the entry says $mode $user $group"
        # Where the code made the same directory, it gave it the same mode.
        if [ -d "$code$path" ] && [ "$path" != /etc/corehomed/trusted ]; then
                [ "$(stat -c %a "$code$path")" = "${mode#0}" ] ||
                        fail "$path: the code makes it $(stat -c %a "$code$path"), tmpfiles $mode"
        fi
        n=$((n + 1))
done < <(grep -v '^#' "$tmpfiles_conf")
[ "$n" -ge 3 ] || fail "only $n directories in $tmpfiles_conf"
for path in /etc/corehomed/trusted /var/lib/corehomed; do
        grep -qE "^d $path " "$tmpfiles_conf" || fail "$tmpfiles_conf has no entry for $path"
done
# Every directory the code made below /var/lib/corehomed (one level) has its entry.
for dir in "$code"/var/lib/corehomed/*/; do
        path=${dir#"$code"}
        path=${path%/}
        grep -qE "^d $path " "$tmpfiles_conf" || fail "the code makes $path; $tmpfiles_conf has no entry"
done
ok "systemd-tmpfiles --root --create makes $n directories, with the modes of the code"

# A device whose directories came from tmpfiles works, and applying the entry again changes nothing.
new_device "$t"
"$corehomectl" --root="$t" status >"$scratch/out" 2>&1 || fail "status: $(cat "$scratch/out")"
"$corehomectl" --root="$t" "$now" import-media "$t/stick" >"$scratch/out" 2>&1 ||
        fail "import-media on the tmpfiles tree: $(cat "$scratch/out")"
[ -f "$t/var/lib/systemd/home/alice.identity" ] || fail "import-media did not create alice"
(cd "$t" && find var/lib/corehomed -printf '%p %m\n' | sort) >"$scratch/before"
systemd-tmpfiles --root="$t" --create "$tmpfiles_conf" >"$scratch/out" 2>&1 ||
        fail "systemd-tmpfiles --create again: $(cat "$scratch/out")"
(cd "$t" && find var/lib/corehomed -printf '%p %m\n' | sort) >"$scratch/after"
diff -u "$scratch/before" "$scratch/after" || fail "applying the entry again changed the state"
"$corehomectl" --root="$t" "$now" list | grep -q '^alice ' || fail "alice is gone after tmpfiles ran again"
ok "a device on the tmpfiles tree imports a stick; applying the entry again changes nothing"

# The completion of USER: the users of that root for deny, the denied names for allow.
words() { complete_words "$completion_dir/corehomectl.bash" corehomectl --root="$t" "$@" | tr '\n' ' '; }
[ "$(words deny "")" = "alice " ] || fail "deny completes '$(words deny "")', expected alice"
[ "$(words allow "")" = "" ] || fail "allow completes '$(words allow "")' while nobody is denied"
"$corehomectl" --root="$t" "$now" deny alice >"$scratch/out" 2>&1 || fail "deny: $(cat "$scratch/out")"
[ "$(words allow "")" = "alice " ] || fail "allow completes '$(words allow "")', expected alice"
[ "$(words inspect "")" = "" ] || fail "inspect completes '$(words inspect "")' after alice was denied"
ok "bash completion offers the users of --root=DIR for deny, the denied names for allow"

echo "$passed checks passed"
