# shellvault: fish integration.
#
#   shellvault init fish | source          # in ~/.config/fish/config.fish
#   or link this file into ~/.config/fish/conf.d/ (and completions/shellvault.fish
#   into ~/.config/fish/completions/): no Python at start-up.
#
# Gives: shellvault_prompt (for fish_prompt / fish_right_prompt), auto-refresh
# near expiry, `with-role` and completion. Every decision is shellvault's
# (`shellvault hook`, shellvault/hook.py): this file asks only when something
# can have changed, saves and restores variables, and draws the segment with
# builtins; its sections match the bash and zsh plugins'. Settings: as in
# shell/bash/shellvault.bash (SHELLVAULT_PROMPT_AUTO=1/right: fish_right_prompt,
# left: fish_prompt).

status is-interactive; or return 0
set -gx SHELLVAULT_PLUGIN fish

# ------------------------------------------------------------------ state
set -g __sv_vars AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN AWS_SECURITY_TOKEN \
    AWS_CREDENTIAL_EXPIRATION AWS_SESSION_EXPIRATION AWS_REGION AWS_DEFAULT_REGION \
    AWS_PROFILE AWS_DEFAULT_PROFILE SHELLVAULT_PROFILE SHELLVAULT_ACCOUNT SHELLVAULT_EXPIRES

# Kept when the file is sourced again; see shell/bash/shellvault.bash.
for __sv_v in __sv_hs __sv_deadline __sv_watch __sv_watch_seen __sv_dirs_file __sv_dirs_seen \
        __sv_seen_cred __sv_seen_pwd __sv_seen_bk __sv_seen_diff __sv_bounds __sv_render_key \
        __sv_plain __sv_state
    set -q $__sv_v; or set -g $__sv_v
end
set -e __sv_v
set -q __sv_warn[1]; or set -g __sv_warn 0
set -q __sv_wr_depth[1]; or set -g __sv_wr_depth 0
set -q __sv_render_until[1]; or set -g __sv_render_until 0
set -g __sv_up 0

# The clock without a process: __sv_up, whole seconds of /proc/uptime (suspend
# counts) and __sv_clock_base, the epoch minus that, from one `date +%s`.
# Without /proc/uptime (macOS): `date +%s` per prompt that needs the time.
function __shellvault_clock
    if test -r /proc/uptime
        read -l -d . up rest </proc/uptime
        set -g __sv_up $up
        set -q __sv_clock_base[1]; or set -g __sv_clock_base (math (command date +%s) - $up)
    else
        set -g __sv_up (command date +%s)
        set -g __sv_clock_base 0
    end
end

function __shellvault_now --description 'seconds since the epoch, without a process on Linux'
    __shellvault_clock
    set -g __sv_now (math $__sv_clock_base + $__sv_up)
end

# ------------------------------------------------------------------ prompt
function __shellvault_fmt_ttl --argument-names left
    if test $left -le 0
        set -q SHELLVAULT_PROMPT_EXPIRED_TEXT; and echo $SHELLVAULT_PROMPT_EXPIRED_TEXT
        or echo expired
    else if test $left -lt 60
        echo {$left}s
    else if test $left -lt 3600
        echo (math --scale=0 "floor($left / 60)")m
    else
        printf '%dh%02dm\n' (math --scale=0 "floor($left / 3600)") (math --scale=0 "floor(($left % 3600) / 60)")
    end
end

# __sv_plain (text; control characters as '?') and __sv_state ('' ok warn
# expired). Cached until the clock reaches __sv_render_until or something it
# shows changes: command substitutions cost ~0.1-0.3 ms each in fish.
function __shellvault_render
    if test -z "$SHELLVAULT_PROFILE"
        set -g __sv_plain
        set -g __sv_state
        set -g __sv_render_key
        return 0
    end
    set -l f 0
    set -q SHELLVAULT_PROMPT_FORMAT; and set f "1:$SHELLVAULT_PROMPT_FORMAT"
    set -l t 0
    set -q SHELLVAULT_PROMPT_EXPIRED_TEXT; and set t "1:$SHELLVAULT_PROMPT_EXPIRED_TEXT"
    set -l key "$SHELLVAULT_PROFILE|$SHELLVAULT_EXPIRES|$SHELLVAULT_ACCOUNT|$__sv_warn|$f|$t|$AWS_REGION|$AWS_DEFAULT_REGION"
    __shellvault_clock
    test "$key" = "$__sv_render_key"; and test $__sv_up -lt $__sv_render_until; and return 0
    set -l ttl
    set -g __sv_state ok
    set -g __sv_render_until 2147483647
    if string match -qr '^[0-9]+$' -- "$SHELLVAULT_EXPIRES"
        set -l now (math $__sv_clock_base + $__sv_up)
        set -l left (math $SHELLVAULT_EXPIRES - $now)
        set -l change 2147483647 # when what is shown changes next (epoch seconds)
        if test $left -le 0
            set -g __sv_state expired
        else
            test $left -le $__sv_warn; and set -g __sv_state warn
            if test $left -lt 60
                set change (math $now + 1)
            else
                set change (math "min($SHELLVAULT_EXPIRES - 60 * floor($left / 60) + 1, $SHELLVAULT_EXPIRES)")
            end
            test $left -gt $__sv_warn; and set change (math "min($change, $SHELLVAULT_EXPIRES - $__sv_warn)")
        end
        test $change -lt 2147483647; and set -g __sv_render_until (math $change - $__sv_clock_base)
        set ttl (__shellvault_fmt_ttl $left)
    end
    set -l fmt 'aws:{profile} {ttl}'
    set -q SHELLVAULT_PROMPT_FORMAT; and set fmt "$SHELLVAULT_PROMPT_FORMAT"
    set -l region $AWS_REGION
    test -n "$region"; or set region $AWS_DEFAULT_REGION
    set -g __sv_plain (string replace -a -- '{profile}' "$SHELLVAULT_PROFILE" "$fmt" |
        string replace -a -- '{account}' "$SHELLVAULT_ACCOUNT" | string replace -a -- '{ttl}' "$ttl" |
        string replace -a -- '{region}' "$region" | string replace -ra -- '[[:cntrl:]]' '?' |
        string trim -r)
    set -g __sv_render_key $key
end

function shellvault_prompt --description 'shellvault prompt segment: profile and time left'
    __shellvault_render
    test -n "$__sv_plain"; or return 0
    set -l color 32
    set -q SHELLVAULT_PROMPT_COLOR; and set color $SHELLVAULT_PROMPT_COLOR
    if test "$__sv_state" = warn
        set color 33
        set -q SHELLVAULT_PROMPT_WARN_COLOR; and set color $SHELLVAULT_PROMPT_WARN_COLOR
    else if test "$__sv_state" = expired
        set color 31
        set -q SHELLVAULT_PROMPT_EXPIRED_COLOR; and set color $SHELLVAULT_PROMPT_EXPIRED_COLOR
    end
    if test "$argv[1]" = --plain; or test -z "$color"
        printf '%s' $__sv_plain
    else
        printf '\e[%sm%s\e[0m' $color $__sv_plain
    end
end

# SHELLVAULT_PROMPT_AUTO: wrap fish_right_prompt (or fish_prompt with `left`)
# once, at the first prompt, after config.fish and themes ran.
function __shellvault_auto_place
    set -q __sv_auto_done; and return 0
    set -g __sv_auto_done 1
    set -l target fish_right_prompt
    test "$SHELLVAULT_PROMPT_AUTO" = left; and set target fish_prompt
    if functions -q $target
        functions -c $target __shellvault_orig_$target
    else
        function __shellvault_orig_$target
        end
    end
    if test $target = fish_prompt
        function fish_prompt
            set -l seg (shellvault_prompt)
            test -n "$seg"; and printf '%s ' $seg
            __shellvault_orig_fish_prompt
        end
    else
        function fish_right_prompt
            set -l seg (shellvault_prompt)
            __shellvault_orig_fish_right_prompt
            test -n "$seg"; and printf ' %s' $seg
        end
    end
end

# ------------------------------------------------------------------ variables
# __shellvault_save SLOT: globals __sv_SLOT_set / _x / _val_<VAR> (global
# scope only: a universal variable shows through again once the global copy
# is erased); __shellvault_restore SLOT puts them back.
function __shellvault_save --argument-names slot
    set -l p __sv_$slot
    set -g {$p}_set
    set -g {$p}_x
    for n in $__sv_vars
        set -e {$p}_val_$n
        set -q -g $n; or continue
        set -a {$p}_set $n
        set -q -g -x $n; and set -a {$p}_x $n
        set -g {$p}_val_$n $$n
    end
end

function __shellvault_restore --argument-names slot
    set -l p __sv_$slot
    set -l setv {$p}_set
    set -l xv {$p}_x
    for n in $__sv_vars
        set -l valv {$p}_val_$n
        set -e -g $n
        contains -- $n $$setv; or continue
        contains -- $n $$xv; and set -gx $n $$valv; or set -gu $n $$valv
    end
end

# ------------------------------------------------------------------ asking shellvault
function __shellvault_bkey --description 'which of __sv_bounds hold $PWD'
    set -g __sv_bk
    for d in $__sv_bounds
        if test "$d" = /; or test (string sub -l (string length -- "$d/") -- "$PWD/") = "$d/"
            set -g __sv_bk "$__sv_bk|$d"
        end
    end
end

function __shellvault_dirs_read --description "the saved-scopes file's text"
    set -g __sv_dc
    test -n "$__sv_dirs_file"; and test -r "$__sv_dirs_file"; and read -z -g __sv_dc <$__sv_dirs_file
    return 0
end

# After an answer: what the gate compares with until the next one.
function __shellvault_seen
    set -g __sv_seen_cred "$SHELLVAULT_PROFILE:$SHELLVAULT_EXPIRES:$SHELLVAULT_REFRESH_WITHIN:$SHELLVAULT_PROMPT_WARN"
    set -g __sv_seen_pwd $PWD
    __shellvault_bkey
    set -g __sv_seen_bk $__sv_bk
    __shellvault_dirs_read
    set -g __sv_dirs_seen $__sv_dc
end

# __shellvault_ask QUESTION [ARGS]: run `shellvault hook fish` and its answer
# (see the bash plugin for why the deadline and watch are cleared first).
function __shellvault_ask
    set -l bin shellvault
    test -n "$SHELLVAULT_BIN"; and set bin $SHELLVAULT_BIN
    set -l args --state "$__sv_hs" --pwd "$PWD" --profile "$SHELLVAULT_PROFILE" \
        --expires "$SHELLVAULT_EXPIRES" --within "$SHELLVAULT_REFRESH_WITHIN" \
        --warn "$SHELLVAULT_PROMPT_WARN" --account "$SHELLVAULT_ACCOUNT" \
        --cred-changed "$__sv_cchg" --diff-changed "$__sv_dchg" -- $argv
    set -g __sv_deadline
    set -g __sv_watch
    if test "$argv[1]" = prompt
        command $bin hook fish $args </dev/null 2>/dev/null | source
    else
        command $bin hook fish $args | source
    end
    set -l rc $pipestatus[1]
    set -e __sv_clock_base # take the clock's baseline again: a process ran anyway
    __shellvault_seen
    return $rc
end

# ------------------------------------------------------------------ the hook
# Builtins only until something can have changed (see the bash plugin).
function __shellvault_gate
    set -l why
    set -g __sv_cchg 0
    set -g __sv_dchg 0
    test "$DIRENV_DIFF" = "$__sv_seen_diff"; or set -g __sv_dchg 1
    set -g __sv_seen_diff "$DIRENV_DIFF"
    if test "$SHELLVAULT_PROFILE:$SHELLVAULT_EXPIRES:$SHELLVAULT_REFRESH_WITHIN:$SHELLVAULT_PROMPT_WARN" != "$__sv_seen_cred"
        set why cred
        set -g __sv_cchg 1
    else if test "$PWD" != "$__sv_seen_pwd"
        set -g __sv_seen_pwd $PWD
        __shellvault_bkey
        __shellvault_dirs_read
        test "$__sv_bk" = "$__sv_seen_bk"; and test "$__sv_dc" = "$__sv_dirs_seen"; or set why pwd
    end
    if test -z "$why"; and test -n "$__sv_deadline"
        __shellvault_now
        test $__sv_now -ge $__sv_deadline; and set why time
    end
    if test -z "$why"; and test -n "$__sv_watch"
        set -l s
        test -r $__sv_watch; and read -l s <$__sv_watch
        test "$s" = "$__sv_watch_seen"; or set why stamp
    end
    test -z "$why"; or __shellvault_ask prompt
end

function __shellvault_on_pwd --on-variable PWD
    test $__sv_wr_depth -gt 0; or __shellvault_gate
end

# fish keeps $status and $pipestatus for the prompt across event handlers. A
# with-role COMMAND cancelled by Ctrl-C never reached its restore: done here.
function __shellvault_on_prompt --on-event fish_prompt
    while test $__sv_wr_depth -gt 0
        __shellvault_restore wr$__sv_wr_depth
        set -g __sv_wr_depth (math $__sv_wr_depth - 1)
    end
    __shellvault_gate
    if test -n "$SHELLVAULT_PROMPT_AUTO"; and test "$SHELLVAULT_PROMPT_AUTO" != 0
        __shellvault_auto_place
    end
end

# ------------------------------------------------------------------ with-role
# with-role [--server] [--region R] PROFILE COMMAND...: fish has no subshell:
# save the variables, apply, run COMMAND (a function or alias too), restore.
# Every other form (scopes, status, usage) is shellvault's.
function with-role --description 'run a command with, or scope this directory to, a shellvault profile'
    set -l server
    set -l region
    set -l i 1
    while set -q argv[$i]
        switch $argv[$i]
            case --server
                set server 1
            case --region
                set i (math $i + 1)
                set region --region $argv[$i]
            case --
                set i (math $i + 1)
                break
            case '*'
                break
        end
        set i (math $i + 1)
    end
    set -l rest $argv[$i..-1]
    if not set -q rest[2]; or string match -q -- '-*' $rest[1]
        __shellvault_ask with-role $argv
        set -l rc $status
        set -g __sv_render_key
        return $rc
    end
    set -l bin shellvault
    test -n "$SHELLVAULT_BIN"; and set bin $SHELLVAULT_BIN
    if test -n "$server"
        command $bin exec --server $region $rest[1] -- $rest[2..-1]
        return
    end
    set -l out (command $bin env --shell fish $region $rest[1])
    set -l rc $status
    test $rc -eq 0; or return $rc
    set -l depth (math $__sv_wr_depth + 1)
    __shellvault_save wr$depth
    set -g __sv_wr_depth $depth
    printf '%s\n' $out | source
    $rest[2..-1]
    set rc $status
    __shellvault_restore wr$depth
    set -g __sv_wr_depth (math $depth - 1)
    return $rc
end

# ------------------------------------------------------------------ completion
# completions/shellvault.fish and completions/with-role.fish (fish autoloads
# them from ~/.config/fish/completions; `shellvault init fish` appends them).
