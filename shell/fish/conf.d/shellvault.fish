# shellvault: fish integration.
#
#   shellvault init fish | source          # in ~/.config/fish/config.fish
#   or copy/link this file to ~/.config/fish/conf.d/ (and
#   completions/shellvault.fish to ~/.config/fish/completions/): no Python at
#   start-up.
#
# Gives: shellvault_prompt (for fish_prompt / fish_right_prompt; fish runs it
# in-process, no fork), auto-refresh of credentials near expiry, `with-role`
# (one command, or a directory tree) and completion of with-role.
#
# The clock: fish has no builtin for the time. On Linux the plugin reads
# /proc/uptime with the builtin `read` against a baseline taken with one
# `date +%s` when first needed (re-taken whenever shellvault runs anyway); on
# systems without /proc/uptime (macOS) it runs `date +%s` once per prompt, and
# only while SHELLVAULT_EXPIRES is set.
#
# Settings: the same variables as the bash and zsh plugins
# (SHELLVAULT_PROMPT_FORMAT, SHELLVAULT_PROMPT_COLOR, ..._WARN_COLOR,
# ..._EXPIRED_COLOR, ..._EXPIRED_TEXT, SHELLVAULT_PROMPT_WARN,
# SHELLVAULT_PROMPT_AUTO (1/right: fish_right_prompt, left: fish_prompt),
# SHELLVAULT_REFRESH_WITHIN, SHELLVAULT_BIN).

status is-interactive; or return 0

set -g __sv_vars AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN AWS_SECURITY_TOKEN \
    AWS_CREDENTIAL_EXPIRATION AWS_SESSION_EXPIRATION AWS_REGION AWS_DEFAULT_REGION \
    AWS_PROFILE AWS_DEFAULT_PROFILE SHELLVAULT_PROFILE SHELLVAULT_ACCOUNT SHELLVAULT_EXPIRES

# State survives sourcing the file again.
for __sv_v in __sv_seen_pwd __sv_seen_cred __sv_seen_diff __sv_failed_key __sv_failed_stamp \
        __sv_short_exp __sv_active_dir __sv_active_prof __sv_active_src __sv_cache_prof \
        __sv_cache_exp __sv_sess_dirs __sv_sess_profs __sv_off_dirs __sv_render_key __sv_plain \
        __sv_state __sv_direnv_wait
    set -q $__sv_v; or set -g $__sv_v
end
set -q __sv_owner; or set -g __sv_owner shell
set -q __sv_short_within; or set -g __sv_short_within 0
set -q __sv_wr_depth; or set -g __sv_wr_depth 0
set -q __sv_render_until; or set -g __sv_render_until 0
set -q __sv_refresh_up; or set -g __sv_refresh_up 2147483647
set -q __sv_up; or set -g __sv_up 0
set -e __sv_v

# __sv_up: whole seconds of a clock read without a process (Linux: the
# uptime, CLOCK_BOOTTIME, so suspend counts); __sv_clock_base: the epoch
# minus that clock, taken once with `date`. Without /proc/uptime (macOS):
# `date +%s` itself, base 0.
function __shellvault_clock
    if test -r /proc/uptime
        read -l -d . up rest </proc/uptime
        set -g __sv_up $up
        if not set -q __sv_clock_base[1]
            set -g __sv_clock_base (math (command date +%s) - $up)
        end
    else
        set -g __sv_up (command date +%s)
        set -g __sv_clock_base 0
    end
end

function __shellvault_now --description 'seconds since the epoch, without a process on Linux'
    __shellvault_clock
    set -g __sv_now (math $__sv_clock_base + $__sv_up)
end

function __shellvault_rebase --description 'take the clock baseline again (after a process ran anyway)'
    set -e __sv_clock_base
end

function __shellvault_int --argument-names value default
    if string match -qr '^[0-9]+$' -- "$value"
        echo $value
    else
        echo $default
    end
end

# ------------------------------------------------------------------ prompt
function __shellvault_fmt_ttl --argument-names left
    if test $left -le 0
        if set -q SHELLVAULT_PROMPT_EXPIRED_TEXT
            echo $SHELLVAULT_PROMPT_EXPIRED_TEXT
        else
            echo expired
        end
    else if test $left -lt 60
        echo {$left}s
    else if test $left -lt 3600
        echo (math --scale=0 "floor($left / 60)")m
    else
        set -l h (math --scale=0 "floor($left / 3600)")
        set -l m (math --scale=0 "floor(($left % 3600) / 60)")
        printf '%dh%02dm\n' $h $m
    end
end

# Sets __sv_plain (text) and __sv_state ('' ok warn expired), and
# __sv_refresh_up: the clock value (__sv_up) at which the refresh window
# opens. Cached: until the clock reaches __sv_render_until or one of the
# variables it depends on changes, it only reads the clock (builtins only,
# no command substitution: those cost ~0.1-0.3 ms each in fish).
function __shellvault_render
    if not set -q SHELLVAULT_PROFILE[1]; or test -z "$SHELLVAULT_PROFILE"
        set -g __sv_plain
        set -g __sv_state
        set -g __sv_render_key
        set -g __sv_refresh_up 2147483647
        return 0
    end
    set -l fset 0
    set -q SHELLVAULT_PROMPT_FORMAT; and set fset 1
    set -l tset 0
    set -q SHELLVAULT_PROMPT_EXPIRED_TEXT; and set tset 1
    set -l key "$SHELLVAULT_PROFILE|$SHELLVAULT_EXPIRES|$SHELLVAULT_ACCOUNT|$fset:$SHELLVAULT_PROMPT_FORMAT|$SHELLVAULT_PROMPT_WARN|$SHELLVAULT_REFRESH_WITHIN|$tset:$SHELLVAULT_PROMPT_EXPIRED_TEXT|$AWS_REGION|$AWS_DEFAULT_REGION|$__sv_short_exp|$__sv_short_within"
    __shellvault_clock
    if test "$key" = "$__sv_render_key"; and test $__sv_up -lt $__sv_render_until
        return 0
    end
    set -l ttl
    set -g __sv_state ok
    set -g __sv_render_until 2147483647
    set -g __sv_refresh_up 2147483647
    set -l exp $SHELLVAULT_EXPIRES
    if string match -qr '^[0-9]+$' -- "$exp"
        set -l now (math $__sv_clock_base + $__sv_up)
        set -l left (math $exp - $now)
        set -l within 300
        string match -qr '^[0-9]+$' -- "$SHELLVAULT_REFRESH_WITHIN"; and set within $SHELLVAULT_REFRESH_WITHIN
        set -l warn $within
        string match -qr '^[0-9]+$' -- "$SHELLVAULT_PROMPT_WARN"; and set warn $SHELLVAULT_PROMPT_WARN
        if test $within -gt 0
            set -l rwithin $within
            test "$exp" = "$__sv_short_exp"; and set rwithin $__sv_short_within
            set -g __sv_refresh_up (math $exp - $__sv_clock_base - $rwithin + 1)
        end
        # When does what is shown change next (epoch seconds)?
        set -l change 2147483647
        if test $left -le 0
            set -g __sv_state expired
        else
            test $left -le $warn; and set -g __sv_state warn
            if test $left -lt 60
                set change (math $now + 1)
            else
                set change (math "min($exp - 60 * floor($left / 60) + 1, $exp)")
            end
            test $left -gt $warn; and set change (math "min($change, $exp - $warn)")
        end
        test $change -lt 2147483647; and set -g __sv_render_until (math $change - $__sv_clock_base)
        set ttl (__shellvault_fmt_ttl $left)
    end
    set -l fmt 'aws:{profile} {ttl}'
    test $fset = 1; and set fmt "$SHELLVAULT_PROMPT_FORMAT"
    set -l region $AWS_REGION
    test -n "$region"; or set region $AWS_DEFAULT_REGION
    set -l out (string replace -a -- '{profile}' "$SHELLVAULT_PROFILE" "$fmt" |
        string replace -a -- '{account}' "$SHELLVAULT_ACCOUNT" |
        string replace -a -- '{ttl}' "$ttl" |
        string replace -a -- '{region}' "$region" |
        string trim -r)
    set -g __sv_plain "$out"
    set -g __sv_render_key $key
end

function __shellvault_color
    set -g __sv_color 32
    set -q SHELLVAULT_PROMPT_COLOR; and set -g __sv_color $SHELLVAULT_PROMPT_COLOR
    switch "$__sv_state"
        case warn
            set -g __sv_color 33
            set -q SHELLVAULT_PROMPT_WARN_COLOR; and set -g __sv_color $SHELLVAULT_PROMPT_WARN_COLOR
        case expired
            set -g __sv_color 31
            set -q SHELLVAULT_PROMPT_EXPIRED_COLOR; and set -g __sv_color $SHELLVAULT_PROMPT_EXPIRED_COLOR
    end
end

function shellvault_prompt --description 'shellvault prompt segment: profile and time left'
    __shellvault_render
    test -n "$__sv_plain"; or return 0
    __shellvault_color
    if test "$argv[1]" = --plain; or test -z "$__sv_color"
        printf '%s' $__sv_plain
    else
        printf '\e[%sm%s\e[0m' $__sv_color $__sv_plain
    end
end

# SHELLVAULT_PROMPT_AUTO: wrap fish_right_prompt (or fish_prompt with
# `left`) once, at the first prompt, after config.fish and themes ran.
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
# __shellvault_save PREFIX: globals PREFIX_set / PREFIX_val_<VAR> / PREFIX_x
function __shellvault_save --argument-names p
    set -l setl
    set -l xl
    # Global scope only: a universal variable shows through again by itself
    # once the global copy is erased.
    for n in $__sv_vars
        if set -q -g $n
            set -a setl $n
            set -q -g -x $n; and set -a xl $n
            set -g {$p}_val_$n $$n
        else
            set -e {$p}_val_$n
        end
    end
    set -g {$p}_set $setl
    set -g {$p}_x $xl
end

function __shellvault_restore --argument-names p
    set -l setv {$p}_set
    set -l xv {$p}_x
    for n in $__sv_vars
        set -l valv {$p}_val_$n
        # erase every scope's copy the plugin or `source` may have made
        set -e -g $n
        if contains -- $n $$setv
            if contains -- $n $$xv
                set -gx $n $$valv
            else
                set -gu $n $$valv
            end
        end
    end
end

# Erase the global NAME and hide a universal one behind an empty unexported
# global (never erase a universal variable: that is for good, on disk). The
# lines of `shellvault env --shell fish` do the same.
function __shellvault_unset --argument-names name
    set -e -g $name
    set -q -U $name; and set -g -u $name
    return 0
end

# Evaluate `shellvault env --shell fish` output (given as lines in $argv).
function __shellvault_source
    printf '%s\n' $argv | source
end

function __shellvault_unset_all
    for n in $__sv_vars
        __shellvault_unset $n
    end
end

function __shellvault_mark_ours
    set -g __sv_seen_cred "$SHELLVAULT_PROFILE:$SHELLVAULT_EXPIRES"
    set -g __sv_owner plugin
end

function __shellvault_attribute
    set -l cur "$SHELLVAULT_PROFILE:$SHELLVAULT_EXPIRES"
    if test "$cur" != "$__sv_seen_cred"
        if test -n "$DIRENV_DIR"; and test "$DIRENV_DIFF" != "$__sv_seen_diff"
            set -g __sv_owner direnv
        else
            set -g __sv_owner shell
        end
        set -g __sv_seen_cred $cur
    end
    set -g __sv_seen_diff "$DIRENV_DIFF"
end

# ------------------------------------------------------------------ refresh
function __shellvault_stamp --argument-names prof
    set -l dir $SHELLVAULT_STATE_DIR
    if test -z "$dir"
        set dir $XDG_STATE_HOME
        test -n "$dir"; or set dir $HOME/.local/state
        set dir $dir/shellvault
    end
    # as shellvault names it: % -> %25, then / -> %2F
    set -l f $dir/stamps/(string replace -a % %25 -- $prof | string replace -a / %2F)
    set -g __sv_stamp
    test -r $f; and read -g __sv_stamp <$f
    return 0
end

function __shellvault_hint --argument-names prof left
    if test $left -le 0
        printf "shellvault: %s credentials expired; run 'shellvault auth %s'\n" $prof $prof >&2
    else
        printf "shellvault: %s expires in %s; run 'shellvault auth %s'\n" $prof (__shellvault_fmt_ttl $left) $prof >&2
    end
end

# Run the shellvault command ($SHELLVAULT_BIN, default shellvault).
function __shellvault_cmd
    set -l bin shellvault
    test -n "$SHELLVAULT_BIN"; and set bin $SHELLVAULT_BIN
    command $bin $argv
end

# Credentials direnv loaded are refreshed without touching the shell: the run
# rewrites the profile's stamp, which direnv watches, and direnv reloads them.
function __shellvault_check_expiry
    set -l exp "$SHELLVAULT_EXPIRES"
    set -l prof "$SHELLVAULT_PROFILE"
    string match -qr '^[0-9]+$' -- $exp; or return 0
    test -n "$prof"; or return 0
    set -l within (__shellvault_int "$SHELLVAULT_REFRESH_WITHIN" 300)
    test $within -gt 0; or return 0
    __shellvault_now
    set -l left (math $exp - $__sv_now)
    if test -n "$__sv_direnv_wait"; and test "$exp" != "$__sv_direnv_wait"
        # direnv brought in what our last refresh made: a short session waits
        # for half of what it has, as below.
        set -g __sv_direnv_wait
        if test "$__sv_owner" = direnv; and test $left -lt $within
            set -g __sv_short_exp $exp
            set -g __sv_short_within (math --scale=0 "floor($left / 2)")
        end
    end
    if test "$exp" = "$__sv_short_exp"
        test $left -lt $__sv_short_within; or return 0
    else
        test $left -lt $within; or return 0
    end
    set -l noeval
    test "$__sv_owner" = direnv; and set noeval 1
    set -l phase warn
    test $left -le 0; and set phase expired
    set -l key "$prof:$exp:$phase"
    if test "$key" = "$__sv_failed_key"
        __shellvault_stamp $prof
        test "$__sv_stamp" != "$__sv_failed_stamp"; or return 0
    end
    set -l out
    set -l rc 0
    if test -n "$noeval"
        __shellvault_cmd env --shell fish --no-input --min-ttl (math 2 \* $within) $prof >/dev/null 2>&1 </dev/null
        set rc $status
    else
        set out (__shellvault_cmd env --shell fish --no-input --min-ttl (math 2 \* $within) $prof 2>/dev/null </dev/null)
        set rc $status
    end
    __shellvault_rebase
    if test $rc -eq 0; and test -n "$noeval"
        # Not again for these credentials: direnv replaces them at its next run.
        __shellvault_stamp $prof
        set -g __sv_failed_key $key
        set -g __sv_failed_stamp "$__sv_stamp"
        set -g __sv_direnv_wait $exp
        return 0
    end
    if test $rc -eq 0; and test -n "$out"
        __shellvault_source $out
        __shellvault_mark_ours
        set -g __sv_failed_key
        if string match -qr '^[0-9]+$' -- "$SHELLVAULT_EXPIRES"
            __shellvault_now
            set left (math $SHELLVAULT_EXPIRES - $__sv_now)
            if test $left -lt $within
                set -g __sv_short_exp $SHELLVAULT_EXPIRES
                set -g __sv_short_within (math --scale=0 "floor($left / 2)")
            end
        end
        return 0
    end
    __shellvault_stamp $prof
    test "$__sv_failed_key" != "$key"; and __shellvault_hint $prof $left
    set -g __sv_failed_key $key
    set -g __sv_failed_stamp "$__sv_stamp"
    return 0
end

# ------------------------------------------------------------------ directory scopes
function __shellvault_dirs_file
    set -l base $XDG_CONFIG_HOME
    test -n "$base"; or set base $HOME/.config
    echo $base/shellvault/directories
end

# Saved scopes: the user's own config file only (<dir><TAB><profile> lines).
function __shellvault_load_saved
    set -g __sv_saved_dirs
    set -g __sv_saved_profs
    set -l file (__shellvault_dirs_file)
    test -r $file; or return 0
    while read -l line
        string match -q -- '#*' $line; and continue
        set -l parts (string split -m 1 \t -- $line)
        test (count $parts) -eq 2; or continue
        set -l d $parts[1]
        set -l p $parts[2]
        test "$d" = '~'; and set d $HOME
        string match -q -- '~/*' $d; and set d $HOME/(string sub -s 3 -- $d)
        string match -q -- '/*' $d; or continue
        test -n "$p"; or continue
        while string match -q -- '?*/' $d
            set d (string sub -e -1 -- $d)
        end
        set -a __sv_saved_dirs $d
        set -a __sv_saved_profs $p
    end <$file
end

function __shellvault_under --argument-names dir
    test "$dir" = /; and return 0
    string match -q -- "$dir/*" "$PWD/"
end

function __shellvault_match
    set -g __sv_m_dir
    set -g __sv_m_prof
    set -g __sv_m_src
    set -l best -1
    set -l i 0
    while test $i -lt (count $__sv_saved_dirs)
        set i (math $i + 1)
        set -l d $__sv_saved_dirs[$i]
        contains -- $d $__sv_off_dirs; and continue
        if __shellvault_under $d; and test (string length -- $d) -gt $best
            set best (string length -- $d)
            set -g __sv_m_dir $d
            set -g __sv_m_prof $__sv_saved_profs[$i]
            set -g __sv_m_src saved
        end
    end
    set i 0
    while test $i -lt (count $__sv_sess_dirs)
        set i (math $i + 1)
        set -l d $__sv_sess_dirs[$i]
        if __shellvault_under $d; and test (string length -- $d) -ge $best
            set best (string length -- $d)
            set -g __sv_m_dir $d
            set -g __sv_m_prof $__sv_sess_profs[$i]
            set -g __sv_m_src session
        end
    end
end

function __shellvault_apply --argument-names prof mode
    set -l within (__shellvault_int "$SHELLVAULT_REFRESH_WITHIN" 300)
    if test "$prof" = "$__sv_cache_prof"; and string match -qr '^[0-9]+$' -- "$__sv_cache_exp"
        __shellvault_now
        if test (math $__sv_cache_exp - $__sv_now) -gt $within
            __shellvault_restore __sv_cache
            __shellvault_mark_ours
            return 0
        end
    end
    set -l out
    if test "$mode" = hook
        set out (__shellvault_cmd env --shell fish --no-input $prof 2>/dev/null </dev/null)
    else
        set out (__shellvault_cmd env --shell fish $prof)
    end
    set -l rc $status
    __shellvault_rebase
    if test $rc -eq 0
        __shellvault_source $out
        __shellvault_mark_ours
        return 0
    end
    if test "$mode" = hook
        __shellvault_unset_all
        set -gx SHELLVAULT_PROFILE $prof
        set -gx SHELLVAULT_EXPIRES 0
        __shellvault_mark_ours
        __shellvault_stamp $prof
        set -g __sv_failed_key "$prof:0:expired"
        set -g __sv_failed_stamp "$__sv_stamp"
        printf "shellvault: %s is scoped to %s; run 'shellvault auth %s'\n" $__sv_active_dir $prof $prof >&2
    end
    return $rc
end

function __shellvault_scope_sync --argument-names force mode
    test -n "$mode"; or set mode hook
    if test -z "$force"; and test (count $__sv_sess_dirs) -eq 0; and test -z "$__sv_active_dir"
        test -f (__shellvault_dirs_file); or return 0
    end
    __shellvault_load_saved
    __shellvault_match
    if test -z "$force"; and test "$__sv_m_dir" = "$__sv_active_dir"; and test "$__sv_m_prof" = "$__sv_active_prof"
        return 0
    end
    if test -n "$__sv_active_dir"
        if test "$SHELLVAULT_PROFILE" = "$__sv_active_prof"; and test -n "$SHELLVAULT_EXPIRES"; and test "$SHELLVAULT_EXPIRES" != 0
            __shellvault_save __sv_cache
            set -g __sv_cache_prof $__sv_active_prof
            set -g __sv_cache_exp $SHELLVAULT_EXPIRES
        end
        if test -z "$__sv_m_dir"
            __shellvault_restore __sv_out
            set -g __sv_active_dir
            set -g __sv_active_prof
            set -g __sv_active_src
            set -g __sv_seen_cred "$SHELLVAULT_PROFILE:$SHELLVAULT_EXPIRES"
            set -g __sv_owner shell
            return 0
        end
    else
        test -n "$__sv_m_dir"; or return 0
        __shellvault_save __sv_out
    end
    set -g __sv_active_dir $__sv_m_dir
    set -g __sv_active_prof $__sv_m_prof
    set -g __sv_active_src $__sv_m_src
    __shellvault_apply $__sv_m_prof $mode
end

# ------------------------------------------------------------------ hooks
# A with-role COMMAND interrupted by Ctrl-C never reaches its own restore
# (fish cancels the rest of the function): the next prompt does it.
function __shellvault_wr_cleanup
    while test $__sv_wr_depth -gt 0
        __shellvault_restore __sv_wr$__sv_wr_depth
        set -g __sv_wr_depth (math $__sv_wr_depth - 1)
    end
end

function __shellvault_on_pwd --on-variable PWD
    test $__sv_wr_depth -gt 0; and return 0
    test "$__sv_seen_pwd" = "$PWD"; and return 0
    set -g __sv_seen_pwd $PWD
    __shellvault_scope_sync
end

# fish keeps $status and $pipestatus for the prompt across event handlers.
function __shellvault_on_prompt --on-event fish_prompt
    test $__sv_wr_depth -gt 0; and __shellvault_wr_cleanup
    if test "$__sv_seen_pwd" != "$PWD"
        set -g __sv_seen_pwd $PWD
        __shellvault_scope_sync
    end
    __shellvault_attribute
    if test -n "$SHELLVAULT_EXPIRES"
        # builtins only while the refresh window is not open
        __shellvault_render
        test $__sv_up -ge $__sv_refresh_up; and __shellvault_check_expiry
    end
    if test -n "$SHELLVAULT_PROMPT_AUTO"; and test "$SHELLVAULT_PROMPT_AUTO" != 0
        __shellvault_auto_place
    end
end

# ------------------------------------------------------------------ with-role
function __shellvault_with_role_usage
    echo "usage: with-role PROFILE COMMAND [ARGS...]   run one command with PROFILE's credentials
       with-role PROFILE                     use PROFILE in this directory tree (this shell)
       with-role --save PROFILE              ... and in every future shell (saved)
       with-role --off [--save]              end the scope here (--save: forget it too)
       with-role --forget                    same as --off --save
       with-role                             show what is active"
end

function __shellvault_with_role_status
    set -l acct
    test -n "$SHELLVAULT_ACCOUNT"; and set acct " ($SHELLVAULT_ACCOUNT)"
    if test -n "$SHELLVAULT_PROFILE"
        if string match -qr '^[0-9]+$' -- "$SHELLVAULT_EXPIRES"
            __shellvault_now
            set -l left (math $SHELLVAULT_EXPIRES - $__sv_now)
            if test $left -gt 0
                echo "shellvault: $SHELLVAULT_PROFILE$acct, "(__shellvault_fmt_ttl $left)" left"
            else
                echo "shellvault: $SHELLVAULT_PROFILE$acct, expired"
            end
        else
            echo "shellvault: $SHELLVAULT_PROFILE$acct"
        end
    else
        echo 'shellvault: no credentials in this shell'
    end
    if test -n "$__sv_active_dir"
        echo "scope: $__sv_active_dir -> $__sv_active_prof ($__sv_active_src)"
    else
        echo 'scope: none'
    end
end

function __shellvault_write_saved --argument-names dir prof
    set -l file (__shellvault_dirs_file)
    command mkdir -p (path dirname $file 2>/dev/null; or string replace -r '/[^/]*$' '' -- $file); or return 1
    set -l tmp $file.tmp.$fish_pid
    begin
        if test -r $file
            while read -l line
                set -l d (string split -m 1 \t -- $line)[1]
                if string match -q -- "*"\t"*" $line
                    test "$d" = "$dir"; and continue
                    test "$d" = "$dir/"; and continue
                end
                printf '%s\n' $line
            end <$file
        end
        if test -n "$prof"
            printf '%s\t%s\n' $dir $prof
        end
        true
    end >$tmp; and command mv -f $tmp $file
end

function __shellvault_sess_remove --argument-names dir
    set -l i (contains -i -- $dir $__sv_sess_dirs)
    and begin
        set -e __sv_sess_dirs[$i]
        set -e __sv_sess_profs[$i]
    end
    return 0
end

function with-role --description 'run a command with, or scope this directory to, a shellvault profile'
    set -l save 0
    set -l off 0
    while set -q argv[1]
        switch $argv[1]
            case --save
                set save 1
            case --off
                set off 1
            case --forget
                set off 1
                set save 1
            case -h --help
                __shellvault_with_role_usage
                return 0
            case --
                set -e argv[1]
                break
            case '-*'
                echo "with-role: unknown option $argv[1]" >&2
                __shellvault_with_role_usage >&2
                return 2
            case '*'
                break
        end
        set -e argv[1]
    end

    if test $off -eq 1
        set -l dir $__sv_active_dir
        test -n "$dir"; or set dir $PWD
        if test -z "$__sv_active_dir"; and test $save -eq 0
            echo 'with-role: no directory scope is active here' >&2
            return 1
        end
        __shellvault_sess_remove $dir
        if test $save -eq 1
            __shellvault_write_saved $dir; or return 1
        else
            contains -- $dir $__sv_off_dirs; or set -g -a __sv_off_dirs $dir
        end
        __shellvault_scope_sync force interactive
        set -g __sv_seen_pwd $PWD
        return 0
    end

    if not set -q argv[1]
        if test $save -eq 1
            echo 'with-role: --save needs a PROFILE' >&2
            return 2
        end
        __shellvault_with_role_status
        return 0
    end

    set -l prof $argv[1]
    set -e argv[1]
    if string match -qr '[\t\n]' -- $prof
        echo 'with-role: invalid profile name' >&2
        return 2
    end

    if set -q argv[1]
        if test $save -eq 1
            echo 'with-role: --save is for directory scopes (no COMMAND)' >&2
            return 2
        end
        # One command. fish has no subshell: save the variables, apply, run,
        # restore. If Ctrl-C cancels the function, the next prompt restores.
        set -l out (__shellvault_cmd env --shell fish $prof)
        set -l rc $status
        test $rc -eq 0; or return $rc
        set -l depth (math $__sv_wr_depth + 1)
        __shellvault_save __sv_wr$depth
        set -g __sv_wr_depth $depth
        __shellvault_source $out
        $argv
        set rc $status
        __shellvault_restore __sv_wr$depth
        set -g __sv_wr_depth (math $depth - 1)
        return $rc
    end

    # Directory scope: PROFILE for $PWD and below, in this shell.
    set -l dir $PWD
    __shellvault_sess_remove $dir
    set -l oi (contains -i -- $dir $__sv_off_dirs); and set -e __sv_off_dirs[$oi]
    set -g -a __sv_sess_dirs $dir
    set -g -a __sv_sess_profs $prof
    test "$__sv_cache_prof" = "$prof"; or set -g __sv_cache_prof
    __shellvault_scope_sync force interactive
    set -l rc $status
    set -g __sv_seen_pwd $PWD
    if test $rc -ne 0
        __shellvault_sess_remove $dir
        if test -n "$__sv_active_dir"
            __shellvault_restore __sv_out
            set -g __sv_active_dir
            set -g __sv_active_prof
            set -g __sv_active_src
            set -g __sv_seen_cred "$SHELLVAULT_PROFILE:$SHELLVAULT_EXPIRES"
        end
        __shellvault_scope_sync
        return $rc
    end
    if test $save -eq 1
        __shellvault_write_saved $dir $prof; or return 1
        __shellvault_sess_remove $dir
        set -g __sv_active_src saved
    end
    return 0
end

# ------------------------------------------------------------------ completion (with-role)
# Profile names from $AWS_CONFIG_FILE or ~/.aws/config: `[profile X]` and
# `[default]` headers. grep picks the header lines (in the C locale: ~2 ms
# for 10,000 profiles, ~6 times that in a UTF-8 one; fish's `string` takes
# ~50 ms), awk turns them into names (a regex for the usual `[profile X]`,
# else odd spacing, comments, CRLF), and `read -a` makes the list (~3 ms,
# where a command substitution splits 10,000 lines in ~10 ms). fish drops
# duplicates itself.
set -g __sv_profile_hdr '^[[:blank:]]*\[[[:blank:]]*'
set -g __sv_awk_profiles '{
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
  if (n != "") { printf "%s%s", sep, n; sep = "\n" }
}'
set -q __sv_profile_cache; or set -g __sv_profile_cache
set -q __sv_profile_cache_key; or set -g __sv_profile_cache_key

# __sv_profile_cfg and __sv_profile_key: the config file and its mtime
# (`path mtime`, fish 3.5+; without it no key: read at every TAB).
function __shellvault_profiles_file
    set -g __sv_profile_cfg $AWS_CONFIG_FILE
    test -n "$__sv_profile_cfg"; or set __sv_profile_cfg $HOME/.aws/config
    string match -q -- '~/*' $__sv_profile_cfg
    and set __sv_profile_cfg $HOME/(string sub -s 3 -- $__sv_profile_cfg)
    set -g __sv_profile_key
    test -r $__sv_profile_cfg; or return 1
    builtin -q path; and set __sv_profile_key "$__sv_profile_cfg:"(path mtime -- $__sv_profile_cfg)
    return 0
end

# Global list $argv[3]: the names whose header matches the ERE $argv[1]
# after `[profile ` (and `[default]` if $argv[2] is 1; in any case if
# $argv[4] is 1).
function __shellvault_profiles_read
    set -l alt "profile[[:blank:]]+$argv[1]"
    test "$argv[2]" = 1; and set alt "($alt|default[[:blank:]]*\\])"
    set -l icase
    test "$argv[4]" = 1; and set icase -i
    set -g $argv[3]
    if command -q grep; and command -q awk
        LC_ALL=C command grep -E $icase -e "$__sv_profile_hdr$alt" -- $__sv_profile_cfg |
            LC_ALL=C command awk $__sv_awk_profiles | read -gza --delimiter \n $argv[3]
    else
        set -g $argv[3] (string replace -rf '^\s*\[\s*(?|profile\s+([^\]]*?)|(default))\s*\].*$' '$1' <$__sv_profile_cfg)
    end
    return 0
end

# __sv_profile_cache: every name, read again when the file changes (after
# __shellvault_profiles_file).
function __shellvault_profiles_refresh
    if test -z "$__sv_profile_key"; or test "$__sv_profile_key" != "$__sv_profile_cache_key"
        __shellvault_profiles_read '[^][:blank:]]' 1 __sv_profile_cache
        set -g __sv_profile_cache_key $__sv_profile_key
    end
end

function __shellvault_profiles_load
    if not __shellvault_profiles_file
        set -g __sv_profile_cache
        set -g __sv_profile_cache_key
        return 1
    end
    __shellvault_profiles_refresh
    return 0
end

function __shellvault_profiles --description 'profile names from the AWS config file'
    __shellvault_profiles_load
    printf '%s\n' $__sv_profile_cache
end

# The candidates for the token being completed, for `complete -a` without a
# function's output to split: __sv_profile_few and __sv_profile_many name
# the list variable to use (`-a '$$__sv_profile_few'`), the first for up to
# 1000 names, shown with a description, the second for more (fish needs ~3
# ms more per 10,000 descriptions). A plain typed prefix gets the names
# starting with it in any case, if there are any: they include every match of
# the best rank fish would keep from the whole list (prefix matches, in any
# case, rank above substring and subsequence ones); while the cache is cold,
# grep reads just those from the file. Other tokens get every name and fish's
# own fuzzy matching. Always true (used as a condition).
function __shellvault_profile_candidates
    set -g __sv_profile_few
    set -g __sv_profile_many
    set -g __sv_profile_matches
    set -l tok (commandline -ct)
    string match -q -- '-*' "$tok"; and return 0
    __shellvault_profiles_file; or return 0
    set -l fresh 0
    test -n "$__sv_profile_key"; and test "$__sv_profile_key" = "$__sv_profile_cache_key"
    and set fresh 1
    if string match -qr '^[A-Za-z0-9_@,=:/.+-]+$' -- "$tok"
        if test $fresh = 1
            set -g __sv_profile_matches (string match -i -- "$tok*" $__sv_profile_cache)
        else
            set -l dflt 0
            string match -qi -- "$tok*" default; and set dflt 1
            __shellvault_profiles_read (string replace -a . '\.' -- $tok | string replace -a + '\+') $dflt __sv_profile_matches 1
        end
    end
    set -l list __sv_profile_matches
    if not set -q __sv_profile_matches[1]
        test $fresh = 1; or __shellvault_profiles_refresh
        set list __sv_profile_cache
    end
    if set -q $list'[1001]'
        set -g __sv_profile_many $list
    else
        set -g __sv_profile_few $list
    end
    return 0
end

function __shellvault_wr_needs_profile
    set -l tokens (commandline -opc)
    set -e tokens[1]
    for t in $tokens
        switch $t
            case --
                continue
            case '-*'
                continue
            case '*'
                return 1
        end
    end
    return 0
end

complete -c with-role -f
complete -c with-role -n '__shellvault_wr_needs_profile; and __shellvault_profile_candidates' -a '$$__sv_profile_few' -d 'AWS profile'
complete -c with-role -n '__shellvault_wr_needs_profile; and __shellvault_profile_candidates' -a '$$__sv_profile_many'
complete -c with-role -n __shellvault_wr_needs_profile -l save -d 'remember this directory scope for every shell'
complete -c with-role -n __shellvault_wr_needs_profile -l off -d 'end the directory scope here'
complete -c with-role -n __shellvault_wr_needs_profile -l forget -d 'end and forget the saved scope here'
complete -c with-role -n __shellvault_wr_needs_profile -s h -l help -d 'show usage'
complete -c with-role -n 'not __shellvault_wr_needs_profile' -xa '(__fish_complete_subcommand --fcs-skip=2)'
