# shellcheck shell=bash
# shellvault: bash integration.
#
#   eval "$(shellvault init bash)"            # in ~/.bashrc
#   source /path/to/shell/bash/shellvault.bash  # same thing, no Python at start-up
#
# Gives: a prompt segment ($SHELLVAULT_PROMPT_SEGMENT / shellvault_prompt),
# auto-refresh of credentials near expiry, `with-role` (one command, or a
# directory tree), and TAB completion of shellvault's commands and profiles.
#
# Rules this file keeps (tests check them):
#   * bash 3.2 (macOS) syntax only; newer features behind version checks
#     (lines marked `# bash>=X.Y`).
#   * no process per prompt while credentials are valid: the hook uses only
#     builtins until something must change (refresh, directory scope).
#   * $? survives the hook; works under `set -u`; sourcing twice installs once.
#
# User settings (all optional, read at every prompt):
#   SHELLVAULT_PROMPT_FORMAT     default 'aws:{profile} {ttl}'; tokens {profile}
#                                {account} {ttl} {region}
#   SHELLVAULT_PROMPT_COLOR      SGR colour while valid        (default 32)
#   SHELLVAULT_PROMPT_WARN_COLOR SGR colour near expiry        (default 33)
#   SHELLVAULT_PROMPT_EXPIRED_COLOR SGR colour once expired    (default 31)
#                                (empty value: no colour escape at all)
#   SHELLVAULT_PROMPT_EXPIRED_TEXT  {ttl} once expired         (default expired)
#   SHELLVAULT_PROMPT_WARN       seconds left that count as "near expiry"
#                                (default: SHELLVAULT_REFRESH_WITHIN)
#   SHELLVAULT_PROMPT_AUTO       1: put the segment in front of PS1 for you
#   SHELLVAULT_REFRESH_WITHIN    refresh when fewer seconds than this are left
#                                (default 300; 0 turns auto-refresh off)
#   SHELLVAULT_BIN               the shellvault command (default: shellvault)

[ -n "${BASH_VERSION:-}" ] || return 0

# ------------------------------------------------------------------ state
# Every AWS variable a session may set or a stale one may leave behind: what
# with-role's directory scopes save and restore.
__sv_vars=(AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN AWS_SECURITY_TOKEN
  AWS_CREDENTIAL_EXPIRATION AWS_SESSION_EXPIRATION AWS_REGION AWS_DEFAULT_REGION
  AWS_PROFILE AWS_DEFAULT_PROFILE SHELLVAULT_PROFILE SHELLVAULT_ACCOUNT SHELLVAULT_EXPIRES)

# Initialised only when unset, so that sourcing the file again keeps the state.
: "${SHELLVAULT_PROMPT_SEGMENT=}"
: "${__sv_seen_pwd=}" "${__sv_seen_cred=}" "${__sv_seen_diff=}" "${__sv_owner=shell}"
: "${__sv_failed_key=}" "${__sv_failed_stamp=}" "${__sv_short_exp=}" "${__sv_short_within=0}"
: "${__sv_direnv_wait=}"
: "${__sv_nsess=0}" "${__sv_noff=0}" "${__sv_nsaved=0}"
: "${__sv_active_dir=}" "${__sv_active_prof=}" "${__sv_active_src=}"
: "${__sv_cache_prof=}" "${__sv_cache_exp=}" "${__sv_wr_depth=0}"
__sv_plain=
__sv_state=

# How to read the clock without a process: bash 5 has $EPOCHSECONDS; bash 4.2+
# has printf's %(...)T; bash 3.2 takes `date +%s` once, then counts $SECONDS.
__sv_printf_time=0
if ((BASH_VERSINFO[0] > 4 || (BASH_VERSINFO[0] == 4 && BASH_VERSINFO[1] >= 2))); then
  __sv_printf_time=1
fi

_shellvault_now() {
  if [ -n "${EPOCHSECONDS:-}" ]; then
    __sv_now=$EPOCHSECONDS
  elif [ "$__sv_printf_time" = 1 ]; then
    printf -v __sv_now '%(%s)T' -1 # bash>=4.2 (guarded by __sv_printf_time)
  else
    if [ -z "${__sv_clock_base:-}" ]; then
      __sv_clock_base=$(command date +%s)
      __sv_clock_base=$((__sv_clock_base - SECONDS))
    fi
    __sv_now=$((__sv_clock_base + SECONDS))
  fi
}

_shellvault_bin() {
  __sv_bin=${SHELLVAULT_BIN:-shellvault}
}

_shellvault_int() { # $1 value, $2 default -> __sv_int
  case ${1:-} in
    '' | *[!0-9]*) __sv_int=$2 ;;
    *) __sv_int=$1 ;;
  esac
}

# ------------------------------------------------------------------ prompt
_shellvault_fmt_ttl() { # $1 seconds left -> __sv_ttl
  local left=$1 h m
  if ((left <= 0)); then
    __sv_ttl=${SHELLVAULT_PROMPT_EXPIRED_TEXT-expired}
  elif ((left < 60)); then
    __sv_ttl="${left}s"
  elif ((left < 3600)); then
    __sv_ttl="$((left / 60))m"
  else
    h=$((left / 3600))
    m=$(((left % 3600) / 60))
    ((m < 10)) && m="0$m"
    __sv_ttl="${h}h${m}m"
  fi
}

# Sets SHELLVAULT_PROMPT_SEGMENT (colours wrapped in \001..\002 for readline),
# __sv_plain (no colour) and __sv_state (''|ok|warn|expired). Builtins only.
_shellvault_render() {
  local prof=${SHELLVAULT_PROFILE:-} exp=${SHELLVAULT_EXPIRES:-} left=0 warn color
  local fmt rest out tok val def='aws:{profile} {ttl}'
  if [ -z "$prof" ]; then
    SHELLVAULT_PROMPT_SEGMENT=
    __sv_plain=
    __sv_state=
    return 0
  fi
  __sv_ttl=
  __sv_state=ok
  case $exp in
    '' | *[!0-9]*) ;;
    *)
      _shellvault_now
      left=$((exp - __sv_now))
      _shellvault_int "${SHELLVAULT_REFRESH_WITHIN:-}" 300
      _shellvault_int "${SHELLVAULT_PROMPT_WARN:-}" "$__sv_int"
      warn=$__sv_int
      if ((left <= 0)); then
        __sv_state=expired
      elif ((left <= warn)); then
        __sv_state=warn
      fi
      _shellvault_fmt_ttl "$left"
      ;;
  esac
  # {token} substitution without ${var//pat/rep}: its replacement text is
  # interpreted differently across bash versions (patsub_replacement in 5.2).
  fmt=${SHELLVAULT_PROMPT_FORMAT-$def}
  rest=$fmt
  out=
  while :; do
    case $rest in
      *'{'*'}'*) ;;
      *) break ;;
    esac
    out=$out${rest%%'{'*}
    rest=${rest#*'{'}
    tok=${rest%%'}'*}
    case $tok in
      profile) val=$prof ;;
      account) val=${SHELLVAULT_ACCOUNT:-} ;;
      ttl) val=$__sv_ttl ;;
      region) val=${AWS_REGION:-${AWS_DEFAULT_REGION:-}} ;;
      *)
        out="$out{"
        continue
        ;;
    esac
    out=$out$val
    rest=${rest#*'}'}
  done
  out=$out$rest
  # Trailing blanks left by an empty token ("aws:x " without a ttl).
  while :; do
    case $out in
      *' ') out=${out%' '} ;;
      *) break ;;
    esac
  done
  __sv_plain=$out
  case $__sv_state in
    warn) color=${SHELLVAULT_PROMPT_WARN_COLOR-33} ;;
    expired) color=${SHELLVAULT_PROMPT_EXPIRED_COLOR-31} ;;
    *) color=${SHELLVAULT_PROMPT_COLOR-32} ;;
  esac
  if [ -n "$color" ]; then
    SHELLVAULT_PROMPT_SEGMENT=$'\001\e['"$color"$'m\002'"$out"$'\001\e[0m\002'
  else
    SHELLVAULT_PROMPT_SEGMENT=$out
  fi
}

# shellvault_prompt [--plain|--ansi]: print the segment. In PS1 prefer
# '${SHELLVAULT_PROMPT_SEGMENT}' (kept current by the hook, no subshell);
# "$(shellvault_prompt)" costs a fork per prompt.
shellvault_prompt() {
  _shellvault_render
  case ${1:-} in
    --plain) printf '%s' "$__sv_plain" ;;
    --ansi)
      local c
      case $__sv_state in
        warn) c=${SHELLVAULT_PROMPT_WARN_COLOR-33} ;;
        expired) c=${SHELLVAULT_PROMPT_EXPIRED_COLOR-31} ;;
        *) c=${SHELLVAULT_PROMPT_COLOR-32} ;;
      esac
      if [ -n "$c" ] && [ -n "$__sv_plain" ]; then
        printf '\033[%sm%s\033[0m' "$c" "$__sv_plain"
      else
        printf '%s' "$__sv_plain"
      fi
      ;;
    *) printf '%s' "$SHELLVAULT_PROMPT_SEGMENT" ;;
  esac
}

_shellvault_auto_place() {
  case ${PS1-} in
    *SHELLVAULT_PROMPT_SEGMENT*) return 0 ;;
  esac
  # shellcheck disable=SC2016 # expanded by bash when it draws the prompt
  PS1='${SHELLVAULT_PROMPT_SEGMENT:+$SHELLVAULT_PROMPT_SEGMENT }'"${PS1-}"
}

# ------------------------------------------------------------------ variables
# _shellvault_save PREFIX: copy the AWS variables into PREFIX_set/PREFIX_val/
# PREFIX_attr (arrays indexed like __sv_vars).
_shellvault_save() {
  local p=$1 i=0 n v attr
  for n in "${__sv_vars[@]}"; do
    if [ -n "${!n+x}" ]; then
      v=${!n}
      attr=x
      if ((BASH_VERSINFO[0] > 4 || (BASH_VERSINFO[0] == 4 && BASH_VERSINFO[1] >= 4))); then
        eval 'attr=${!n@a}' # bash>=4.4 (guarded above): keep the export flag
      fi
      eval "${p}_set[$i]=1; ${p}_val[$i]=\$v; ${p}_attr[$i]=\$attr"
    else
      eval "${p}_set[$i]=0; ${p}_val[$i]=; ${p}_attr[$i]="
    fi
    i=$((i + 1))
  done
}

# _shellvault_restore PREFIX: make the AWS variables exactly what was saved.
_shellvault_restore() {
  local p=$1 i=0 n s v a
  for n in "${__sv_vars[@]}"; do
    eval "s=\${${p}_set[$i]:-0}; v=\${${p}_val[$i]:-}; a=\${${p}_attr[$i]:-x}"
    if [ "$s" = 1 ]; then
      case $a in
        *x*) export "$n=$v" ;;
        *)
          unset "$n"
          printf -v "$n" '%s' "$v"
          ;;
      esac
    else
      unset "$n"
    fi
    i=$((i + 1))
  done
}

_shellvault_unset_all() {
  local n
  for n in "${__sv_vars[@]}"; do
    unset "$n"
  done
}

# Remember that the variables now in the environment were put there by us.
_shellvault_mark_ours() {
  __sv_seen_cred="${SHELLVAULT_PROFILE:-}:${SHELLVAULT_EXPIRES:-}"
  __sv_owner=plugin
}

# Who put the current credentials there? direnv (its diff changed at the same
# time, while a .envrc is loaded) or the user / this plugin. Builtins only.
_shellvault_attribute() {
  local cur="${SHELLVAULT_PROFILE:-}:${SHELLVAULT_EXPIRES:-}"
  if [ "$cur" != "$__sv_seen_cred" ]; then
    if [ -n "${DIRENV_DIR:-}" ] && [ "${DIRENV_DIFF:-}" != "$__sv_seen_diff" ]; then
      __sv_owner=direnv
    else
      __sv_owner=shell
    fi
    __sv_seen_cred=$cur
  fi
  __sv_seen_diff=${DIRENV_DIFF:-}
}

# ------------------------------------------------------------------ refresh
_shellvault_stamp() { # $1 profile -> __sv_stamp (content of its stamp file)
  local dir=${SHELLVAULT_STATE_DIR:-${XDG_STATE_HOME:-$HOME/.local/state}/shellvault}
  local name=$1
  # as shellvault names it: % -> %25, then / -> %2F
  name=${name//\%/%25}
  name=${name//\//%2F}
  __sv_stamp=
  if [ -r "$dir/stamps/$name" ]; then
    IFS= read -r __sv_stamp <"$dir/stamps/$name" || :
  fi
}

_shellvault_hint() { # $1 profile, $2 seconds left
  if (($2 <= 0)); then
    printf "shellvault: %s credentials expired; run 'shellvault auth %s'\n" "$1" "$1" >&2
  else
    _shellvault_fmt_ttl "$2"
    printf "shellvault: %s expires in %s; run 'shellvault auth %s'\n" "$1" "$__sv_ttl" "$1" >&2
  fi
}

# Called by the hook with every prompt while SHELLVAULT_EXPIRES is set: returns
# at once (no process) while more than the refresh window is left.
# Credentials direnv loaded are refreshed without touching the shell: the run
# rewrites the profile's stamp, which direnv watches, and direnv reloads them.
_shellvault_check_expiry() {
  local exp=${SHELLVAULT_EXPIRES:-} prof=${SHELLVAULT_PROFILE:-} within left key phase out rc
  local noeval=
  case $exp in
    '' | *[!0-9]*) return 0 ;;
  esac
  [ -n "$prof" ] || return 0
  _shellvault_int "${SHELLVAULT_REFRESH_WITHIN:-}" 300
  within=$__sv_int
  ((within > 0)) || return 0
  _shellvault_now
  left=$((exp - __sv_now))
  if [ -n "$__sv_direnv_wait" ] && [ "$exp" != "$__sv_direnv_wait" ]; then
    # direnv brought in what our last refresh made: a short session waits for
    # half of what it has, as below.
    __sv_direnv_wait=
    if [ "$__sv_owner" = direnv ] && ((left < within)); then
      __sv_short_exp=$exp
      __sv_short_within=$((left / 2))
    fi
  fi
  if [ "$exp" = "$__sv_short_exp" ]; then
    # The last refresh could not give more than the window (short role
    # sessions): refresh again at half of what it gave, not at every prompt.
    ((left < __sv_short_within)) || return 0
  else
    ((left < within)) || return 0
  fi
  [ "$__sv_owner" = direnv ] && noeval=1
  phase=warn
  ((left <= 0)) && phase=expired
  key="$prof:$exp:$phase"
  if [ "$key" = "$__sv_failed_key" ]; then
    # Failed already for these credentials: try again only once the stamp file
    # shows a new session (`shellvault auth`, or another shell refreshed).
    _shellvault_stamp "$prof"
    [ "$__sv_stamp" != "$__sv_failed_stamp" ] || return 0
  fi
  _shellvault_bin
  if [ -n "$noeval" ]; then
    command "$__sv_bin" env --shell bash --no-input --min-ttl $((2 * within)) "$prof" >/dev/null 2>&1 </dev/null
    rc=$?
    out=
  else
    out=$(command "$__sv_bin" env --shell bash --no-input --min-ttl $((2 * within)) "$prof" 2>/dev/null </dev/null)
    rc=$?
  fi
  if [ "$rc" = 0 ] && [ -n "$noeval" ]; then
    # Not again for these credentials: direnv replaces them at its next run.
    _shellvault_stamp "$prof"
    __sv_failed_key=$key
    __sv_failed_stamp=$__sv_stamp
    __sv_direnv_wait=$exp
    return 0
  fi
  if [ "$rc" = 0 ] && [ -n "$out" ]; then
    eval "$out"
    _shellvault_mark_ours
    __sv_failed_key=
    case ${SHELLVAULT_EXPIRES:-} in
      '' | *[!0-9]*) ;;
      *)
        _shellvault_now
        left=$((SHELLVAULT_EXPIRES - __sv_now))
        if ((left < within)); then
          __sv_short_exp=$SHELLVAULT_EXPIRES
          __sv_short_within=$((left / 2))
        fi
        ;;
    esac
    return 0
  fi
  _shellvault_stamp "$prof"
  if [ "$__sv_failed_key" != "$key" ]; then
    _shellvault_hint "$prof" "$left"
  fi
  __sv_failed_key=$key
  __sv_failed_stamp=$__sv_stamp
  return 0
}

# ------------------------------------------------------------------ directory scopes
_shellvault_dirs_file() {
  __sv_dirs_file=${XDG_CONFIG_HOME:-$HOME/.config}/shellvault/directories
}

# Read the saved scopes (<absolute dir><TAB><profile> per line) of the user's
# own config file. Never from files inside project directories.
_shellvault_load_saved() {
  local line d p
  __sv_nsaved=0
  _shellvault_dirs_file
  [ -r "$__sv_dirs_file" ] || return 0
  while IFS= read -r line || [ -n "$line" ]; do
    case $line in
      '' | '#'*) continue ;;
      *'	'*) ;;
      *) continue ;;
    esac
    d=${line%%'	'*}
    p=${line#*'	'}
    # shellcheck disable=SC2088 # a literal ~ written in the file
    case $d in
      '~') d=$HOME ;;
      '~/'*) d=$HOME/${d#'~/'} ;;
    esac
    case $d in
      /*) ;;
      *) continue ;;
    esac
    [ -n "$p" ] || continue
    while :; do
      case $d in
        ?*/) d=${d%/} ;;
        *) break ;;
      esac
    done
    __sv_vdir[__sv_nsaved]=$d
    __sv_vprof[__sv_nsaved]=$p
    __sv_nsaved=$((__sv_nsaved + 1))
  done <"$__sv_dirs_file"
}

_shellvault_under() { # is $PWD inside directory $1?
  case $1 in
    /) return 0 ;;
  esac
  case $PWD/ in
    "$1"/*) return 0 ;;
  esac
  return 1
}

_shellvault_is_off() {
  local i=0
  while ((i < __sv_noff)); do
    [ "${__sv_off[i]}" = "$1" ] && return 0
    i=$((i + 1))
  done
  return 1
}

# The scope that applies to $PWD: the deepest directory, a scope set in this
# shell winning over a saved one for the same directory.
_shellvault_match() {
  local i=0 best=-1
  __sv_m_dir=
  __sv_m_prof=
  __sv_m_src=
  while ((i < __sv_nsaved)); do
    if _shellvault_under "${__sv_vdir[i]}" && ! _shellvault_is_off "${__sv_vdir[i]}" &&
      ((${#__sv_vdir[i]} > best)); then
      best=${#__sv_vdir[i]}
      __sv_m_dir=${__sv_vdir[i]}
      __sv_m_prof=${__sv_vprof[i]}
      __sv_m_src=saved
    fi
    i=$((i + 1))
  done
  i=0
  while ((i < __sv_nsess)); do
    if _shellvault_under "${__sv_sdir[i]}" && ((${#__sv_sdir[i]} >= best)); then
      best=${#__sv_sdir[i]}
      __sv_m_dir=${__sv_sdir[i]}
      __sv_m_prof=${__sv_sprof[i]}
      __sv_m_src=session
    fi
    i=$((i + 1))
  done
}

# _shellvault_apply PROFILE MODE: put PROFILE's credentials in the shell.
# MODE hook: never ask (--no-input); on failure fail closed (no credentials,
# the prompt shows PROFILE expired) and print one hint.
_shellvault_apply() {
  local prof=$1 mode=$2 out rc within
  _shellvault_int "${SHELLVAULT_REFRESH_WITHIN:-}" 300
  within=$__sv_int
  if [ "$prof" = "$__sv_cache_prof" ]; then
    _shellvault_now
    case $__sv_cache_exp in
      '' | *[!0-9]*) ;;
      *)
        if ((__sv_cache_exp - __sv_now > within)); then
          _shellvault_restore __sv_cache
          _shellvault_mark_ours
          return 0
        fi
        ;;
    esac
  fi
  _shellvault_bin
  if [ "$mode" = hook ]; then
    out=$(command "$__sv_bin" env --shell bash --no-input "$prof" 2>/dev/null </dev/null)
  else
    out=$(command "$__sv_bin" env --shell bash "$prof")
  fi
  rc=$?
  if [ "$rc" = 0 ]; then
    eval "$out"
    _shellvault_mark_ours
    return 0
  fi
  if [ "$mode" = hook ]; then
    _shellvault_unset_all
    export SHELLVAULT_PROFILE="$prof" SHELLVAULT_EXPIRES=0
    _shellvault_mark_ours
    _shellvault_stamp "$prof"
    __sv_failed_key="$prof:0:expired"
    __sv_failed_stamp=$__sv_stamp
    printf "shellvault: %s is scoped to %s; run 'shellvault auth %s'\n" "$__sv_active_dir" "$prof" "$prof" >&2
  fi
  return "$rc"
}

# Follow $PWD in and out of directory scopes. $1=force: re-apply even if the
# matching scope did not change. $2: mode for _shellvault_apply.
_shellvault_scope_sync() {
  local force=${1:-} mode=${2:-hook}
  if [ -z "$force" ] && [ "$__sv_nsess" = 0 ] && [ -z "$__sv_active_dir" ]; then
    _shellvault_dirs_file
    [ -f "$__sv_dirs_file" ] || return 0
  fi
  _shellvault_load_saved
  _shellvault_match
  if [ -z "$force" ] && [ "$__sv_m_dir" = "$__sv_active_dir" ] && [ "$__sv_m_prof" = "$__sv_active_prof" ]; then
    return 0
  fi
  if [ -n "$__sv_active_dir" ]; then
    # Keep the scope's credentials in memory: coming back needs no process.
    if [ "${SHELLVAULT_PROFILE:-}" = "$__sv_active_prof" ] && [ "${SHELLVAULT_EXPIRES:-0}" != 0 ]; then
      _shellvault_save __sv_cache
      __sv_cache_prof=$__sv_active_prof
      __sv_cache_exp=${SHELLVAULT_EXPIRES:-}
    fi
    if [ -z "$__sv_m_dir" ]; then
      _shellvault_restore __sv_out
      __sv_active_dir=
      __sv_active_prof=
      __sv_active_src=
      __sv_seen_cred="${SHELLVAULT_PROFILE:-}:${SHELLVAULT_EXPIRES:-}"
      __sv_owner=shell
      return 0
    fi
  else
    [ -n "$__sv_m_dir" ] || return 0
    _shellvault_save __sv_out
  fi
  __sv_active_dir=$__sv_m_dir
  __sv_active_prof=$__sv_m_prof
  __sv_active_src=$__sv_m_src
  _shellvault_apply "$__sv_m_prof" "$mode"
}

# ------------------------------------------------------------------ the hook
_shellvault_hook() {
  local __sv_rc=$?
  if [ "$__sv_seen_pwd" != "$PWD" ]; then
    __sv_seen_pwd=$PWD
    _shellvault_scope_sync
  fi
  _shellvault_attribute
  if [ -n "${SHELLVAULT_EXPIRES:-}" ]; then
    _shellvault_check_expiry
  fi
  _shellvault_render
  if [ "${SHELLVAULT_PROMPT_AUTO:-0}" != 0 ]; then
    _shellvault_auto_place
  fi
  return "$__sv_rc"
}

_shellvault_install_hook() {
  local nl='
' attr=
  # Already installed (sourced twice, or bash-preexec adopted our entry)?
  case "${PROMPT_COMMAND[*]-} ${precmd_functions[*]-}" in
    *_shellvault_hook*) return 0 ;;
  esac
  if [ -n "${bash_preexec_imported:-}${__bp_imported:-}" ]; then
    precmd_functions+=(_shellvault_hook)
    return 0
  fi
  if ((BASH_VERSINFO[0] > 5 || (BASH_VERSINFO[0] == 5 && BASH_VERSINFO[1] >= 1))); then
    # bash>=5.1: PROMPT_COMMAND may be an array; keep its type.
    [ -n "${PROMPT_COMMAND+x}" ] && eval 'attr=${PROMPT_COMMAND@a}' # bash>=5.1 (guarded)
    case $attr in
      *a*)
        PROMPT_COMMAND+=(_shellvault_hook)
        return 0
        ;;
    esac
  fi
  # Appended on a new line: the hooks already there run first and see the
  # real $? and PIPESTATUS; a trailing comment or `&` in them cannot swallow it.
  # shellcheck disable=SC2128,SC2178 # a string here (arrays handled above)
  PROMPT_COMMAND="${PROMPT_COMMAND:+$PROMPT_COMMAND$nl}_shellvault_hook"
}

# ------------------------------------------------------------------ with-role
_shellvault_with_role_usage() {
  cat <<'EOF'
usage: with-role PROFILE COMMAND [ARGS...]   run one command with PROFILE's credentials
       with-role PROFILE                     use PROFILE in this directory tree (this shell)
       with-role --save PROFILE              ... and in every future shell (saved)
       with-role --off [--save]              end the scope here (--save: forget it too)
       with-role --forget                    same as --off --save
       with-role                             show what is active
EOF
}

_shellvault_with_role_status() {
  local left
  if [ -n "${SHELLVAULT_PROFILE:-}" ]; then
    case ${SHELLVAULT_EXPIRES:-} in
      '' | *[!0-9]*) printf 'shellvault: %s%s\n' "$SHELLVAULT_PROFILE" "${SHELLVAULT_ACCOUNT:+ ($SHELLVAULT_ACCOUNT)}" ;;
      *)
        _shellvault_now
        left=$((SHELLVAULT_EXPIRES - __sv_now))
        _shellvault_fmt_ttl "$left"
        if ((left > 0)); then
          printf 'shellvault: %s%s, %s left\n' "$SHELLVAULT_PROFILE" "${SHELLVAULT_ACCOUNT:+ ($SHELLVAULT_ACCOUNT)}" "$__sv_ttl"
        else
          printf 'shellvault: %s%s, expired\n' "$SHELLVAULT_PROFILE" "${SHELLVAULT_ACCOUNT:+ ($SHELLVAULT_ACCOUNT)}"
        fi
        ;;
    esac
  else
    printf 'shellvault: no credentials in this shell\n'
  fi
  if [ -n "$__sv_active_dir" ]; then
    printf 'scope: %s -> %s (%s)\n' "$__sv_active_dir" "$__sv_active_prof" "$__sv_active_src"
  else
    printf 'scope: none\n'
  fi
}

# Rewrite the directories file without DIR's entry, then add DIR<TAB>PROFILE
# when a profile is given.
_shellvault_write_saved() {
  local dir=$1 prof=${2:-} line d tmp
  _shellvault_dirs_file
  command mkdir -p "${__sv_dirs_file%/*}" || return 1
  tmp=$__sv_dirs_file.tmp.$$
  {
    if [ -r "$__sv_dirs_file" ]; then
      while IFS= read -r line || [ -n "$line" ]; do
        d=${line%%'	'*}
        case $line in
          *'	'*)
            [ "$d" = "$dir" ] && continue
            [ "$d" = "$dir/" ] && continue
            ;;
        esac
        printf '%s\n' "$line"
      done <"$__sv_dirs_file"
    fi
    if [ -n "$prof" ]; then
      printf '%s\t%s\n' "$dir" "$prof"
    fi
  } >"$tmp" && command mv -f "$tmp" "$__sv_dirs_file"
}

_shellvault_sess_remove() { # drop the session scope of directory $1
  local i=0 j=0
  while ((i < __sv_nsess)); do
    if [ "${__sv_sdir[i]}" != "$1" ]; then
      __sv_sdir[j]=${__sv_sdir[i]}
      __sv_sprof[j]=${__sv_sprof[i]}
      j=$((j + 1))
    fi
    i=$((i + 1))
  done
  __sv_nsess=$j
}

_shellvault_off_remove() {
  local i=0 j=0
  while ((i < __sv_noff)); do
    if [ "${__sv_off[i]}" != "$1" ]; then
      __sv_off[j]=${__sv_off[i]}
      j=$((j + 1))
    fi
    i=$((i + 1))
  done
  __sv_noff=$j
}

_shellvault_with_role() {
  local save=0 off=0 prof rc __sv_env __sv_cmd dir
  while [ $# -gt 0 ]; do
    case $1 in
      --save) save=1 ;;
      --off) off=1 ;;
      --forget)
        off=1
        save=1
        ;;
      -h | --help)
        _shellvault_with_role_usage
        return 0
        ;;
      --)
        shift
        break
        ;;
      -*)
        printf 'with-role: unknown option %s\n' "$1" >&2
        _shellvault_with_role_usage >&2
        return 2
        ;;
      *) break ;;
    esac
    shift
  done

  if [ "$off" = 1 ]; then
    dir=${__sv_active_dir:-$PWD}
    if [ -z "$__sv_active_dir" ] && [ "$save" = 0 ]; then
      printf 'with-role: no directory scope is active here\n' >&2
      return 1
    fi
    _shellvault_sess_remove "$dir"
    if [ "$save" = 1 ]; then
      _shellvault_write_saved "$dir" || return 1
    elif [ "$__sv_active_src" = saved ]; then
      __sv_off[__sv_noff]=$dir
      __sv_noff=$((__sv_noff + 1))
    fi
    _shellvault_scope_sync force interactive
    __sv_seen_pwd=$PWD
    _shellvault_render
    return 0
  fi

  if [ $# -eq 0 ]; then
    if [ "$save" = 1 ]; then
      printf 'with-role: --save needs a PROFILE\n' >&2
      return 2
    fi
    _shellvault_with_role_status
    return 0
  fi

  prof=$1
  shift
  case $prof in
    *'	'* | *'
'*)
      printf 'with-role: invalid profile name\n' >&2
      return 2
      ;;
  esac
  _shellvault_bin

  if [ $# -gt 0 ]; then
    # One command: credentials in a subshell, so nothing leaks back here.
    if [ "$save" = 1 ]; then
      printf 'with-role: --save is for directory scopes (no COMMAND)\n' >&2
      return 2
    fi
    __sv_env=$(command "$__sv_bin" env --shell bash "$prof") || return
    # Re-quoted and eval'd, so aliases and functions work as typed.
    printf -v __sv_cmd '%q ' "$@"
    (
      eval "$__sv_env" || exit
      eval "$__sv_cmd"
    )
    return
  fi

  # Directory scope: PROFILE for $PWD and below, in this shell.
  dir=$PWD
  _shellvault_sess_remove "$dir"
  _shellvault_off_remove "$dir"
  __sv_sdir[__sv_nsess]=$dir
  __sv_sprof[__sv_nsess]=$prof
  __sv_nsess=$((__sv_nsess + 1))
  [ "$__sv_cache_prof" = "$prof" ] || __sv_cache_prof=
  _shellvault_scope_sync force interactive
  rc=$?
  __sv_seen_pwd=$PWD
  if [ "$rc" != 0 ]; then
    # Could not get credentials: no scope, variables as they were.
    _shellvault_sess_remove "$dir"
    if [ -n "$__sv_active_dir" ]; then
      _shellvault_restore __sv_out
      __sv_active_dir=
      __sv_active_prof=
      __sv_active_src=
      __sv_seen_cred="${SHELLVAULT_PROFILE:-}:${SHELLVAULT_EXPIRES:-}"
    fi
    _shellvault_scope_sync
    return "$rc"
  fi
  if [ "$save" = 1 ]; then
    _shellvault_write_saved "$dir" "$prof" || return 1
    _shellvault_sess_remove "$dir"
    __sv_active_src=saved
  fi
  _shellvault_render
  return 0
}

# `with-role` is not a valid name in POSIX mode (bash --posix, or bash as sh):
# defining it there would abort sourcing this file.
case :${SHELLOPTS:-}: in
  *:posix:*) ;;
  *) eval 'with-role() { _shellvault_with_role "$@"; }' ;;
esac

# ------------------------------------------------------------------ completion
__sv_commands='env exec export auth add list ls remove rm clear init profiles'

# Profile names from $AWS_CONFIG_FILE or ~/.aws/config: `[profile X]` and
# `[default]` section headers. grep picks the header lines (in the C locale:
# ~2 ms for 10,000 profiles, ~6 times that in a UTF-8 one), starting with
# the typed prefix when it has no regex characters; awk turns them into names
# (a regex for the usual `[profile X]`, else odd spacing, comments, CRLF) and
# keeps those starting with $SV_PREFIX. Readline drops duplicates.
__sv_profile_hdr='^[[:blank:]]*\[[[:blank:]]*'
# shellcheck disable=SC2016 # an awk program
__sv_awk_profiles='
BEGIN { p = ENVIRON["SV_PREFIX"] }
{
  if ($0 ~ /^\[profile [^] \t]+\]/) n = substr($0, 10, index($0, "]") - 10)
  else {
    s = substr($0, index($0, "[") + 1)
    e = index(s, "]")
    if (!e) next
    s = substr(s, 1, e - 1)
    sub(/^[ \t]+/, "", s)
    sub(/[ \t]+$/, "", s)
    if (s == "default") n = s
    else if (sub(/^profile[ \t]+/, "", s)) n = s
    else next
  }
  if (n != "" && (p == "" || index(n, p) == 1)) print n
}'

# COMPREPLY=(profile names starting with $1): grep and awk, whatever the
# size of the file.
_shellvault_complete_profiles() {
  local cfg=${AWS_CONFIG_FILE:-$HOME/.aws/config} IFS='
' f='' pre=${1:-} re alt
  # shellcheck disable=SC2088 # a literal ~ in the variable
  case $cfg in
    '~/'*) cfg=$HOME/${cfg#'~/'} ;;
  esac
  COMPREPLY=()
  [ -r "$cfg" ] || return 0
  # grep gets the prefix up to its first character that is not plain
  re=${pre%%[!A-Za-z0-9_@,=:/-]*}
  alt="profile[[:blank:]]+${re:-[^][:blank:]]}"
  case $pre in
    '' | d | de | def | defa | defau | defaul | default) alt="($alt|default[[:blank:]]*\\])" ;;
  esac
  case $- in *f*) f=1 ;; esac
  set -f
  # shellcheck disable=SC2207 # split on newlines only, globbing off
  COMPREPLY=($(LC_ALL=C command grep -E -e "$__sv_profile_hdr$alt" -- "$cfg" |
    SV_PREFIX=$pre LC_ALL=C command awk "$__sv_awk_profiles"))
  [ -n "$f" ] || set +f
}

_shellvault_reply_words() { # $1 words, $2 current word
  local IFS=' ' w
  COMPREPLY=()
  for w in $1; do
    case $w in
      "$2"*) COMPREPLY[${#COMPREPLY[@]}]=$w ;;
    esac
  done
}

# Complete a command line that starts at word $1 (with-role's COMMAND,
# `shellvault exec PROFILE -- COMMAND`): bash-completion's own machinery if
# it is loaded, else command names then filenames.
_shellvault_complete_command_at() {
  local off=$1 cur=${COMP_WORDS[COMP_CWORD]}
  if declare -F _comp_command_offset >/dev/null 2>&1; then
    _comp_command_offset "$off"
  elif declare -F _command_offset >/dev/null 2>&1; then
    _command_offset "$off"
  elif [ "$COMP_CWORD" -eq "$off" ]; then
    local IFS='
'
    # shellcheck disable=SC2207
    COMPREPLY=($(compgen -c -- "$cur"))
  else
    COMPREPLY=() # -o default: readline completes file names
  fi
}

_shellvault_complete() {
  local cur=${COMP_WORDS[COMP_CWORD]} prev='' cmd='' i=1 w nprof=0 dashdash=0
  COMPREPLY=()
  [ "$COMP_CWORD" -gt 0 ] && prev=${COMP_WORDS[COMP_CWORD - 1]}
  # The subcommand, the number of positionals after it, and where `--` is.
  while [ "$i" -lt "$COMP_CWORD" ]; do
    w=${COMP_WORDS[i]}
    if [ -z "$cmd" ]; then
      case $w in
        -*) ;;
        *) cmd=$w ;;
      esac
    elif [ "$w" = -- ]; then
      dashdash=$i
      break
    else
      case $w in
        --shell | --duration | --mfa-token | --min-ttl | --format) i=$((i + 1)) ;;
        -*) ;;
        *) nprof=$((nprof + 1)) ;;
      esac
    fi
    i=$((i + 1))
  done
  if [ -z "$cmd" ]; then
    case $cur in
      -*) _shellvault_reply_words '--version --help' "$cur" ;;
      *) _shellvault_reply_words "$__sv_commands" "$cur" ;;
    esac
    return 0
  fi
  if [ "$dashdash" -gt 0 ]; then
    [ "$cmd" = exec ] && _shellvault_complete_command_at $((dashdash + 1))
    return 0
  fi
  case $prev in
    --shell)
      _shellvault_reply_words 'bash zsh fish sh powershell tcsh dotenv' "$cur"
      return 0
      ;;
    --format)
      _shellvault_reply_words 'json env dotenv' "$cur"
      return 0
      ;;
    --duration | --mfa-token | --min-ttl) return 0 ;;
  esac
  case $cur in
    -*)
      case $cmd in
        env) _shellvault_reply_words '--shell --no-input --duration --mfa-token --min-ttl --unset --help' "$cur" ;;
        exec) _shellvault_reply_words '--duration --mfa-token --no-input --help --' "$cur" ;;
        export) _shellvault_reply_words '--format --duration --mfa-token --no-input --help' "$cur" ;;
        auth) _shellvault_reply_words '--mfa-token --duration --help' "$cur" ;;
        add) _shellvault_reply_words '--env --help' "$cur" ;;
        list | ls) _shellvault_reply_words '--json --help' "$cur" ;;
        remove | rm) _shellvault_reply_words '--force --help' "$cur" ;;
        *) _shellvault_reply_words '--help' "$cur" ;;
      esac
      return 0
      ;;
  esac
  case $cmd in
    env | exec | export | auth | add | remove | rm | clear)
      [ "$nprof" -eq 0 ] && _shellvault_complete_profiles "$cur"
      ;;
    init)
      [ "$nprof" -eq 0 ] && _shellvault_reply_words 'bash zsh fish direnv' "$cur"
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
      --) i=$((i + 1)); break ;;
      -*) ;;
      *) break ;;
    esac
    i=$((i + 1))
  done
  if [ "$i" -ge "$COMP_CWORD" ]; then
    case $cur in
      -*) _shellvault_reply_words '--save --off --forget --help' "$cur" ;;
      *) _shellvault_complete_profiles "$cur" ;;
    esac
    return 0
  fi
  # After the profile: complete a command line as bash normally would.
  _shellvault_complete_command_at $((i + 1))
}

if [ -n "${BASH_VERSION:-}" ] && type complete >/dev/null 2>&1; then
  complete -o bashdefault -o default -F _shellvault_complete shellvault
  complete -o bashdefault -o default -F _shellvault_complete_with_role with-role
fi

_shellvault_install_hook
