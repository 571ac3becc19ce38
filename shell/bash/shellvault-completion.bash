# shellcheck shell=bash
# shellvault: bash completion of `shellvault` and `with-role`, loaded by
# shellvault.bash (sourced from beside it, or appended by `shellvault init
# bash`). Commands, options and their values come from the generated block at
# the end (click's own definitions); profile names from shellvault's cache
# file, read with builtins. Candidates are quoted for the command line.
# shellcheck disable=SC2154 # __sv_opts and the rest: set by _shellvault_spec

# Commands, options and their values come from the generated block below;
# profile names from shellvault's cache files (shellvault/namecache.py: the
# names sorted by bytes, and the same names quoted for bash), read with
# builtins: no process per TAB. `shellvault hook bash` names the files (its
# prompt answer too) and rewrites them when the config file's mtime differs
# from the cache's.

# __sv_names: the names, kept in memory until the cache's header line changes;
# __sv_nhdr: that line. Returns 1 when there are no names.
_shellvault_profile_names() {
  local stale=1 hdr n i=0 q
  if [ "${AWS_CONFIG_FILE-}" = "${__sv_ccfor-}" ] && [ -n "${__sv_ccfg-}" ]; then
    [ -e "$__sv_ccfg" ] || return 1
    [ -e "$__sv_ccache" ] && ! [ "$__sv_ccfg" -nt "$__sv_ccache" ] &&
      ! [ "$__sv_ccfg" -ot "$__sv_ccache" ] && stale=
  fi
  [ -z "$stale" ] ||
    eval "$(command "${SHELLVAULT_BIN:-shellvault}" hook bash -- profiles </dev/null 2>/dev/null)"
  [ -r "${__sv_ccache-}" ] || return 1
  {
    IFS= read -r hdr || hdr=
    [ "$hdr" = "${__sv_nhdr-}" ] && return 0
    __sv_names=() __sv_nhdr=$hdr n=${hdr##* }
    case $n in '' | *[!0-9]*) return 1 ;; esac
    if ((BASH_VERSINFO[0] >= 4)); then
      mapfile -t -n "$n" __sv_names # bash>=4.0 (guarded)
    else
      while ((i < n)) && IFS= read -r q; do __sv_names[i]=$q i=$((i + 1)); done
    fi
  } <"$__sv_ccache"
  ((${#__sv_names[@]}))
}

# COMPREPLY=(profile names starting with $1, quoted for the command line: a
# name like `$(...)` or `my prof` is inserted as one literal word). The names
# are sorted by bytes: two binary searches find the range that starts with
# the prefix, and just those lines of the quoted file are read (quoted here
# with one printf if that file is not the same generation).
_shellvault_complete_profiles() {
  local LC_ALL=C # byte order for `<`, as the cache is sorted; in this function only
  local pre=${1#[\"\']} lo=0 hi mid first hdr q i
  pre=${pre//\\/}
  COMPREPLY=()
  _shellvault_profile_names || return 0
  hi=${#__sv_names[@]}
  while ((lo < hi)); do
    mid=$(((lo + hi) / 2))
    if [[ ${__sv_names[mid]} < $pre ]]; then lo=$((mid + 1)); else hi=$mid; fi
  done
  first=$lo hi=${#__sv_names[@]}
  while ((lo < hi)); do
    mid=$(((lo + hi) / 2))
    if [ "${__sv_names[mid]:0:${#pre}}" = "$pre" ]; then lo=$((mid + 1)); else hi=$mid; fi
  done
  ((lo > first)) || return 0
  {
    IFS= read -r hdr && [ "$hdr" = "$__sv_nhdr" ] &&
      if ((BASH_VERSINFO[0] >= 4)); then
        mapfile -t -s "$first" -n $((lo - first)) COMPREPLY # bash>=4.0 (guarded)
      else
        i=0
        while ((i < lo)) && IFS= read -r q; do
          ((i < first)) || COMPREPLY[${#COMPREPLY[@]}]=$q
          i=$((i + 1))
        done
      fi
  } 2>/dev/null <"${__sv_cquoted-}"
  if ((${#COMPREPLY[@]} != lo - first)); then
    COMPREPLY=()
    for ((i = first; i < lo; i++)); do COMPREPLY[${#COMPREPLY[@]}]=${__sv_names[i]}; done
    printf -v q '%q\n' "${COMPREPLY[@]}"
    IFS=$'\n' read -r -d '' -a COMPREPLY <<<"$q" || :
  fi
}

_shellvault_reply_words() { # $1 words, $2 current word
  local IFS=' ' w
  COMPREPLY=()
  for w in $1; do
    case $w in "$2"*) COMPREPLY[${#COMPREPLY[@]}]=$w ;; esac
  done
}

# Complete a command line that starts at word $1 (with-role's COMMAND,
# `shellvault exec PROFILE -- COMMAND`): bash-completion's machinery if it is
# loaded, else command names then file names.
_shellvault_complete_command_at() {
  local off=$1 cur=${COMP_WORDS[COMP_CWORD]}
  if declare -F _comp_command_offset >/dev/null 2>&1; then
    _comp_command_offset "$off"
  elif declare -F _command_offset >/dev/null 2>&1; then
    _command_offset "$off"
  elif [ "$COMP_CWORD" -eq "$off" ]; then
    local IFS=$'\n'
    # shellcheck disable=SC2207
    COMPREPLY=($(compgen -c -- "$cur"))
  else
    COMPREPLY=() # -o default: readline completes file names
  fi
}

_shellvault_complete() {
  local cur=${COMP_WORDS[COMP_CWORD]} path='' i=1 w n=0 kind
  COMPREPLY=()
  _shellvault_spec ''
  while [ "$i" -lt "$COMP_CWORD" ]; do
    w=${COMP_WORDS[i]}
    if [ "$w" = -- ]; then
      case " $__sv_args " in
        *' command '*) _shellvault_complete_command_at $((i + 1)) ;;
      esac
      return 0
    fi
    case " $__sv_vopts " in
      *" $w "*)
        if [ $((i + 1)) -eq "$COMP_CWORD" ]; then
          _shellvault_values "$path" "$w"
          _shellvault_reply_words "$__sv_vals" "$cur"
          return 0
        fi
        i=$((i + 2))
        continue
        ;;
    esac
    case $w in
      -*) ;;
      *)
        case " $__sv_subs " in
          *" $w "*)
            path=${path:+$path }$w
            _shellvault_spec "$path"
            ;;
          *) n=$((n + 1)) ;;
        esac
        ;;
    esac
    i=$((i + 1))
  done
  case $cur in
    -*) _shellvault_reply_words "$__sv_opts" "$cur" && return 0 ;;
  esac
  if [ -n "$__sv_subs" ]; then
    _shellvault_reply_words "$__sv_subs" "$cur"
    return 0
  fi
  # shellcheck disable=SC2086 # one word per positional
  set -- $__sv_args
  shift "$n" 2>/dev/null || set --
  kind=${1:-}
  case $kind in
    profile) _shellvault_complete_profiles "$cur" ;;
    choice)
      _shellvault_values "$path" "#$((n + 1))"
      _shellvault_reply_words "$__sv_vals" "$cur"
      ;;
  esac
  return 0
}

_shellvault_complete_with_role() {
  local cur=${COMP_WORDS[COMP_CWORD]} i=1 w
  COMPREPLY=()
  # Skip with-role's own options; the first other word is the profile.
  while [ "$i" -lt "$COMP_CWORD" ]; do
    w=${COMP_WORDS[i]}
    case $w in
      --region) i=$((i + 1)) ;;
      --) i=$((i + 1)) && break ;;
      -*) ;;
      *) break ;;
    esac
    i=$((i + 1))
  done
  if [ "$i" -ge "$COMP_CWORD" ]; then
    case $cur in
      -*) _shellvault_reply_words '--save --off --forget --server --region --help' "$cur" ;;
      *) _shellvault_complete_profiles "$cur" ;;
    esac
    return 0
  fi
  _shellvault_complete_command_at $((i + 1)) # after the profile: a command line
}

# >>> generated by `python -m shellvault.completion --write`: do not edit
__sv_commands='add auth clear doctor env exec export help import init list ls lock login passwd policy profiles remove rm role rotate sso unlock'
# _shellvault_spec PATH: __sv_subs (subcommands), __sv_opts, __sv_vopts (options
# that take a value), __sv_args (per positional: profile, choice, command or -)
_shellvault_spec() {
  __sv_subs='' __sv_opts='-h --help' __sv_vopts='' __sv_args=''
  case $1 in
    '') __sv_opts='--version -h --help' __sv_subs='add auth clear doctor env exec export help import init list ls lock login passwd policy profiles remove rm role rotate sso unlock' ;;
    'add') __sv_opts='--env --mfa-serial --region --no-mfa -y --yes -h --help' __sv_vopts='--mfa-serial --region' __sv_args='profile' ;;
    'auth') __sv_opts='--mfa-token --duration -h --help' __sv_vopts='--mfa-token --duration' __sv_args='profile' ;;
    'clear') __sv_opts='-h --help' __sv_args='profile' ;;
    'doctor') __sv_opts='--json -h --help' ;;
    'env') __sv_opts='--shell --unset --min-ttl --region --no-input --mfa-token --duration -h --help' __sv_vopts='--shell --min-ttl --region --mfa-token --duration' __sv_args='profile' ;;
    'exec') __sv_opts='--server --refresh-window --region --no-input --mfa-token --duration -h --help' __sv_vopts='--refresh-window --region --mfa-token --duration' __sv_args='profile command' ;;
    'export') __sv_opts='--format --region --no-input --mfa-token --duration -h --help' __sv_vopts='--format --region --mfa-token --duration' __sv_args='profile' ;;
    'help') __sv_opts='-h --help' __sv_args='-' ;;
    'import') __sv_opts='--from --force --remove-plaintext -h --help' __sv_vopts='--from' __sv_args='profile' ;;
    'init') __sv_opts='-h --help' __sv_args='choice' ;;
    'list') __sv_opts='--json -h --help' ;;
    'ls') __sv_opts='--json -h --help' ;;
    'lock') __sv_opts='-h --help' ;;
    'login') __sv_opts='--stdout --path --region --no-input --mfa-token --duration -h --help' __sv_vopts='--path --region --mfa-token --duration' __sv_args='profile' ;;
    'passwd') __sv_opts='-h --help' ;;
    'policy') __sv_opts='--trust --identity --user-arn --max-mfa-age --apply --mfa-token --using -h --help' __sv_vopts='--user-arn --max-mfa-age --mfa-token --using' __sv_args='profile' ;;
    'profiles') __sv_opts='-h --help' ;;
    'remove') __sv_opts='-f --force -h --help' __sv_args='profile' ;;
    'rm') __sv_opts='-f --force -h --help' __sv_args='profile' ;;
    'role') __sv_opts='-h --help' __sv_subs='add' ;;
    'role add') __sv_opts='--role-arn --from --region --mfa-serial -h --help' __sv_vopts='--role-arn --from --region --mfa-serial' __sv_args='-' ;;
    'rotate') __sv_opts='--no-input --mfa-token -h --help' __sv_vopts='--mfa-token' __sv_args='profile' ;;
    'sso') __sv_opts='-h --help' __sv_subs='login logout sync' ;;
    'sso login') __sv_opts='--no-browser --use-device-code -h --help' __sv_args='profile' ;;
    'sso logout') __sv_opts='-h --help' __sv_args='profile' ;;
    'sso sync') __sv_opts='--template --region --force --dry-run -h --help' __sv_vopts='--template --region' __sv_args='-' ;;
    'unlock') __sv_opts='-h --help' ;;
  esac
}

_shellvault_values() { # PATH --option|#N -> __sv_vals
  case "$1 $2" in
    'env --shell') __sv_vals='bash zsh sh fish powershell tcsh dotenv' ;;
    'export --format') __sv_vals='json env dotenv' ;;
    'import --from') __sv_vals='credentials aws-vault' ;;
    'init #1') __sv_vals='bash zsh fish direnv' ;;
    *) __sv_vals='' ;;
  esac
}
# <<< generated

if type complete >/dev/null 2>&1; then
  complete -o bashdefault -o default -F _shellvault_complete shellvault
  complete -o bashdefault -o default -F _shellvault_complete_with_role with-role
fi

