# Sourced by the scripts in this folder: usage_args "$@" [-- NAME...]
# prints the calling script's header comment for -h/--help and exits 0,
# and refuses any other option, or more operands than the NAMEs after
# "--" (exit 2), so that a mistyped flag never starts a long run.
usage_args() {
  local names=() args=() a seen=0
  for a in "$@"; do
    if [ $seen = 1 ]; then names+=("$a"); continue; fi
    if [ "$a" = -- ]; then seen=1; continue; fi
    args+=("$a")
  done
  for a in "${args[@]+"${args[@]}"}"; do
    case $a in
      -h|--help)
        sed -n '2,/^[^#]/{/^#/{s/^# \{0,1\}//;p}}' "$0"
        exit 0 ;;
      -*)
        echo "scripts/$(basename "$0"): unknown option '$a' (try --help)" >&2
        exit 2 ;;
    esac
  done
  if [ ${#args[@]} -gt ${#names[@]} ]; then
    echo "scripts/$(basename "$0"): unexpected argument '${args[${#names[@]}]}' (try --help)" >&2
    exit 2
  fi
}
