# fish completion for shellvault. Profile names are read from
# $AWS_CONFIG_FILE or ~/.aws/config in the shell, no Python per TAB (alone:
# fish's own `string`; with conf.d/shellvault.fish: grep and awk, cached).

# Also defined by conf.d/shellvault.fish (cached, and only the names for a
# typed prefix); kept here so that this file works alone (copied into
# ~/.config/fish/completions/): every name, fish matches.
if not functions -q __shellvault_profile_candidates
    function __shellvault_profile_candidates
        set -g __sv_profile_few
        set -g __sv_profile_many __sv_profile_all
        set -g __sv_profile_all
        set -l cfg $AWS_CONFIG_FILE
        test -n "$cfg"; or set cfg $HOME/.aws/config
        string match -q -- '~/*' $cfg; and set cfg $HOME/(string sub -s 3 -- $cfg)
        test -r $cfg; or return 0
        set -g __sv_profile_all (string replace -rf '^\s*\[\s*(?|profile\s+([^\]]*?)|(default))\s*\].*$' '$1' <$cfg)
        return 0
    end
end

# True while the subcommand ($argv) still has no positional argument.
function __shellvault_sv_needs_profile
    set -l tokens (commandline -opc)
    set -e tokens[1]
    set -l seen_cmd 0
    set -l skip 0
    for t in $tokens
        if test $skip -eq 1
            set skip 0
            continue
        end
        switch $t
            case --shell --duration --mfa-token --min-ttl --format
                set skip 1
            case '-*'
            case '*'
                if test $seen_cmd -eq 0
                    set seen_cmd 1
                else
                    return 1
                end
        end
    end
    return 0
end

# After `shellvault exec PROFILE --`: complete a command line.
function __shellvault_sv_after_dashdash
    contains -- -- (commandline -opc)
end

set -l __sv_cmds env exec export auth add list ls remove rm clear init profiles
set -l __sv_profile_cmds env exec export auth add remove rm clear

complete -c shellvault -f
complete -c shellvault -n "not __fish_seen_subcommand_from $__sv_cmds" -l version -d 'show the version'
complete -c shellvault -n "not __fish_seen_subcommand_from $__sv_cmds" -l help -d 'show help'
complete -c shellvault -n "not __fish_seen_subcommand_from $__sv_cmds" -a env -d 'print the credentials as shell assignments'
complete -c shellvault -n "not __fish_seen_subcommand_from $__sv_cmds" -a exec -d 'run a command with the credentials'
complete -c shellvault -n "not __fish_seen_subcommand_from $__sv_cmds" -a export -d 'print the credentials (json/env/dotenv)'
complete -c shellvault -n "not __fish_seen_subcommand_from $__sv_cmds" -a auth -d 'cache the sessions (asks for the MFA code)'
complete -c shellvault -n "not __fish_seen_subcommand_from $__sv_cmds" -a add -d 'store long-term keys for a profile'
complete -c shellvault -n "not __fish_seen_subcommand_from $__sv_cmds" -a 'list ls' -d 'list profiles and sessions'
complete -c shellvault -n "not __fish_seen_subcommand_from $__sv_cmds" -a 'remove rm' -d 'delete stored keys'
complete -c shellvault -n "not __fish_seen_subcommand_from $__sv_cmds" -a clear -d 'delete cached sessions'
complete -c shellvault -n "not __fish_seen_subcommand_from $__sv_cmds" -a init -d 'print the shell integration'
complete -c shellvault -n "not __fish_seen_subcommand_from $__sv_cmds" -a profiles -d 'list profile names'

# Profile argument.
# (the candidates as variables, set by the condition: see conf.d/shellvault.fish)
complete -c shellvault -n "__fish_seen_subcommand_from $__sv_profile_cmds; and __shellvault_sv_needs_profile; and __shellvault_profile_candidates" -a '$$__sv_profile_few' -d 'AWS profile'
complete -c shellvault -n "__fish_seen_subcommand_from $__sv_profile_cmds; and __shellvault_sv_needs_profile; and __shellvault_profile_candidates" -a '$$__sv_profile_many'

# Options per command.
complete -c shellvault -n '__fish_seen_subcommand_from env' -l shell -x -a 'bash zsh fish sh powershell tcsh dotenv' -d 'shell to render for'
complete -c shellvault -n '__fish_seen_subcommand_from env' -l min-ttl -x -d 'minimum seconds left'
complete -c shellvault -n '__fish_seen_subcommand_from env' -l unset -d 'print what removes the variables'
complete -c shellvault -n '__fish_seen_subcommand_from env exec export' -l no-input -d 'never prompt; exit 3 if an MFA code is needed'
complete -c shellvault -n '__fish_seen_subcommand_from env exec export auth' -l duration -x -d 'session duration'
complete -c shellvault -n '__fish_seen_subcommand_from env exec export auth' -l mfa-token -x -d 'MFA code'
complete -c shellvault -n '__fish_seen_subcommand_from export' -l format -x -a 'json env dotenv' -d 'output format'
complete -c shellvault -n '__fish_seen_subcommand_from add' -l env -d 'read the keys from the environment'
complete -c shellvault -n '__fish_seen_subcommand_from list ls' -l json -d 'JSON output'
complete -c shellvault -n '__fish_seen_subcommand_from remove rm' -l force -d 'do not ask'
complete -c shellvault -n "__fish_seen_subcommand_from $__sv_cmds" -l help -d 'show help'
complete -c shellvault -n '__fish_seen_subcommand_from init; and __shellvault_sv_needs_profile' -a 'bash zsh fish direnv'
complete -c shellvault -n '__fish_seen_subcommand_from exec; and __shellvault_sv_after_dashdash' -xa '(__fish_complete_subcommand --fcs-skip=4)'
