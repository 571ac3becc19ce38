# shellvault: zsh integration.
#
#   eval "$(shellvault init zsh)"                    # in ~/.zshrc
#   source /path/to/shell/zsh/shellvault.plugin.zsh  # same, no Python at start-up
#   (oh-my-zsh, antidote, zinit: load shell/zsh as a plugin)
#
# Gives: a prompt segment ($SHELLVAULT_PROMPT_SEGMENT / shellvault_prompt),
# auto-refresh of credentials near expiry, `with-role` (one command, or a
# directory tree), and completion (compsys) of shellvault's commands and
# profile names. No process per prompt while credentials are valid; hooks
# via add-zsh-hook (precmd, chpwd); sourcing twice installs once; every
# function runs under `emulate -L zsh`, so the user's options (nounset,
# ksh_arrays, sh_word_split...) do not matter.
#
# Settings (read at every prompt): see shell/bash/shellvault.bash, the same
# names: SHELLVAULT_PROMPT_FORMAT, SHELLVAULT_PROMPT_COLOR,
# SHELLVAULT_PROMPT_WARN_COLOR, SHELLVAULT_PROMPT_EXPIRED_COLOR,
# SHELLVAULT_PROMPT_EXPIRED_TEXT, SHELLVAULT_PROMPT_WARN,
# SHELLVAULT_PROMPT_AUTO (1/right: RPROMPT, left: PROMPT),
# SHELLVAULT_REFRESH_WITHIN, SHELLVAULT_BIN.

[[ -n ${ZSH_VERSION-} ]] || return 0

typeset -ga __sv_vars
set -A __sv_vars AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN AWS_SECURITY_TOKEN \
  AWS_CREDENTIAL_EXPIRATION AWS_SESSION_EXPIRATION AWS_REGION AWS_DEFAULT_REGION \
  AWS_PROFILE AWS_DEFAULT_PROFILE SHELLVAULT_PROFILE SHELLVAULT_ACCOUNT SHELLVAULT_EXPIRES

# State, kept when the file is sourced again.
typeset -g SHELLVAULT_PROMPT_SEGMENT="${SHELLVAULT_PROMPT_SEGMENT-}"
typeset -g __sv_seen_pwd="${__sv_seen_pwd-}" __sv_seen_cred="${__sv_seen_cred-}"
typeset -g __sv_seen_diff="${__sv_seen_diff-}" __sv_owner="${__sv_owner-shell}"
typeset -g __sv_failed_key="${__sv_failed_key-}" __sv_failed_stamp="${__sv_failed_stamp-}"
typeset -g __sv_short_exp="${__sv_short_exp-}" __sv_short_within="${__sv_short_within-0}"
typeset -g __sv_direnv_wait="${__sv_direnv_wait-}"
typeset -g __sv_active_dir="${__sv_active_dir-}" __sv_active_prof="${__sv_active_prof-}"
typeset -g __sv_active_src="${__sv_active_src-}"
typeset -g __sv_cache_prof="${__sv_cache_prof-}" __sv_cache_exp="${__sv_cache_exp-}"
typeset -g __sv_plain= __sv_state= __sv_ttl= __sv_stamp= __sv_now=0 __sv_rprompt_set=
typeset -gA __sv_sess __sv_saved __sv_out __sv_cache __sv_off_dirs
typeset -gaU __sv_profile_cache
typeset -g __sv_profile_cache_key="${__sv_profile_cache_key-}"
typeset -g __sv_profile_cfg= __sv_profile_key=
typeset -g __sv_compdef_done="${__sv_compdef_done-}"

# Where this file lives (empty when evaluated from `shellvault init zsh`).
typeset -g __sv_plugin_dir=${${(%):-%x}:A}
if [[ $__sv_plugin_dir == */shellvault.plugin.zsh ]]; then
  __sv_plugin_dir=${__sv_plugin_dir:h}
else
  __sv_plugin_dir=
fi

zmodload zsh/datetime 2>/dev/null   # $EPOCHSECONDS: the clock without a process

_shellvault_now() {
  if (( ${+EPOCHSECONDS} )); then
    __sv_now=$EPOCHSECONDS
  else
    __sv_now=$(command date +%s)
  fi
}

_shellvault_int() { # $1 value, $2 default -> REPLY
  if [[ $1 == <-> ]]; then REPLY=$1; else REPLY=$2; fi
}

# ------------------------------------------------------------------ prompt
_shellvault_fmt_ttl() { # $1 seconds left -> __sv_ttl
  emulate -L zsh
  local -i left=$1 h m
  if (( left <= 0 )); then
    __sv_ttl=${SHELLVAULT_PROMPT_EXPIRED_TEXT-expired}
  elif (( left < 60 )); then
    __sv_ttl="${left}s"
  elif (( left < 3600 )); then
    __sv_ttl="$(( left / 60 ))m"
  else
    h=$(( left / 3600 )); m=$(( (left % 3600) / 60 ))
    __sv_ttl="${h}h${(l:2::0:)m}m"
  fi
}

# SHELLVAULT_PROMPT_SEGMENT: prompt-ready (%-escapes, colours in %{...%});
# __sv_plain: the text; __sv_state: '' ok warn expired. Builtins only.
_shellvault_render() {
  emulate -L zsh
  local prof=${SHELLVAULT_PROFILE-} exp=${SHELLVAULT_EXPIRES-} out color REPLY
  local -i left=0 warn
  if [[ -z $prof ]]; then
    SHELLVAULT_PROMPT_SEGMENT= __sv_plain= __sv_state=
    return 0
  fi
  __sv_ttl= __sv_state=ok
  if [[ $exp == <-> ]]; then
    _shellvault_now
    left=$(( exp - __sv_now ))
    _shellvault_int "${SHELLVAULT_REFRESH_WITHIN-}" 300
    _shellvault_int "${SHELLVAULT_PROMPT_WARN-}" $REPLY
    warn=$REPLY
    if (( left <= 0 )); then __sv_state=expired
    elif (( left <= warn )); then __sv_state=warn
    fi
    _shellvault_fmt_ttl $left
  fi
  out=${SHELLVAULT_PROMPT_FORMAT-'aws:{profile} {ttl}'}
  out=${out//\{profile\}/$prof}
  out=${out//\{account\}/${SHELLVAULT_ACCOUNT-}}
  out=${out//\{ttl\}/$__sv_ttl}
  out=${out//\{region\}/${AWS_REGION:-${AWS_DEFAULT_REGION-}}}
  while [[ $out == *' ' ]]; do out=${out% }; done
  __sv_plain=$out
  case $__sv_state in
    warn) color=${SHELLVAULT_PROMPT_WARN_COLOR-33} ;;
    expired) color=${SHELLVAULT_PROMPT_EXPIRED_COLOR-31} ;;
    *) color=${SHELLVAULT_PROMPT_COLOR-32} ;;
  esac
  out=${out//\%/%%}
  if [[ -n $color ]]; then
    SHELLVAULT_PROMPT_SEGMENT="%{"$'\e'"[${color}m%}${out}%{"$'\e'"[0m%}"
  else
    SHELLVAULT_PROMPT_SEGMENT=$out
  fi
}

# shellvault_prompt [--plain|--ansi]: print the segment. In PROMPT/RPROMPT
# prefer '${SHELLVAULT_PROMPT_SEGMENT}' (with prompt_subst; kept current by
# the precmd hook, no subshell): "$(shellvault_prompt)" forks per prompt.
shellvault_prompt() {
  emulate -L zsh
  _shellvault_render
  local c
  case ${1-} in
    --plain) print -rn -- $__sv_plain ;;
    --ansi)
      case $__sv_state in
        warn) c=${SHELLVAULT_PROMPT_WARN_COLOR-33} ;;
        expired) c=${SHELLVAULT_PROMPT_EXPIRED_COLOR-31} ;;
        *) c=${SHELLVAULT_PROMPT_COLOR-32} ;;
      esac
      if [[ -n $c && -n $__sv_plain ]]; then
        print -rn -- $'\e'"[${c}m${__sv_plain}"$'\e[0m'
      else
        print -rn -- $__sv_plain
      fi
      ;;
    *) print -rn -- $SHELLVAULT_PROMPT_SEGMENT ;;
  esac
}

# SHELLVAULT_PROMPT_AUTO: 1 or right -> RPROMPT, left -> PROMPT. With
# prompt_subst the variable is referenced once; without it the prompt is
# re-rendered at each precmd around what the user (or a theme) put there.
_shellvault_auto_place() {
  emulate -L zsh
  local side=${SHELLVAULT_PROMPT_AUTO-} ref='${SHELLVAULT_PROMPT_SEGMENT:+$SHELLVAULT_PROMPT_SEGMENT }'
  local name=RPROMPT
  [[ $side == left ]] && name=PROMPT
  if [[ -o prompt_subst ]]; then
    [[ ${(P)name-} == *SHELLVAULT_PROMPT_SEGMENT* ]] && return 0
    typeset -g $name="${ref}${(P)name-}"
  else
    local cur=${(P)name-} base
    if [[ -n $__sv_rprompt_set && $cur == $__sv_rprompt_set ]]; then
      base=${__sv_rprompt_base-}
    else
      base=$cur
    fi
    typeset -g __sv_rprompt_base=$base
    typeset -g $name="${SHELLVAULT_PROMPT_SEGMENT:+$SHELLVAULT_PROMPT_SEGMENT }$base"
    __sv_rprompt_set=${(P)name}
  fi
}

# ------------------------------------------------------------------ variables
# _shellvault_save NAME: remember the AWS variables in the associative array
# NAME: VAR -> value and @VAR -> its type (export flag); no key = unset.
_shellvault_save() {
  emulate -L zsh
  local arr=$1 n
  local -a kv
  for n in $__sv_vars; do
    (( ${(P)+n} )) && kv+=("$n" "${(P)n}" "@$n" "${(Pt)n}")
  done
  set -A $arr "${kv[@]}"
}

# _shellvault_restore NAME: make the AWS variables exactly what was saved.
_shellvault_restore() {
  emulate -L zsh
  local arr=$1 n
  local -A saved
  saved=("${(@Pkv)arr}")
  for n in $__sv_vars; do
    if (( ${+saved[$n]} )); then
      if [[ ${saved[@$n]-} == *export* ]]; then
        export $n="${saved[$n]}"
      else
        unset $n
        typeset -g $n="${saved[$n]}"
      fi
    else
      unset $n
    fi
  done
}

_shellvault_unset_all() {
  emulate -L zsh
  unset $__sv_vars
}

_shellvault_mark_ours() {
  __sv_seen_cred="${SHELLVAULT_PROFILE-}:${SHELLVAULT_EXPIRES-}"
  __sv_owner=plugin
}

# direnv's credentials (its diff changed when they did, with a .envrc
# loaded) are left to direnv; anything else in the shell is ours to refresh.
_shellvault_attribute() {
  local cur="${SHELLVAULT_PROFILE-}:${SHELLVAULT_EXPIRES-}"
  if [[ $cur != $__sv_seen_cred ]]; then
    if [[ -n ${DIRENV_DIR-} && ${DIRENV_DIFF-} != $__sv_seen_diff ]]; then
      __sv_owner=direnv
    else
      __sv_owner=shell
    fi
    __sv_seen_cred=$cur
  fi
  __sv_seen_diff=${DIRENV_DIFF-}
}

# ------------------------------------------------------------------ refresh
_shellvault_stamp() { # $1 profile -> __sv_stamp (its stamp file's content)
  emulate -L zsh
  local dir=${SHELLVAULT_STATE_DIR:-${XDG_STATE_HOME:-$HOME/.local/state}/shellvault}
  local name=${1//\%/%25}   # as shellvault names it: % -> %25, / -> %2F
  local f=$dir/stamps/${name//\//%2F}
  __sv_stamp=
  [[ -r $f ]] && IFS= read -r __sv_stamp <$f
  return 0
}

_shellvault_hint() { # $1 profile, $2 seconds left
  emulate -L zsh
  if (( $2 <= 0 )); then
    print -ru2 -- "shellvault: $1 credentials expired; run 'shellvault auth $1'"
  else
    _shellvault_fmt_ttl $2
    print -ru2 -- "shellvault: $1 expires in $__sv_ttl; run 'shellvault auth $1'"
  fi
}

# Credentials direnv loaded are refreshed without touching the shell: the run
# rewrites the profile's stamp, which direnv watches, and direnv reloads them.
_shellvault_check_expiry() {
  emulate -L zsh
  local exp=${SHELLVAULT_EXPIRES-} prof=${SHELLVAULT_PROFILE-} key phase out REPLY noeval=
  local -i within left rc
  [[ $exp == <-> && -n $prof ]] || return 0
  _shellvault_int "${SHELLVAULT_REFRESH_WITHIN-}" 300
  within=$REPLY
  (( within > 0 )) || return 0
  _shellvault_now
  left=$(( exp - __sv_now ))
  if [[ -n $__sv_direnv_wait && $exp != $__sv_direnv_wait ]]; then
    # direnv brought in what our last refresh made: a short session waits for
    # half of what it has, as below.
    __sv_direnv_wait=
    if [[ $__sv_owner == direnv ]] && (( left < within )); then
      __sv_short_exp=$exp
      __sv_short_within=$(( left / 2 ))
    fi
  fi
  if [[ $exp == $__sv_short_exp ]]; then
    (( left < __sv_short_within )) || return 0
  else
    (( left < within )) || return 0
  fi
  [[ $__sv_owner == direnv ]] && noeval=1
  phase=warn
  (( left <= 0 )) && phase=expired
  key="$prof:$exp:$phase"
  if [[ $key == $__sv_failed_key ]]; then
    _shellvault_stamp $prof
    [[ $__sv_stamp != $__sv_failed_stamp ]] || return 0
  fi
  if [[ -n $noeval ]]; then
    command ${SHELLVAULT_BIN:-shellvault} env --shell zsh --no-input --min-ttl $(( 2 * within )) $prof >/dev/null 2>&1 </dev/null
    rc=$?
    out=
  else
    out=$(command ${SHELLVAULT_BIN:-shellvault} env --shell zsh --no-input --min-ttl $(( 2 * within )) $prof 2>/dev/null </dev/null)
    rc=$?
  fi
  if (( rc == 0 )) && [[ -n $noeval ]]; then
    # Not again for these credentials: direnv replaces them at its next run.
    _shellvault_stamp $prof
    __sv_failed_key=$key
    __sv_failed_stamp=$__sv_stamp
    __sv_direnv_wait=$exp
    return 0
  fi
  if (( rc == 0 )) && [[ -n $out ]]; then
    eval "$out"
    _shellvault_mark_ours
    __sv_failed_key=
    if [[ ${SHELLVAULT_EXPIRES-} == <-> ]]; then
      _shellvault_now
      left=$(( SHELLVAULT_EXPIRES - __sv_now ))
      if (( left < within )); then
        __sv_short_exp=$SHELLVAULT_EXPIRES
        __sv_short_within=$(( left / 2 ))
      fi
    fi
    return 0
  fi
  _shellvault_stamp $prof
  [[ $__sv_failed_key != $key ]] && _shellvault_hint $prof $left
  __sv_failed_key=$key
  __sv_failed_stamp=$__sv_stamp
  return 0
}

# ------------------------------------------------------------------ directory scopes
_shellvault_dirs_file() {
  REPLY=${XDG_CONFIG_HOME:-$HOME/.config}/shellvault/directories
}

# Saved scopes from the user's own config file (<dir><TAB><profile> lines),
# never from files inside project directories.
_shellvault_load_saved() {
  emulate -L zsh
  local REPLY line d p
  __sv_saved=()
  _shellvault_dirs_file
  [[ -r $REPLY ]] || return 0
  while IFS= read -r line || [[ -n $line ]]; do
    [[ -z $line || $line == \#* || $line != *$'\t'* ]] && continue
    d=${line%%$'\t'*} p=${line#*$'\t'}
    [[ $d == '~' ]] && d=$HOME
    [[ $d == '~/'* ]] && d=$HOME/${d#\~/}
    [[ $d == /* && -n $p ]] || continue
    while [[ $d == ?*/ ]]; do d=${d%/}; done
    __sv_saved[$d]=$p
  done <$REPLY
}

_shellvault_under() {
  [[ $1 == / || $PWD/ == "$1"/* ]]
}

# Deepest matching directory; a scope of this shell wins over a saved one.
_shellvault_match() {
  emulate -L zsh
  local d
  local -i best=-1
  typeset -g __sv_m_dir= __sv_m_prof= __sv_m_src=
  for d in ${(k)__sv_saved}; do
    (( ${+__sv_off_dirs[$d]} )) && continue
    if _shellvault_under $d && (( ${#d} > best )); then
      best=${#d} __sv_m_dir=$d __sv_m_prof=${__sv_saved[$d]} __sv_m_src=saved
    fi
  done
  for d in ${(k)__sv_sess}; do
    if _shellvault_under $d && (( ${#d} >= best )); then
      best=${#d} __sv_m_dir=$d __sv_m_prof=${__sv_sess[$d]} __sv_m_src=session
    fi
  done
}

_shellvault_apply() { # PROFILE MODE(hook|interactive)
  emulate -L zsh
  local prof=$1 mode=$2 out REPLY
  local -i rc within
  _shellvault_int "${SHELLVAULT_REFRESH_WITHIN-}" 300
  within=$REPLY
  if [[ $prof == $__sv_cache_prof && $__sv_cache_exp == <-> ]]; then
    _shellvault_now
    if (( __sv_cache_exp - __sv_now > within )); then
      _shellvault_restore __sv_cache
      _shellvault_mark_ours
      return 0
    fi
  fi
  if [[ $mode == hook ]]; then
    out=$(command ${SHELLVAULT_BIN:-shellvault} env --shell zsh --no-input $prof 2>/dev/null </dev/null)
  else
    out=$(command ${SHELLVAULT_BIN:-shellvault} env --shell zsh $prof)
  fi
  rc=$?
  if (( rc == 0 )); then
    eval "$out"
    _shellvault_mark_ours
    return 0
  fi
  if [[ $mode == hook ]]; then
    _shellvault_unset_all
    export SHELLVAULT_PROFILE=$prof SHELLVAULT_EXPIRES=0
    _shellvault_mark_ours
    _shellvault_stamp $prof
    __sv_failed_key="$prof:0:expired" __sv_failed_stamp=$__sv_stamp
    print -ru2 -- "shellvault: $__sv_active_dir is scoped to $prof; run 'shellvault auth $prof'"
  fi
  return rc
}

_shellvault_scope_sync() { # [force] [mode]
  emulate -L zsh
  local force=${1-} mode=${2:-hook} REPLY
  if [[ -z $force && ${#__sv_sess} == 0 && -z $__sv_active_dir ]]; then
    _shellvault_dirs_file
    [[ -f $REPLY ]] || return 0
  fi
  _shellvault_load_saved
  _shellvault_match
  if [[ -z $force && $__sv_m_dir == $__sv_active_dir && $__sv_m_prof == $__sv_active_prof ]]; then
    return 0
  fi
  if [[ -n $__sv_active_dir ]]; then
    if [[ ${SHELLVAULT_PROFILE-} == $__sv_active_prof && ${SHELLVAULT_EXPIRES:-0} != 0 ]]; then
      _shellvault_save __sv_cache
      __sv_cache_prof=$__sv_active_prof __sv_cache_exp=${SHELLVAULT_EXPIRES-}
    fi
    if [[ -z $__sv_m_dir ]]; then
      _shellvault_restore __sv_out
      __sv_active_dir= __sv_active_prof= __sv_active_src=
      __sv_seen_cred="${SHELLVAULT_PROFILE-}:${SHELLVAULT_EXPIRES-}"
      __sv_owner=shell
      return 0
    fi
  else
    [[ -n $__sv_m_dir ]] || return 0
    _shellvault_save __sv_out
  fi
  __sv_active_dir=$__sv_m_dir __sv_active_prof=$__sv_m_prof __sv_active_src=$__sv_m_src
  _shellvault_apply $__sv_m_prof $mode
}

# ------------------------------------------------------------------ hooks
_shellvault_chpwd() {
  emulate -L zsh
  [[ -n ${__sv_noscope-} || $__sv_seen_pwd == $PWD ]] && return 0
  __sv_seen_pwd=$PWD
  _shellvault_scope_sync
}

# precmd: zsh restores $? and $pipestatus after precmd functions itself.
_shellvault_precmd() {
  emulate -L zsh
  if [[ $__sv_seen_pwd != $PWD ]]; then
    __sv_seen_pwd=$PWD
    _shellvault_scope_sync
  fi
  _shellvault_attribute
  [[ -n ${SHELLVAULT_EXPIRES-} ]] && _shellvault_check_expiry
  _shellvault_render
  [[ ${SHELLVAULT_PROMPT_AUTO:-0} != 0 ]] && _shellvault_auto_place
  if [[ -z $__sv_compdef_done ]]; then
    _shellvault_register_completion
  fi
  return 0
}

# ------------------------------------------------------------------ with-role
_shellvault_with_role_usage() {
  print -r -- 'usage: with-role PROFILE COMMAND [ARGS...]   run one command with PROFILE'"'"'s credentials
       with-role PROFILE                     use PROFILE in this directory tree (this shell)
       with-role --save PROFILE              ... and in every future shell (saved)
       with-role --off [--save]              end the scope here (--save: forget it too)
       with-role --forget                    same as --off --save
       with-role                             show what is active'
}

_shellvault_with_role_status() {
  emulate -L zsh
  local acct=${SHELLVAULT_ACCOUNT:+ ($SHELLVAULT_ACCOUNT)}
  local -i left
  if [[ -n ${SHELLVAULT_PROFILE-} ]]; then
    if [[ ${SHELLVAULT_EXPIRES-} == <-> ]]; then
      _shellvault_now
      left=$(( SHELLVAULT_EXPIRES - __sv_now ))
      _shellvault_fmt_ttl $left
      if (( left > 0 )); then
        print -r -- "shellvault: $SHELLVAULT_PROFILE$acct, $__sv_ttl left"
      else
        print -r -- "shellvault: $SHELLVAULT_PROFILE$acct, expired"
      fi
    else
      print -r -- "shellvault: $SHELLVAULT_PROFILE$acct"
    fi
  else
    print -r -- 'shellvault: no credentials in this shell'
  fi
  if [[ -n $__sv_active_dir ]]; then
    print -r -- "scope: $__sv_active_dir -> $__sv_active_prof ($__sv_active_src)"
  else
    print -r -- 'scope: none'
  fi
}

_shellvault_write_saved() { # DIR [PROFILE]
  emulate -L zsh
  local dir=$1 prof=${2-} REPLY line tmp
  _shellvault_dirs_file
  local file=$REPLY
  command mkdir -p ${file:h} || return 1
  tmp=$file.tmp.$$
  {
    if [[ -r $file ]]; then
      while IFS= read -r line || [[ -n $line ]]; do
        if [[ $line == *$'\t'* ]]; then
          [[ ${line%%$'\t'*} == ($dir|$dir/) ]] && continue
        fi
        print -r -- $line
      done <$file
    fi
    if [[ -n $prof ]]; then
      print -r -- "$dir"$'\t'"$prof"
    fi
  } >$tmp && command mv -f $tmp $file
}

# The admin side of with-role (scopes, status); runs under emulate.
_shellvault_with_role_admin() {
  emulate -L zsh
  local -i save=0 off=0 rc
  local prof dir
  while (( $# )); do
    case $1 in
      --save) save=1 ;;
      --off) off=1 ;;
      --forget) off=1 save=1 ;;
      -h|--help) _shellvault_with_role_usage; return 0 ;;
      --) shift; break ;;
      -*) print -ru2 -- "with-role: unknown option $1"; _shellvault_with_role_usage >&2; return 2 ;;
      *) break ;;
    esac
    shift
  done
  if (( off )); then
    dir=${__sv_active_dir:-$PWD}
    if [[ -z $__sv_active_dir ]] && (( ! save )); then
      print -ru2 -- 'with-role: no directory scope is active here'
      return 1
    fi
    unset "__sv_sess[$dir]"
    if (( save )); then
      _shellvault_write_saved $dir || return 1
    else
      __sv_off_dirs[$dir]=1
    fi
    _shellvault_scope_sync force interactive
    __sv_seen_pwd=$PWD
    _shellvault_render
    return 0
  fi
  if (( $# == 0 )); then
    if (( save )); then
      print -ru2 -- 'with-role: --save needs a PROFILE'
      return 2
    fi
    _shellvault_with_role_status
    return 0
  fi
  prof=$1
  shift
  if [[ $prof == *[$'\t\n']* ]]; then
    print -ru2 -- 'with-role: invalid profile name'
    return 2
  fi
  if (( $# )); then
    print -ru2 -- 'with-role: --save is for directory scopes (no COMMAND)'
    return 2
  fi
  dir=$PWD
  unset "__sv_off_dirs[$dir]"
  __sv_sess[$dir]=$prof
  [[ $__sv_cache_prof == $prof ]] || __sv_cache_prof=
  _shellvault_scope_sync force interactive
  rc=$?
  __sv_seen_pwd=$PWD
  if (( rc )); then
    unset "__sv_sess[$dir]"
    if [[ -n $__sv_active_dir ]]; then
      _shellvault_restore __sv_out
      __sv_active_dir= __sv_active_prof= __sv_active_src=
      __sv_seen_cred="${SHELLVAULT_PROFILE-}:${SHELLVAULT_EXPIRES-}"
    fi
    _shellvault_scope_sync
    return rc
  fi
  if (( save )); then
    _shellvault_write_saved $dir $prof || return 1
    unset "__sv_sess[$dir]"
    __sv_active_src=saved
  fi
  _shellvault_render
  return 0
}

# with-role PROFILE CMD [ARGS...]: CMD runs in a subshell, under the user's
# own options, with aliases and functions (the words are re-quoted and eval'd).
# Directory scopes are not followed inside it: a `cd` in CMD never swaps the
# credentials asked for.
with-role() {
  [[ ${1-} == -- && $# -ge 3 ]] && shift
  if (( $# >= 2 )) && [[ $1 != -* ]]; then
    local __sv_env
    __sv_env=$(command ${SHELLVAULT_BIN:-shellvault} env --shell zsh "$1") || return
    shift
    (
      __sv_noscope=1
      eval "$__sv_env" || exit
      eval "${(j: :)${(q-)@}}"
    )
    return
  fi
  _shellvault_with_role_admin "$@"
}

# ------------------------------------------------------------------ completion
# Profile names from $AWS_CONFIG_FILE or ~/.aws/config: `[profile X]` and
# `[default]` headers. grep picks the header lines (~2 ms for 10,000
# profiles in the C locale, ~6 times that in a UTF-8 one) and awk turns them
# into names (a regex for the usual `[profile X]`, else odd spacing,
# comments, CRLF); a single awk over the whole file took ~12 ms and zsh's
# own pattern matching ~85 ms. Duplicates are dropped by the cache (-U) and
# by compadd. The full list is cached until the file changes (mtime and
# size, from the zstat builtin); a TAB after a typed prefix, while the cache
# is cold, asks grep for the names starting with it only.
typeset -g __sv_profile_hdr='^[[:blank:]]*\[[[:blank:]]*'
typeset -g __sv_awk_profiles='{
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
  if (n != "") print n
}'

# Set array $1 to the names in file $2 whose header matches the ERE $3 after
# `[profile ` (and `[default]` if $4 is set; $5: -i, case-insensitively).
# Fails (2) when grep or awk cannot run.
_shellvault_profiles_read() {
  local alt="profile[[:blank:]]+$3" out
  [[ -n $4 ]] && alt="($alt|default[[:blank:]]*\\])"
  out=$(setopt pipefail 2>/dev/null
    LC_ALL=C command grep -E $5 -e "$__sv_profile_hdr$alt" -- $2 2>/dev/null |
      LC_ALL=C command awk $__sv_awk_profiles 2>/dev/null)
  (( $? > 1 )) && return 2
  set -A $1 ${(f)out}
  return 0
}

# __sv_profile_cfg, __sv_profile_key: the config file and its cache key
# (empty without zsh/stat); fails when the file cannot be read.
_shellvault_profiles_file() {
  __sv_profile_cfg=${AWS_CONFIG_FILE:-$HOME/.aws/config}
  __sv_profile_cfg=${~__sv_profile_cfg}
  __sv_profile_key=
  [[ -r $__sv_profile_cfg ]] || return 1
  if zmodload -F zsh/stat b:zstat 2>/dev/null; then
    local -A st
    zstat -H st -- $__sv_profile_cfg 2>/dev/null &&
      __sv_profile_key="$__sv_profile_cfg:${st[mtime]-}:${st[size]-}"
  fi
  return 0
}

# __sv_profile_cache: every profile name, read again when the file changes.
_shellvault_profiles_load() {
  emulate -L zsh
  setopt extended_glob
  local -a lines
  if ! _shellvault_profiles_file; then
    __sv_profile_cache=() __sv_profile_cache_key=
    return 1
  fi
  [[ -n $__sv_profile_key && $__sv_profile_key == $__sv_profile_cache_key ]] && return 0
  if ! _shellvault_profiles_read __sv_profile_cache $__sv_profile_cfg '[^][:blank:]]' 1; then
    lines=(${(M)${(f)"$(<$__sv_profile_cfg)"}:#[[:blank:]]#\[[[:blank:]]#(profile[[:blank:]]##[^\]]##|default)[[:blank:]]#\]*})
    lines=(${lines##[[:blank:]]#\[[[:blank:]]#(profile[[:blank:]]##|)})
    lines=(${lines%%[[:blank:]]#\]*})
    __sv_profile_cache=(${(u)lines})
  fi
  __sv_profile_cache_key=$__sv_profile_key
}

# reply=(every profile name).
_shellvault_profile_names() {
  emulate -L zsh
  reply=()
  _shellvault_profiles_load && reply=($__sv_profile_cache)
  return 0
}

# compadd the profile names for the word being completed; "$@": compadd's
# options from _wanted (-J, -X, -M, -F...). With a fresh cache: all of them
# (compadd matches). Else, after a typed prefix, when the matchers keep
# prefix matching (none, or case and `-`/`_` mappings: m:{a-z}={A-Z},
# oh-my-zsh's): only the names grep finds for it, a superset of compadd's
# matches, without reading 10,000 names into the shell.
_shellvault_compadd_profiles() {
  emulate -L zsh
  setopt extended_glob
  local -aU names
  local -a specs
  local i spec rest icase= pre=$PREFIX re dflt=
  _shellvault_profiles_file || return 1
  if [[ -n $__sv_profile_key && $__sv_profile_key == $__sv_profile_cache_key ]]; then
    compadd "$@" -a __sv_profile_cache
    return
  fi
  # (not under a compadd wrapper: _approximate's rewrites PREFIX)
  if [[ -n $pre && $pre == [A-Za-z0-9_@,=:/.+-]## ]] &&
     (( ! ${+functions[compadd]} && ! ${argv[(I)-[UpPsiI]]} )); then
    for (( i = 1; i < $#; i++ )); do
      [[ ${argv[i]} == -M ]] && specs+=(${=argv[i+1]})
    done
    for spec in $specs; do
      # m:{...}={...} with letters only as whole case classes
      rest=${${${${${spec#m:}//\[:(lower|upper):\]}//a-z}//A-Z}//[{}=\\_.-]}
      if [[ $spec == m:* && -z $rest ]]; then
        icase=-i
      else
        pre=
        break
      fi
    done
  else
    pre=
  fi
  if [[ -n $pre ]]; then
    if [[ -n $icase ]]; then
      re=${pre//[^A-Za-z0-9]/.}
      [[ $pre == [[:alnum:]]## && default == (#i)${pre}* ]] && dflt=1
    else
      re=${${pre//./\\.}//+/\\+}
      [[ default == ${pre}* ]] && dflt=1
    fi
    if _shellvault_profiles_read names $__sv_profile_cfg $re "$dflt" $icase; then
      compadd "$@" -a names
      return
    fi
  fi
  _shellvault_profiles_load || return 1
  compadd "$@" -a __sv_profile_cache
}

_shellvault_register_completion() {
  emulate -L zsh
  (( ${+functions[compdef]} )) || return 0
  if (( ! ${+functions[_shellvault]} )) && [[ -n $__sv_plugin_dir && -r $__sv_plugin_dir/_shellvault ]]; then
    autoload -Uz $__sv_plugin_dir/_shellvault
  fi
  (( ${+functions[_shellvault]} )) || return 0
  compdef _shellvault shellvault with-role
  __sv_compdef_done=1
}

# compinit has usually run already (oh-my-zsh, or plugins loaded after it);
# if not, the first precmd registers the completion. Run under zsh's own
# options: a user's ksh_arrays would make $fpath its first element only.
() {
  emulate -L zsh
  if [[ -n $__sv_plugin_dir && -r $__sv_plugin_dir/_shellvault ]]; then
    (( ${fpath[(Ie)$__sv_plugin_dir]} )) || fpath=($__sv_plugin_dir $fpath)
  fi
  _shellvault_register_completion
  autoload -Uz add-zsh-hook
  add-zsh-hook precmd _shellvault_precmd
  add-zsh-hook chpwd _shellvault_chpwd
}
