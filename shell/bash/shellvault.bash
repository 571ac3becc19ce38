# shellcheck shell=bash
# shellvault: bash integration.
#
#   eval "$(shellvault init bash)"              # in ~/.bashrc
#   source /path/to/shell/bash/shellvault.bash  # same thing, no Python at start-up
#
# Gives: a prompt segment ($SHELLVAULT_PROMPT_SEGMENT / shellvault_prompt),
# auto-refresh near expiry, `with-role` and TAB completion. Every decision is
# shellvault's (`shellvault hook`, shellvault/hook.py): this file asks only when
# something can have changed, saves and restores variables, and draws the
# segment with builtins; its sections match the zsh and fish plugins'. Kept:
# bash 3.2 syntax (newer lines marked `# bash>=X.Y`, behind version checks), no
# process per prompt or `cd` between answers, $?, `set -u`, one install.
#
# Settings (optional): SHELLVAULT_PROMPT_FORMAT ('aws:{profile} {ttl}'; also
# {account} {region}), SHELLVAULT_PROMPT_COLOR / _WARN_COLOR / _EXPIRED_COLOR
# (SGR codes; empty: no colour), SHELLVAULT_PROMPT_EXPIRED_TEXT,
# SHELLVAULT_PROMPT_WARN and SHELLVAULT_REFRESH_WITHIN (seconds; see README),
# SHELLVAULT_PROMPT_AUTO=1 (put the segment in front of PS1), SHELLVAULT_BIN.

[ -n "${BASH_VERSION:-}" ] || return 0
export SHELLVAULT_PLUGIN=bash

# ------------------------------------------------------------------ state
# The variables a session sets or a stale one leaves: what scopes save/restore.
__sv_vars=(AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN AWS_SECURITY_TOKEN
  AWS_CREDENTIAL_EXPIRATION AWS_SESSION_EXPIRATION AWS_REGION AWS_DEFAULT_REGION
  AWS_PROFILE AWS_DEFAULT_PROFILE SHELLVAULT_PROFILE SHELLVAULT_ACCOUNT SHELLVAULT_EXPIRES)

# Kept when the file is sourced again. __sv_hs (opaque), __sv_deadline,
# __sv_bounds, __sv_warn, __sv_watch(_seen) and __sv_dirs_file are set by the
# answers of `shellvault hook`; __sv_seen_* is what the gate saw then.
: "${SHELLVAULT_PROMPT_SEGMENT=}" "${__sv_hs=}" "${__sv_deadline=}" "${__sv_warn=0}"
: "${__sv_watch=}" "${__sv_watch_seen=}" "${__sv_dirs_file=}" "${__sv_dirs_seen=}"
: "${__sv_seen_cred=}" "${__sv_seen_pwd=}" "${__sv_seen_bk=}" "${__sv_seen_diff=}"
[ -n "${__sv_bounds+x}" ] || __sv_bounds=()
__sv_plain='' __sv_state='' __sv_cchg=0 __sv_dchg=0

# The clock without a process: bash 5 has $EPOCHSECONDS; bash 4.2+ printf's
# %(...)T; bash 3.2 takes `date +%s` once, then counts $SECONDS.
__sv_printf_time=0
((BASH_VERSINFO[0] > 4 || (BASH_VERSINFO[0] == 4 && BASH_VERSINFO[1] >= 2))) && __sv_printf_time=1

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

# ------------------------------------------------------------------ prompt
_shellvault_fmt_ttl() { # $1 seconds left -> __sv_ttl
  local left=$1 m
  if ((left <= 0)); then
    __sv_ttl=${SHELLVAULT_PROMPT_EXPIRED_TEXT-expired}
  elif ((left < 60)); then
    __sv_ttl="${left}s"
  elif ((left < 3600)); then
    __sv_ttl="$((left / 60))m"
  else
    m=$(((left % 3600) / 60))
    ((m < 10)) && m="0$m"
    __sv_ttl="$((left / 3600))h${m}m"
  fi
}

# SHELLVAULT_PROMPT_SEGMENT (colours in \001..\002 for readline), __sv_plain
# (no colour), __sv_state ('' ok warn expired). Control characters in a name
# are shown as '?': they never reach the terminal.
_shellvault_render() {
  local prof=${SHELLVAULT_PROFILE:-} exp=${SHELLVAULT_EXPIRES:-} left color
  local rest out tok val
  SHELLVAULT_PROMPT_SEGMENT='' __sv_plain='' __sv_state='' __sv_ttl=''
  [ -n "$prof" ] || return 0
  __sv_state=ok
  case $exp in
    '' | *[!0-9]*) ;;
    *)
      _shellvault_now
      left=$((exp - __sv_now))
      if ((left <= 0)); then __sv_state=expired; elif ((left <= __sv_warn)); then __sv_state=warn; fi
      _shellvault_fmt_ttl "$left"
      ;;
  esac
  # {token} substitution by hand: ${var//pat/rep}'s replacement text differs
  # across bash versions (patsub_replacement in 5.2).
  rest=${SHELLVAULT_PROMPT_FORMAT-'aws:{profile} {ttl}'} out=
  while :; do
    case $rest in *'{'*'}'*) ;; *) break ;; esac
    out=$out${rest%%'{'*}
    rest=${rest#*'{'}
    tok=${rest%%'}'*}
    case $tok in
      profile) val=$prof ;;
      account) val=${SHELLVAULT_ACCOUNT:-} ;;
      ttl) val=$__sv_ttl ;;
      region) val=${AWS_REGION:-${AWS_DEFAULT_REGION:-}} ;;
      *) out="$out{" && continue ;;
    esac
    out=$out$val
    rest=${rest#*'}'}
  done
  out=$out$rest
  out=${out//[[:cntrl:]]/?}
  while :; do case $out in *' ') out=${out%' '} ;; *) break ;; esac; done
  __sv_plain=$out
  _shellvault_color
  if [ -n "$color" ]; then
    SHELLVAULT_PROMPT_SEGMENT=$'\001\e['"$color"$'m\002'"$out"$'\001\e[0m\002'
  else
    SHELLVAULT_PROMPT_SEGMENT=$out
  fi
}

_shellvault_color() { # -> color (the caller's local), by __sv_state
  case $__sv_state in
    warn) color=${SHELLVAULT_PROMPT_WARN_COLOR-33} ;;
    expired) color=${SHELLVAULT_PROMPT_EXPIRED_COLOR-31} ;;
    *) color=${SHELLVAULT_PROMPT_COLOR-32} ;;
  esac
}

# shellvault_prompt [--plain|--ansi]: print the segment. In PS1 prefer
# '${SHELLVAULT_PROMPT_SEGMENT}' (kept current by the hook, no subshell).
shellvault_prompt() {
  local color
  _shellvault_render
  case ${1:-} in
    --plain) printf '%s' "$__sv_plain" ;;
    --ansi)
      _shellvault_color
      if [ -n "$color" ] && [ -n "$__sv_plain" ]; then
        printf '\033[%sm%s\033[0m' "$color" "$__sv_plain"
      else
        printf '%s' "$__sv_plain"
      fi
      ;;
    *) printf '%s' "$SHELLVAULT_PROMPT_SEGMENT" ;;
  esac
}

_shellvault_auto_place() {
  case ${PS1-} in *SHELLVAULT_PROMPT_SEGMENT*) return 0 ;; esac
  # shellcheck disable=SC2016 # expanded by bash when it draws the prompt
  PS1='${SHELLVAULT_PROMPT_SEGMENT:+$SHELLVAULT_PROMPT_SEGMENT }'"${PS1-}"
}

# ------------------------------------------------------------------ variables
# _shellvault_save SLOT: copy the variables (value, set or not, exported or
# not) into __sv_SLOT_set/_val/_attr; _shellvault_restore SLOT puts them back.
_shellvault_save() {
  local p=__sv_$1 i=0 n v attr
  for n in "${__sv_vars[@]}"; do
    if [ -n "${!n+x}" ]; then
      v=${!n} attr=x
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

_shellvault_restore() {
  local p=__sv_$1 i=0 n s v a
  for n in "${__sv_vars[@]}"; do
    eval "s=\${${p}_set[$i]:-0}; v=\${${p}_val[$i]:-}; a=\${${p}_attr[$i]:-x}"
    unset "$n"
    if [ "$s" = 1 ]; then
      case $a in
        *x*) export "$n=$v" ;;
        *) printf -v "$n" '%s' "$v" ;;
      esac
    fi
    i=$((i + 1))
  done
}

# ------------------------------------------------------------------ asking shellvault
_shellvault_credkey() { # what, when it changes, needs an answer -> __sv_key
  __sv_key="${SHELLVAULT_PROFILE-}:${SHELLVAULT_EXPIRES-}:${SHELLVAULT_REFRESH_WITHIN-}:${SHELLVAULT_PROMPT_WARN-}"
}

_shellvault_bkey() { # which of __sv_bounds hold $PWD -> __sv_bk
  local d i=0
  __sv_bk=
  for d in ${__sv_bounds[@]+"${__sv_bounds[@]}"}; do
    case $d:$PWD/ in /:* | "$d:$d"/*) __sv_bk="$__sv_bk $i" ;; esac
    i=$((i + 1))
  done
}

_shellvault_dirs_read() { # the saved-scopes file's text -> __sv_dc
  __sv_dc=
  if [ -n "$__sv_dirs_file" ] && [ -r "$__sv_dirs_file" ]; then
    IFS= read -r -d '' __sv_dc <"$__sv_dirs_file" || :
  fi
}

# After an answer: what the gate compares with until the next one.
_shellvault_seen() {
  _shellvault_credkey
  _shellvault_bkey
  _shellvault_dirs_read
  __sv_seen_cred=$__sv_key __sv_seen_pwd=$PWD __sv_seen_bk=$__sv_bk __sv_dirs_seen=$__sv_dc
}

# _shellvault_ask QUESTION [ARGS]: run `shellvault hook bash` and its answer.
# A prompt's question never reads the terminal and keeps quiet (the answer
# prints its own hint); the deadline and watch are cleared first, so a failed
# run is not repeated at every prompt.
_shellvault_ask() {
  local out rc q=$1
  set -- --state "$__sv_hs" --pwd "$PWD" --profile "${SHELLVAULT_PROFILE-}" \
    --expires "${SHELLVAULT_EXPIRES-}" --within "${SHELLVAULT_REFRESH_WITHIN-}" \
    --warn "${SHELLVAULT_PROMPT_WARN-}" --account "${SHELLVAULT_ACCOUNT-}" \
    --cred-changed "$__sv_cchg" --diff-changed "$__sv_dchg" -- "$@"
  __sv_deadline='' __sv_watch=''
  if [ "$q" = prompt ]; then
    out=$(command "${SHELLVAULT_BIN:-shellvault}" hook bash "$@" </dev/null 2>/dev/null)
  else
    out=$(command "${SHELLVAULT_BIN:-shellvault}" hook bash "$@")
  fi
  rc=$?
  eval "$out"
  _shellvault_seen
  return "$rc"
}

# ------------------------------------------------------------------ the hook
# Builtins only, unless the credentials or settings changed, $PWD entered or
# left a scope directory (or the saved scopes changed), the deadline passed,
# or the watched stamp file was rewritten.
_shellvault_hook() {
  local __sv_rc=$? why='' s=''
  _shellvault_now
  _shellvault_credkey
  __sv_cchg=0 __sv_dchg=0
  [ "${DIRENV_DIFF-}" = "$__sv_seen_diff" ] || __sv_dchg=1
  __sv_seen_diff=${DIRENV_DIFF-}
  if [ "$__sv_key" != "$__sv_seen_cred" ]; then
    why=cred __sv_cchg=1
  elif [ "$PWD" != "$__sv_seen_pwd" ]; then
    __sv_seen_pwd=$PWD
    _shellvault_bkey
    _shellvault_dirs_read
    [ "$__sv_bk" = "$__sv_seen_bk" ] && [ "$__sv_dc" = "$__sv_dirs_seen" ] || why='pwd'
  fi
  if [ -z "$why" ] && [ -n "$__sv_deadline" ] && ((__sv_now >= __sv_deadline)); then
    why='time'
  elif [ -z "$why" ] && [ -n "$__sv_watch" ]; then
    { IFS= read -r s <"$__sv_watch"; } 2>/dev/null
    [ "$s" = "$__sv_watch_seen" ] || why=stamp
  fi
  [ -z "$why" ] || _shellvault_ask prompt
  _shellvault_render
  [ "${SHELLVAULT_PROMPT_AUTO:-0}" = 0 ] || _shellvault_auto_place
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
    case $attr in *a*) PROMPT_COMMAND+=(_shellvault_hook) && return 0 ;; esac
  fi
  # On a new line: the hooks already there run first and see the real $? and
  # PIPESTATUS; a trailing comment or `&` in them cannot swallow it.
  # shellcheck disable=SC2128,SC2178 # a string here (arrays handled above)
  PROMPT_COMMAND="${PROMPT_COMMAND:+$PROMPT_COMMAND$nl}_shellvault_hook"
}

# ------------------------------------------------------------------ with-role
# with-role [--server] [--region R] PROFILE COMMAND...: COMMAND (a function or
# alias too) in a subshell with PROFILE's credentials; --server runs it under
# `shellvault exec --server`. Every other form (scopes, status, usage) is
# shellvault's.
_shellvault_with_role() {
  local server='' region='' i=1 prof env cmd rc
  while :; do
    case ${!i-} in
      --server) server=1 ;;
      --region) i=$((i + 1)) && region=${!i-} ;;
      --) i=$((i + 1)) && break ;;
      *) break ;;
    esac
    i=$((i + 1))
  done
  prof=${!i-}
  if [ $# -gt "$i" ] && [ -n "$prof" ] && [ "${prof#-}" = "$prof" ]; then
    shift "$i"
    if [ -n "$server" ]; then
      command "${SHELLVAULT_BIN:-shellvault}" exec --server ${region:+--region "$region"} \
        "$prof" -- "$@"
      return
    fi
    env=$(command "${SHELLVAULT_BIN:-shellvault}" env --shell bash \
      ${region:+--region "$region"} "$prof") || return
    printf -v cmd '%q ' "$@" # re-quoted and eval'd: aliases and functions work
    (
      eval "$env" || exit
      eval "$cmd"
    )
    return
  fi
  _shellvault_ask with-role "$@"
  rc=$?
  _shellvault_render
  return "$rc"
}

# `with-role` is not a valid name in POSIX mode (bash --posix, or bash as sh):
# defining it there would abort sourcing this file.
case :${SHELLOPTS:-}: in
  *:posix:*) ;;
  *) eval 'with-role() { _shellvault_with_role "$@"; }' ;;
esac

# ------------------------------------------------------------------ completion
# In the file beside this one (`shellvault init bash` appends it).
case ${BASH_SOURCE[0]-} in
  */shellvault.bash)
    if [ -r "${BASH_SOURCE[0]%/*}/shellvault-completion.bash" ]; then
      # shellcheck source=/dev/null
      . "${BASH_SOURCE[0]%/*}/shellvault-completion.bash"
    fi
    ;;
esac

_shellvault_install_hook
