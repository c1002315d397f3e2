#!/usr/bin/env bash
# Checks that manual pages render without a single warning and that their NAME section is
# recognised (what mandb and apropos index). Usage: check_manpages.sh PAGE...
set -uo pipefail

for tool in man groff lexgrog; do
  if ! command -v "$tool" >/dev/null; then
    echo "check_manpages: $tool is missing (scripts/install-deps.sh installs man-db and groff-base)" >&2
    exit 1
  fi
done

export LC_ALL=C.UTF-8 MANWIDTH=80 MANROFFSEQ=
failed=0
for page in "$@"; do
  # man-db's own pipeline, as a reader sees the page, with every groff warning enabled.
  from_man=$(man --warnings=all -l -E UTF-8 "$page" 2>&1 >/dev/null)
  # groff alone, every warning category, no output: catches what the pipeline might hide.
  from_groff=$(groff -man -ww -z -K utf8 "$page" 2>&1)
  if [[ -n $from_man || -n $from_groff ]]; then
    echo "$page: warnings while rendering:" >&2
    [[ -z $from_man ]] || echo "$from_man" >&2
    [[ -z $from_groff ]] || echo "$from_groff" >&2
    failed=1
  fi
  # lexgrog prints 'PAGE: "name - description"' and exits 0 when it finds the NAME section.
  if ! whatis=$(lexgrog "$page" 2>&1) || [[ $whatis != *': "'*' - '* ]]; then
    echo "$page: NAME section not recognised: $whatis" >&2
    failed=1
  else
    echo "$whatis"
  fi
done
exit "$failed"
