#!/bin/sh
# Builds the Debian package from this source tree, checks it with lintian (no errors), installs
# it with dpkg -i, checks where the files land and what they are, and purges it again.
# Usage: deb_package_test.sh SOURCE_DIR   (root; exit 77 otherwise)
set -eu
source_dir=$(cd "$1" && pwd)
if [ "$(id -u)" != 0 ]; then
    echo "deb_package_test: needs root (dpkg -i)"
    exit 77
fi
if dpkg -s vigil >/dev/null 2>&1; then
    echo "deb_package_test: a vigil package is installed already; not touching it" >&2
    exit 1
fi

# A fixed place, so that ccache finds the previous build's objects (same paths).
work=/var/tmp/vigil-deb-test
# The previous build folder (obj-*) is kept: with timestamps preserved, only what changed builds.
mkdir -p "$work/vigil"
find "$work/vigil" -mindepth 1 -maxdepth 1 ! -name 'obj-*' -exec rm -rf {} +
rm -f "$work"/vigil_*
# The files git knows of (as a source package would hold them), no build folders.
(cd "$source_dir" && git ls-files -z --cached --others --exclude-standard |
    xargs -0 cp --parents --preserve=timestamps -t "$work/vigil")
purge() { dpkg -P vigil >/dev/null 2>&1 || true; }
trap purge EXIT

cd "$work/vigil"
if command -v ccache >/dev/null; then
    export CMAKE_CXX_COMPILER_LAUNCHER=ccache
fi
DEB_BUILD_OPTIONS="parallel=${VIGIL_DEB_JOBS:-2}" dpkg-buildpackage -us -uc -b >"$work/build.log" 2>&1 ||
    { tail -40 "$work/build.log"; exit 1; }
deb=$(ls "$work"/vigil_*.deb)
changes=$(ls "$work"/vigil_*.changes)

lintian --fail-on error "$changes" | tee "$work/lintian.log"

dpkg -i "$deb"
fail() { echo "deb_package_test: $*" >&2; exit 1; }
check_file() { [ -e "$1" ] || fail "$1 missing"; }
check_file /usr/sbin/vigil
check_file /etc/vigil/vigil.toml
check_file /etc/vigil/conf.d/web.toml
check_file /usr/share/man/man8/vigil.8.gz
check_file /usr/share/man/man5/vigil.toml.5.gz
check_file /usr/share/doc/vigil/copyright
check_file /usr/share/doc/vigil/examples/vigil.toml
unit=$(ls /lib/systemd/system/vigil.service /usr/lib/systemd/system/vigil.service 2>/dev/null | head -1)
[ -n "$unit" ] || fail "vigil.service missing"
# Nothing outside the FHS places a package may use.
dpkg -L vigil | grep -Ev '^/(\.|usr(/(sbin|lib|share)(/.*)?)?|etc(/vigil(/.*)?)?|lib(/systemd(/.*)?)?)$' &&
    fail "files outside /usr/{sbin,lib,share}, /etc/vigil and /lib/systemd"
# /etc/vigil is the operator's: conffiles, kept on upgrade.
grep -qx /etc/vigil/vigil.toml /var/lib/dpkg/info/vigil.conffiles || fail "vigil.toml is not a conffile"
grep -qx /etc/vigil/conf.d/web.toml /var/lib/dpkg/info/vigil.conffiles || fail "web.toml is not a conffile"
/usr/sbin/vigil check -c /etc/vigil/vigil.toml
# The installed unit is the hardened one, with the installed paths.
cmp "$unit" "$work/vigil/obj-"*/vigil.service || fail "the installed unit differs from the built one"
grep -q '^ExecStart=/usr/sbin/vigil run -c /etc/vigil/vigil.toml$' "$unit" || fail "ExecStart"
grep -q '^CapabilityBoundingSet=CAP_NET_ADMIN CAP_NET_RAW' "$unit" || fail "not the hardened unit"
systemd-analyze security --offline=yes --threshold=35 "$unit" >/dev/null || fail "exposure above 3.5"
# Enabled, never started by the package.
if command -v systemctl >/dev/null && [ -d /run/systemd/system ]; then
    systemctl is-enabled vigil.service | grep -qx enabled || fail "not enabled"
    systemctl is-active vigil.service | grep -qx active && fail "started by the package"
else
    [ -L /etc/systemd/system/multi-user.target.wants/vigil.service ] || fail "not enabled"
fi

dpkg -P vigil
trap - EXIT
[ ! -e /usr/sbin/vigil ] || fail "/usr/sbin/vigil left after purge"
[ ! -e /etc/vigil/vigil.toml ] || fail "/etc/vigil left after purge"
echo "deb_package_test: OK ($(du -k "$deb" | cut -f1) KiB)"
