# shellvault: zsh integration.
#
#   eval "$(shellvault init zsh)"                    # in ~/.zshrc
#   source /path/to/shell/zsh/shellvault.plugin.zsh  # same, no Python at start-up
#   (oh-my-zsh, antidote, zinit: load shell/zsh as a plugin)
#
# Gives: a prompt segment ($SHELLVAULT_PROMPT_SEGMENT / shellvault_prompt),
# auto-refresh near expiry, `with-role` and completion (_shellvault). Every
# decision is shellvault's (`shellvault hook`, shellvault/hook.py): this file
# asks only when something can have changed, saves and restores variables, and
# draws the segment with builtins; its sections match the bash and fish
# plugins'. Hooks via add-zsh-hook (precmd, chpwd); functions run under
# `emulate -L zsh`, so the user's options do not matter.
#
# Settings: as in shell/bash/shellvault.bash; SHELLVAULT_PROMPT_AUTO=1 or
# right puts the segment in RPROMPT, left in PROMPT.

[[ -n ${ZSH_VERSION-} ]] || return 0
export SHELLVAULT_PLUGIN=zsh

# ------------------------------------------------------------------ state
typeset -ga __sv_vars
set -A __sv_vars AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN AWS_SECURITY_TOKEN \
  AWS_CREDENTIAL_EXPIRATION AWS_SESSION_EXPIRATION AWS_REGION AWS_DEFAULT_REGION \
  AWS_PROFILE AWS_DEFAULT_PROFILE SHELLVAULT_PROFILE SHELLVAULT_ACCOUNT SHELLVAULT_EXPIRES

# Kept when the file is sourced again; see shell/bash/shellvault.bash.
typeset -g SHELLVAULT_PROMPT_SEGMENT="${SHELLVAULT_PROMPT_SEGMENT-}" __sv_hs="${__sv_hs-}"
typeset -g __sv_deadline="${__sv_deadline-}" __sv_warn="${__sv_warn-0}"
typeset -g __sv_watch="${__sv_watch-}" __sv_watch_seen="${__sv_watch_seen-}"
typeset -g __sv_dirs_file="${__sv_dirs_file-}" __sv_dirs_seen="${__sv_dirs_seen-}"
typeset -g __sv_seen_cred="${__sv_seen_cred-}" __sv_seen_pwd="${__sv_seen_pwd-}"
typeset -g __sv_seen_bk="${__sv_seen_bk-}" __sv_seen_diff="${__sv_seen_diff-}"
typeset -ga __sv_bounds
typeset -gA __sv_out __sv_cache
typeset -g __sv_plain= __sv_state= __sv_ttl= __sv_now=0 __sv_key= __sv_bk= __sv_dc=
typeset -g __sv_cchg=0 __sv_dchg=0 __sv_rprompt_set= __sv_compdef_done="${__sv_compdef_done-}"

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

# ------------------------------------------------------------------ prompt
_shellvault_fmt_ttl() { # $1 seconds left -> __sv_ttl
  emulate -L zsh
  local -i left=$1
  if (( left <= 0 )); then
    __sv_ttl=${SHELLVAULT_PROMPT_EXPIRED_TEXT-expired}
  elif (( left < 60 )); then
    __sv_ttl="${left}s"
  elif (( left < 3600 )); then
    __sv_ttl="$(( left / 60 ))m"
  else
    __sv_ttl="$(( left / 3600 ))h${(l:2::0:)$(( (left % 3600) / 60 ))}m"
  fi
}

# SHELLVAULT_PROMPT_SEGMENT: prompt-ready (%-escapes, colours in %{...%});
# __sv_plain: the text; __sv_state: '' ok warn expired. Control characters
# in a name are shown as '?'.
_shellvault_render() {
  emulate -L zsh
  local prof=${SHELLVAULT_PROFILE-} exp=${SHELLVAULT_EXPIRES-} out color
  local -i left
  SHELLVAULT_PROMPT_SEGMENT= __sv_plain= __sv_state= __sv_ttl=
  [[ -n $prof ]] || return 0
  __sv_state=ok
  if [[ $exp == <-> ]]; then
    _shellvault_now
    left=$(( exp - __sv_now ))
    if (( left <= 0 )); then __sv_state=expired
    elif (( left <= __sv_warn )); then __sv_state=warn
    fi
    _shellvault_fmt_ttl $left
  fi
  out=${SHELLVAULT_PROMPT_FORMAT-'aws:{profile} {ttl}'}
  out=${out//\{profile\}/$prof}
  out=${out//\{account\}/${SHELLVAULT_ACCOUNT-}}
  out=${out//\{ttl\}/$__sv_ttl}
  out=${out//\{region\}/${AWS_REGION:-${AWS_DEFAULT_REGION-}}}
  out=${out//[[:cntrl:]]/?}
  while [[ $out == *' ' ]]; do out=${out% }; done
  __sv_plain=$out
  _shellvault_color
  out=${out//\%/%%}
  if [[ -n $color ]]; then
    SHELLVAULT_PROMPT_SEGMENT="%{"$'\e'"[${color}m%}${out}%{"$'\e'"[0m%}"
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

# shellvault_prompt [--plain|--ansi]: print the segment. In PROMPT/RPROMPT
# prefer '${SHELLVAULT_PROMPT_SEGMENT}' (prompt_subst; no subshell).
shellvault_prompt() {
  emulate -L zsh
  local color
  _shellvault_render
  case ${1-} in
    --plain) print -rn -- $__sv_plain ;;
    --ansi)
      _shellvault_color
      if [[ -n $color && -n $__sv_plain ]]; then
        print -rn -- $'\e'"[${color}m${__sv_plain}"$'\e[0m'
      else
        print -rn -- $__sv_plain
      fi
      ;;
    *) print -rn -- $SHELLVAULT_PROMPT_SEGMENT ;;
  esac
}

# SHELLVAULT_PROMPT_AUTO: with prompt_subst the variable is referenced once;
# without, the prompt is re-rendered around what the user (or a theme) set.
_shellvault_auto_place() {
  emulate -L zsh
  local ref='${SHELLVAULT_PROMPT_SEGMENT:+$SHELLVAULT_PROMPT_SEGMENT }' name=RPROMPT base
  [[ ${SHELLVAULT_PROMPT_AUTO-} == left ]] && name=PROMPT
  if [[ -o prompt_subst ]]; then
    [[ ${(P)name-} == *SHELLVAULT_PROMPT_SEGMENT* ]] || typeset -g $name="${ref}${(P)name-}"
    return 0
  fi
  base=${(P)name-}
  [[ -n $__sv_rprompt_set && $base == $__sv_rprompt_set ]] && base=${__sv_rprompt_base-}
  typeset -g __sv_rprompt_base=$base
  typeset -g $name="${SHELLVAULT_PROMPT_SEGMENT:+$SHELLVAULT_PROMPT_SEGMENT }$base"
  __sv_rprompt_set=${(P)name}
}

# ------------------------------------------------------------------ variables
# _shellvault_save SLOT: the variables into the associative array __sv_SLOT
# (VAR -> value, @VAR -> its type; no key: unset); _shellvault_restore SLOT.
_shellvault_save() {
  emulate -L zsh
  local n
  local -a kv
  for n in $__sv_vars; do
    (( ${(P)+n} )) && kv+=("$n" "${(P)n}" "@$n" "${(Pt)n}")
  done
  set -A __sv_$1 "${kv[@]}"
}

_shellvault_restore() {
  emulate -L zsh
  local arr=__sv_$1 n
  local -A saved
  saved=("${(@Pkv)arr}")
  for n in $__sv_vars; do
    unset $n
    (( ${+saved[$n]} )) || continue
    if [[ ${saved[@$n]-} == *export* ]]; then
      export $n="${saved[$n]}"
    else
      typeset -g $n="${saved[$n]}"
    fi
  done
}

# ------------------------------------------------------------------ asking shellvault
_shellvault_credkey() { # what, when it changes, needs an answer -> __sv_key
  __sv_key="${SHELLVAULT_PROFILE-}:${SHELLVAULT_EXPIRES-}:${SHELLVAULT_REFRESH_WITHIN-}"
  __sv_key="$__sv_key:${SHELLVAULT_PROMPT_WARN-}"
}

_shellvault_bkey() { # which of __sv_bounds hold $PWD -> __sv_bk
  emulate -L zsh
  local -i i
  __sv_bk=
  for (( i = 1; i <= $#__sv_bounds; i++ )); do
    [[ $__sv_bounds[i] == / || $PWD/ == "$__sv_bounds[i]"/* ]] && __sv_bk+=" $i"
  done
}

_shellvault_dirs_read() { # the saved-scopes file's text -> __sv_dc
  __sv_dc=
  [[ -n $__sv_dirs_file && -r $__sv_dirs_file ]] && IFS= read -r -d '' __sv_dc <$__sv_dirs_file
  return 0
}

# After an answer: what the gate compares with until the next one.
_shellvault_seen() {
  _shellvault_credkey
  _shellvault_bkey
  _shellvault_dirs_read
  __sv_seen_cred=$__sv_key __sv_seen_pwd=$PWD __sv_seen_bk=$__sv_bk __sv_dirs_seen=$__sv_dc
}

# _shellvault_ask QUESTION [ARGS]: run `shellvault hook zsh` and its answer
# (see the bash plugin for why the deadline and watch are cleared first).
_shellvault_ask() {
  emulate -L zsh
  local out
  local -i rc
  local -a args
  args=(--state "$__sv_hs" --pwd "$PWD" --profile "${SHELLVAULT_PROFILE-}"
    --expires "${SHELLVAULT_EXPIRES-}" --within "${SHELLVAULT_REFRESH_WITHIN-}"
    --warn "${SHELLVAULT_PROMPT_WARN-}" --account "${SHELLVAULT_ACCOUNT-}"
    --cred-changed "$__sv_cchg" --diff-changed "$__sv_dchg" -- "$@")
  __sv_deadline= __sv_watch=
  if [[ $1 == prompt ]]; then
    out=$(command ${SHELLVAULT_BIN:-shellvault} hook zsh "${args[@]}" </dev/null 2>/dev/null)
  else
    out=$(command ${SHELLVAULT_BIN:-shellvault} hook zsh "${args[@]}")
  fi
  rc=$?
  eval "$out"
  _shellvault_seen
  return rc
}

# ------------------------------------------------------------------ the hook
# Builtins only until something can have changed (see the bash plugin).
_shellvault_gate() {
  emulate -L zsh
  local why= s=
  _shellvault_now
  _shellvault_credkey
  __sv_cchg=0 __sv_dchg=0
  [[ ${DIRENV_DIFF-} == $__sv_seen_diff ]] || __sv_dchg=1
  __sv_seen_diff=${DIRENV_DIFF-}
  if [[ $__sv_key != $__sv_seen_cred ]]; then
    why=cred __sv_cchg=1
  elif [[ $PWD != $__sv_seen_pwd ]]; then
    __sv_seen_pwd=$PWD
    _shellvault_bkey
    _shellvault_dirs_read
    [[ $__sv_bk == $__sv_seen_bk && $__sv_dc == $__sv_dirs_seen ]] || why=pwd
  fi
  if [[ -z $why && -n $__sv_deadline ]] && (( __sv_now >= __sv_deadline )); then
    why=time
  elif [[ -z $why && -n $__sv_watch ]]; then
    [[ -r $__sv_watch ]] && IFS= read -r s <$__sv_watch
    [[ $s == $__sv_watch_seen ]] || why=stamp
  fi
  [[ -z $why ]] || _shellvault_ask prompt
  return 0
}

# chpwd: a scope applies before the rest of a `cd dir && cmd` line runs.
_shellvault_chpwd() {
  [[ -n ${__sv_noscope-} ]] || _shellvault_gate
}

# precmd: zsh restores $? and $pipestatus after precmd functions itself.
_shellvault_precmd() {
  emulate -L zsh
  _shellvault_gate
  _shellvault_render
  [[ ${SHELLVAULT_PROMPT_AUTO:-0} == 0 ]] || _shellvault_auto_place
  [[ -n $__sv_compdef_done ]] || _shellvault_register_completion
  return 0
}

# ------------------------------------------------------------------ with-role
# with-role [--server] [--region R] PROFILE COMMAND...: COMMAND (a function or
# alias too) in a subshell, under the user's own options, with PROFILE's
# credentials; no scope is followed inside it. Every other form is shellvault's.
with-role() {
  local __sv_server= __sv_region= __sv_env
  local -a __sv_all
  __sv_all=("$@")
  while (( $# )); do
    case $1 in
      --server) __sv_server=1 ;;
      --region) (( $# >= 2 )) && __sv_region=$2 && shift ;;
      --) shift; break ;;
      *) break ;;
    esac
    shift
  done
  if (( $# >= 2 )) && [[ $1 != -* ]]; then
    local -a __sv_rarg
    [[ -n $__sv_region ]] && __sv_rarg=(--region "$__sv_region")
    if [[ -n $__sv_server ]]; then
      command ${SHELLVAULT_BIN:-shellvault} exec --server "${__sv_rarg[@]}" "$1" -- "${@:2}"
      return
    fi
    __sv_env=$(command ${SHELLVAULT_BIN:-shellvault} env --shell zsh "${__sv_rarg[@]}" "$1") ||
      return
    shift
    (
      __sv_noscope=1
      eval "$__sv_env" || exit
      eval "${(j: :)${(q-)@}}"
    )
    return
  fi
  _shellvault_with_role_ask "${__sv_all[@]}"
}

_shellvault_with_role_ask() {
  emulate -L zsh
  local -i rc
  _shellvault_ask with-role "$@"
  rc=$?
  _shellvault_render
  return rc
}

# ------------------------------------------------------------------ completion
# _shellvault (beside this file, or appended by `shellvault init zsh`); the
# first precmd registers it if compinit runs after this file.
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

# Run under zsh's own options: a user's ksh_arrays would make $fpath its
# first element only.
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
