# shellcheck shell=bash
#
# shellvault's direnv extension: `use shellvault PROFILE` in an .envrc loads
# PROFILE's AWS credentials (and the rest of shellvault's environment contract:
# AWS_REGION, SHELLVAULT_PROFILE, SHELLVAULT_EXPIRES, ...) when you enter the
# directory; direnv unloads them when you leave, as it does everything else.
#
# Install (direnv sources every ~/.config/direnv/lib/*.sh before an .envrc):
#
#   shellvault init direnv > "${XDG_CONFIG_HOME:-$HOME/.config}/direnv/lib/shellvault.sh"
#
# Then, in a project:   echo 'use shellvault account-a' >> .envrc && direnv allow
#
# Behaviour:
# - A cached session is used as is: no prompt, one `shellvault env` run.
# - When an MFA code (or the file store's passphrase) is needed, shellvault asks
#   on /dev/tty if that can work: a terminal exists, direnv runs in its
#   foreground, the terminal is in line mode, and the shell is not fish (fish
#   keeps the terminal in its own raw mode while direnv's hook runs, so a
#   typed code never reaches the reader: direnv issues #967, #1237). Otherwise,
#   or with SHELLVAULT_DIRENV_NO_PROMPT=1, it fails at once with one line
#   naming the command to run (`shellvault auth PROFILE`).
# - The profile's stamp file (shellvault rewrites it whenever it issues,
#   refreshes or clears that profile's session; it holds no secret) and the
#   AWS config file are always watched, also when loading fails: after
#   `shellvault auth PROFILE` in any shell, direnv reloads on the next prompt.
# - On any failure nothing is exported: only the complete output of a
#   successful `shellvault env` is evaluated.
#
# Settings (environment, or set in the .envrc before `use shellvault`):
#   SHELLVAULT_BIN                    the shellvault program (default: command -v shellvault)
#   SHELLVAULT_DIRENV_NO_PROMPT=1     never ask for input while direnv loads
#   SHELLVAULT_DIRENV_PROMPT_TIMEOUT  seconds to wait for a code (default 60; 0: no limit)
#
# Written for bash 3.2 and later (macOS), clean under `set -euo pipefail`
# (direnv's strict_env) and shellcheck.

# use_shellvault PROFILE
use_shellvault() {
  if [ "$#" -ne 1 ] || [ -z "${1:-}" ]; then
    __shellvault_direnv_error "shellvault: usage: use shellvault PROFILE"
    return 2
  fi
  local profile="$1" bin="${SHELLVAULT_BIN:-}" out="" errfile="" err="" rc=0
  # After `shellvault auth`, direnv reloads by itself: the stamp is watched. Not
  # under strict_env (set -e): there this failure ends the .envrc, and direnv
  # then keeps none of its watches.
  local then_what="direnv reloads by itself afterwards"
  case "$-" in
    *e*) then_what="then run 'direnv reload'" ;;
  esac

  if [ -z "$bin" ]; then
    bin=$(command -v shellvault 2>/dev/null) || bin=""
  fi
  if [ -z "$bin" ]; then
    __shellvault_direnv_watch "$profile"
    __shellvault_direnv_error "shellvault: command not found (put it on PATH or set SHELLVAULT_BIN)"
    return 127
  fi

  # 1. Never prompt: a cached session answers here (shellvault's hot path).
  # stdout (the assignments) stays in memory; stderr goes to a private temp file so
  # that an "MFA code needed" line can be replaced by the prompt below.
  errfile=$(mktemp "${TMPDIR:-/tmp}/shellvault-direnv.XXXXXX" 2>/dev/null) || errfile=""
  if [ -n "$errfile" ]; then
    out=$("$bin" env --shell bash --no-input "$profile" </dev/null 2>"$errfile") || rc=$?
    IFS= read -r -d '' err <"$errfile" || true
    rm -f "$errfile"
  else
    out=$("$bin" env --shell bash --no-input "$profile" </dev/null) || rc=$?
  fi

  # 2. An MFA code needed (exit 3): ask on the terminal when that is safe, else
  # say what to run. (Exit 4, the file store locked, and 5, an SSO sign-in,
  # are never asked for here: shellvault's own line says what to run.)
  if [ "$rc" -eq 3 ]; then
    local need="an MFA code" why="" login="" limit="${SHELLVAULT_DIRENV_PROMPT_TIMEOUT:-60}"
    local started="$SECONDS"
    case "$limit" in '' | *[!0-9]*) limit=60 ;; esac
    printf -v login 'shellvault auth %q' "$profile"
    why=$(__shellvault_direnv_no_prompt_reason)
    if [ -z "$why" ]; then
      local wait="Ctrl-C skips it"
      if [ "$limit" -gt 0 ]; then
        wait="${limit}s; $wait"
      fi
      __shellvault_direnv_status "shellvault: $profile needs $need ($wait)"
      rc=0 err=""
      out=$(__shellvault_direnv_prompting_env "$bin" "$profile" "$limit" </dev/null) || rc=$?
      if [ "$rc" -ne 0 ]; then
        __shellvault_direnv_watch "$profile"
        # 130: SIGINT from the watchdog (or Ctrl-C); 143: its SIGTERM, 3 s later.
        case "$rc" in
          130 | 143)
            if [ "$limit" -gt 0 ] && [ $((SECONDS - started)) -ge "$limit" ]; then
              __shellvault_direnv_error "shellvault: $profile got no answer within" \
                "${limit}s: run '$login' in a terminal; $then_what"
              return "$rc"
            fi
            ;;
        esac
        # Otherwise shellvault has said why, on the terminal.
        return "$rc"
      fi
    else
      __shellvault_direnv_watch "$profile"
      __shellvault_direnv_error "shellvault: $profile needs $need and direnv will not" \
        "ask for it ($why): run '$login' in a terminal; $then_what"
      return 3
    fi
  fi

  __shellvault_direnv_watch "$profile"

  if [ "$rc" -ne 0 ]; then
    if [ -n "$err" ]; then
      __shellvault_direnv_error_lines "$err"
    else
      __shellvault_direnv_error "shellvault: 'shellvault env $profile' failed (exit code $rc)"
    fi
    return "$rc"
  fi

  # 3. Evaluate only a complete answer: exit 0, credentials and profile present.
  case "$out" in
    *AWS_ACCESS_KEY_ID=*SHELLVAULT_PROFILE=*) ;;
    *)
      __shellvault_direnv_error "shellvault: 'shellvault env $profile' printed no credentials; nothing was loaded"
      return 1
      ;;
  esac
  if [ -n "$err" ]; then
    printf '%s' "$err" >&2 # notices of a successful run, as shellvault wrote them
  fi
  eval "$out"
}

# Why shellvault must not ask on the terminal now (empty: it may ask).
__shellvault_direnv_no_prompt_reason() {
  case "${SHELLVAULT_DIRENV_NO_PROMPT:-}" in
    '' | 0 | false | no) ;;
    *)
      echo "SHELLVAULT_DIRENV_NO_PROMPT is set"
      return 0
      ;;
  esac
  if ! { : </dev/tty; } 2>/dev/null; then
    echo "no terminal"
    return 0
  fi
  if __shellvault_direnv_parent_is_fish; then
    echo "fish's direnv hook keeps the terminal from it"
    return 0
  fi
  if ! __shellvault_direnv_in_foreground; then
    echo "direnv runs in the background"
    return 0
  fi
  local modes=""
  modes=$(stty -a </dev/tty 2>/dev/null) || modes="-icanon"
  case "$modes" in
    *-icanon* | *-icrnl*)
      echo "the terminal is not in line mode"
      return 0
      ;;
  esac
  return 0
}

# True when direnv evaluates this .envrc for fish (`direnv export fish`).
__shellvault_direnv_parent_is_fish() {
  local args="" arg=""
  if [ -r "/proc/$PPID/cmdline" ]; then
    while IFS= read -r -d '' arg; do
      args="$args $arg"
    done <"/proc/$PPID/cmdline"
  else
    args=" $(ps -o args= -p "$PPID" 2>/dev/null)" || args=""
  fi
  case "$args " in
    *" export fish "*) return 0 ;;
  esac
  return 1
}

# True when this bash's process group owns the terminal (else a read of /dev/tty
# would stop the reader with SIGTTIN, or fail).
__shellvault_direnv_in_foreground() {
  local stat=""
  if [ -r "/proc/$$/stat" ]; then
    IFS= read -r stat <"/proc/$$/stat" || true
    stat=${stat##*) }
    local IFS=' '
    # shellcheck disable=SC2086 # split the fields on purpose
    set -- $stat
    # state ppid pgrp session tty_nr tpgid ...
    [ "$#" -ge 6 ] && [ "$3" = "$6" ]
    return
  fi
  case "$(ps -o stat= -p "$$" 2>/dev/null)" in
    *+*) return 0 ;;
  esac
  return 1
}

# Runs inside $(...): shellvault env with prompting allowed, interrupted (SIGINT,
# as a Ctrl-C would: the terminal is restored and nothing is changed) after
# LIMIT seconds. shellvault replaces this subshell, so it stays in the terminal's
# foreground group and Ctrl-C reaches it directly.
__shellvault_direnv_prompting_env() { # BIN PROFILE LIMIT
  if [ "$3" -gt 0 ]; then
    local self="${BASHPID:-}"
    if [ -z "$self" ]; then # bash 3.2: no BASHPID
      # shellcheck disable=SC2016 # $PPID is sh's own
      self=$(exec sh -c 'echo "$PPID"')
    fi
    __shellvault_direnv_watchdog "$self" "$3" </dev/null >/dev/null 2>&1 &
  fi
  exec "$1" env --shell bash "$2"
}

# Interrupt PID after SECONDS unless it has exited; it checks every second, so
# it never outlives PID by more than a second.
__shellvault_direnv_watchdog() { # PID SECONDS
  local pid="$1" left="$2"
  while [ "$left" -gt 0 ]; do
    sleep 1
    kill -0 "$pid" 2>/dev/null || return 0
    left=$((left - 1))
  done
  kill -INT "$pid" 2>/dev/null || return 0
  sleep 3
  kill -0 "$pid" 2>/dev/null || return 0
  kill -TERM "$pid" 2>/dev/null || true
}

# watch_file the profile's stamp and the AWS config file, as shellvault names
# them: `shellvault hook bash -- direnv-watch PROFILE` prints the two paths, one
# per line (read as data, never evaluated; no path rule here).
__shellvault_direnv_watch() { # PROFILE
  local bin="${SHELLVAULT_BIN:-}" out="" stamp="" config=""
  if [ -z "$bin" ]; then
    bin=$(command -v shellvault 2>/dev/null) || return 0
  fi
  out=$("$bin" hook bash -- direnv-watch "$1" </dev/null 2>/dev/null) || return 0
  stamp=${out%%$'\n'*}
  config=${out#*$'\n'}
  case "$stamp:$config" in
    /*:/*) ;;
    *) return 0 ;;
  esac
  if declare -F watch_file >/dev/null 2>&1; then
    watch_file "$stamp" "$config"
  fi
}

__shellvault_direnv_status() {
  if declare -F log_status >/dev/null 2>&1; then
    log_status "$*"
  else
    printf '%s\n' "$*" >&2
  fi
}

# Errors are shown even when DIRENV_LOG_FORMAT is empty (direnv's chatter
# silenced): a project without its credentials must say why.
__shellvault_direnv_error() {
  if [ -n "${DIRENV_LOG_FORMAT:-}" ] && declare -F log_error >/dev/null 2>&1; then
    log_error "$*"
  else
    printf '%s\n' "$*" >&2
  fi
}

__shellvault_direnv_error_lines() { # TEXT: each non-empty line through log_error
  local line=""
  while IFS= read -r line || [ -n "$line" ]; do
    if [ -n "$line" ]; then
      __shellvault_direnv_error "$line"
    fi
  done <<EOF
$1
EOF
}
