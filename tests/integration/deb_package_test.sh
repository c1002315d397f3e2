#!/bin/sh
# Builds the Debian package from this source tree (dpkg-buildpackage -us -uc -b), checks it with
# lintian (no error, no warning), installs it with dpkg -i, checks where the files land and what
# they are, then purges it and checks that nothing is left.
# Usage: deb_package_test.sh SOURCE_DIR   (root; exit 77 otherwise)
# VIGIL_DEB_JOBS: compile jobs (default: every CPU). The build uses ccache when it is installed,
# in CCACHE_DIR or ccache's own default (debhelper moves HOME, so the folder is passed on).
set -eu
source_dir=$(cd "$1" && pwd)
if [ "$(id -u)" != 0 ]; then
    echo "deb_package_test: needs root (dpkg -i)"
    exit 77
fi
fail() {
    echo "deb_package_test: $*" >&2
    exit 1
}
# The test installs and purges a package system-wide: it never touches a director's own files.
dpkg -s vigil >/dev/null 2>&1 && fail "a vigil package is installed already; not touching it"
for path in /etc/vigil /var/lib/vigil /var/log/vigil; do
    [ ! -e "$path" ] || fail "$path exists already; not touching it"
done

# A fixed place: the compile commands (and so ccache's keys) are the same from run to run.
work=/var/tmp/vigil-deb-test
rm -rf "$work"
mkdir -p "$work/vigil"
# The files git knows of (as a source package would hold them), no build folders.
(cd "$source_dir" && git ls-files -z --cached --others --exclude-standard |
    xargs -0 cp --parents -t "$work/vigil")
purge() { dpkg -P vigil >/dev/null 2>&1 || true; }
trap purge EXIT

cd "$work/vigil"
if command -v ccache >/dev/null; then
    export CMAKE_CXX_COMPILER_LAUNCHER=ccache
    CCACHE_DIR=${CCACHE_DIR:-$(ccache -k cache_dir)}
    export CCACHE_DIR
fi
started=$(date +%s)
DEB_BUILD_OPTIONS="parallel=${VIGIL_DEB_JOBS:-$(nproc)}" dpkg-buildpackage -us -uc -b \
    >"$work/build.log" 2>&1 || {
    tail -40 "$work/build.log"
    fail "dpkg-buildpackage failed (log: $work/build.log)"
}
echo "deb_package_test: package built in $(($(date +%s) - started)) s"
deb=$(ls "$work"/vigil_*.deb)
changes=$(ls "$work"/vigil_*.changes)

# Every tag shown (info and pedantic ones too); errors and warnings fail.
lintian --fail-on error,warning --display-info --pedantic "$changes" >"$work/lintian.log" 2>&1 || {
    cat "$work/lintian.log"
    fail "lintian reports errors or warnings"
}
cat "$work/lintian.log"

# What the package holds, read from the .deb itself before it is installed.
dpkg-deb -c "$deb" | awk '{print $6}' | sed 's,^\.,,; s,/$,,' | grep . >"$work/contents"
grep -Ev '^/(usr(/(sbin|share)(/.*)?)?|etc(/vigil)?|lib(/systemd(/system(/vigil\.service)?)?)?)$' \
    "$work/contents" && fail "files outside /usr/{sbin,share}, /etc/vigil and /lib/systemd/system"

# Which of those paths exist before the installation (shared folders): only they may stay.
while read -r path; do
    if [ -e "$path" ] || [ -L "$path" ]; then echo "$path"; fi
done <"$work/contents" >"$work/existed"

dpkg -i "$deb" >/dev/null
check_file() { [ -f "$1" ] || fail "$1 missing"; }
check_file /usr/sbin/vigil
[ -x /usr/sbin/vigil ] || fail "/usr/sbin/vigil is not executable"
check_file /usr/share/man/man8/vigil.8.gz
check_file /usr/share/man/man5/vigil.toml.5.gz
check_file /usr/share/doc/vigil/copyright
check_file /usr/share/doc/vigil/changelog.gz
for example in vigil.toml conf.d/web.toml conf.d/api-tls.toml; do
    cmp "/usr/share/doc/vigil/examples/$example" "$source_dir/etc/vigil/$example" ||
        fail "example $example is not the source tree's"
done
/usr/sbin/vigil version | grep -qx "vigil $(dpkg-query -W -f='${Version}' vigil)" ||
    fail "vigil version is not the package's version"
# The manual pages render without a warning, and are found by name.
for page in vigil.8 vigil.toml.5; do
    warnings=$(man --warnings -l "/usr/share/man/man${page##*.}/$page.gz" 2>&1 >/dev/null)
    [ -z "$warnings" ] || fail "man $page: $warnings"
done
man -w vigil.toml | grep -qx /usr/share/man/man5/vigil.toml.5.gz || fail "man vigil.toml not found"

# No configuration is shipped: /etc/vigil is the operator's, and holds nothing of the package's.
[ -d /etc/vigil ] || fail "/etc/vigil missing"
[ -z "$(ls -A /etc/vigil)" ] || fail "/etc/vigil is not empty: $(ls -A /etc/vigil)"
[ ! -s /var/lib/dpkg/info/vigil.conffiles ] || fail "conffiles: $(cat /var/lib/dpkg/info/vigil.conffiles)"
# The installed example is a valid configuration.
/usr/sbin/vigil check -c /usr/share/doc/vigil/examples/vigil.toml

# The unit on disk is the hardened one, with the installed paths.
unit=/lib/systemd/system/vigil.service
check_file "$unit"
cmp "$unit" "$work/vigil/debian/vigil/lib/systemd/system/vigil.service" ||
    fail "the installed unit differs from the built one"
grep -qx 'ExecStart=/usr/sbin/vigil run -c /etc/vigil/vigil.toml' "$unit" || fail "ExecStart"
grep -qx 'ConditionFileNotEmpty=/etc/vigil/vigil.toml' "$unit" || fail "no ConditionFileNotEmpty"
grep -qx 'CapabilityBoundingSet=CAP_NET_ADMIN CAP_NET_RAW CAP_SETUID CAP_SETGID CAP_KILL' "$unit" ||
    fail "not the hardened unit"
systemd-analyze security --offline=yes --threshold=35 "$unit" >/dev/null || fail "exposure above 3.5"
verify=$(systemd-analyze verify --man=yes "$unit" 2>&1) || fail "systemd-analyze verify: $verify"
[ -z "$verify" ] || fail "systemd-analyze verify: $verify"
# With no configuration the unit would be skipped; with one, it would run.
systemd-analyze condition 'ConditionFileNotEmpty=/etc/vigil/vigil.toml' >/dev/null 2>&1 &&
    fail "the unit would start with no /etc/vigil/vigil.toml"
cp /usr/share/doc/vigil/examples/vigil.toml /etc/vigil/vigil.toml
systemd-analyze condition 'ConditionFileNotEmpty=/etc/vigil/vigil.toml' >/dev/null 2>&1 ||
    fail "the unit would not start with a configuration"
rm /etc/vigil/vigil.toml

# Enabled at installation, never started by the package.
[ -L /etc/systemd/system/multi-user.target.wants/vigil.service ] || fail "not enabled"
# The maintainer scripts as they run under systemd: in a mount namespace of their own with
# /run/systemd/system present, and systemctl, deb-systemd-invoke and deb-systemd-helper replaced
# by programs that record their arguments.
mkdir -p "$work/shims"
for tool in systemctl deb-systemd-invoke deb-systemd-helper; do
    printf '#!/bin/sh\necho "%s $*" >>"%s"\n' "$tool" "$work/calls" >"$work/shims/$tool"
    chmod +x "$work/shims/$tool"
done
maintainer_script() { # maintainer_script NAME ARGS...: the calls it makes, one a line
    : >"$work/calls"
    script=/var/lib/dpkg/info/vigil.$1
    shift
    if [ -e "$script" ]; then
        unshare --mount --propagation private sh -c \
            'mount -t tmpfs tmpfs /run && mkdir -p /run/systemd/system && exec "$@"' \
            sh env PATH="$work/shims:$PATH" "$script" "$@"
    fi
    cat "$work/calls"
}
calls=$(maintainer_script postinst configure '')
echo "$calls" | grep -qx "deb-systemd-helper enable vigil.service" || fail "install: not enabled: $calls"
echo "$calls" | grep -q '^deb-systemd-invoke' && fail "install: started: $calls"
calls=$(maintainer_script postinst configure 0.0.1)
[ "$(echo "$calls" | grep '^deb-systemd-invoke')" = "deb-systemd-invoke try-restart vigil.service" ] ||
    fail "upgrade: not exactly a try-restart: $calls"
for script in preinst prerm; do
    calls=$(maintainer_script $script upgrade 0.1.0)
    if echo "$calls" | grep -q '^deb-systemd-invoke'; then fail "$script upgrade: $calls"; fi
done
calls=$(maintainer_script prerm remove)
[ "$(echo "$calls" | grep '^deb-systemd-invoke')" = "deb-systemd-invoke stop vigil.service" ] ||
    fail "remove: not stopped: $calls"

# Reinstalling the same package is quiet and changes nothing.
dpkg -i "$deb" >/dev/null

# What the daemon writes while it runs (systemd's StateDirectory= and LogsDirectory=), so that
# purge is seen to remove it.
mkdir -p /var/lib/vigil /var/log/vigil
echo '[]' >/var/lib/vigil/ipvs-owned-services
echo '{}' >/var/log/vigil/vigil.log
dpkg -P vigil >/dev/null
trap - EXIT
dpkg -s vigil >/dev/null 2>&1 && fail "still installed after purge"
left=
while read -r path; do
    [ -e "$path" ] || [ -L "$path" ] || continue
    if ! grep -qxF "$path" "$work/existed"; then left="$left $path"; fi
done <"$work/contents"
for path in /etc/vigil /var/lib/vigil /var/log/vigil \
    /etc/systemd/system/multi-user.target.wants/vigil.service \
    /var/lib/systemd/deb-systemd-helper-enabled/vigil.service.dsh-also \
    /var/lib/systemd/deb-systemd-helper-enabled/multi-user.target.wants/vigil.service; do
    if [ -e "$path" ] || [ -L "$path" ]; then left="$left $path"; fi
done
if ls /var/lib/dpkg/info/vigil.* >/dev/null 2>&1; then left="$left $(ls /var/lib/dpkg/info/vigil.*)"; fi
[ -z "$left" ] || fail "left after purge:$left"
echo "deb_package_test: OK ($(du -k "$deb" | cut -f1) KiB)"
