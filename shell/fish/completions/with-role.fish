# fish completion for with-role (conf.d/shellvault.fish defines it): its
# options, then profile names as completions/shellvault.fish reads them
# (loaded first if fish has not yet), then a command line.

function __shellvault_wr_needs_profile
    set -l tokens (commandline -opc)
    set -e tokens[1]
    set -l skip 0
    for t in $tokens
        if test $skip = 1
            set skip 0
        else if test "$t" = --region
            set skip 1
        else if not string match -q -- '-*' $t
            return 1
        end
    end
    functions -q __shellvault_profile_names; or complete -C'shellvault ' >/dev/null
    return 0
end

complete -c with-role -f
complete -c with-role -n '__shellvault_wr_needs_profile; and __shellvault_profile_names' -a '$__sv_names'
complete -c with-role -n __shellvault_wr_needs_profile -l save -d 'remember this directory scope for every shell'
complete -c with-role -n __shellvault_wr_needs_profile -l off -d 'end the directory scope here'
complete -c with-role -n __shellvault_wr_needs_profile -l forget -d 'end and forget the saved scope here'
complete -c with-role -n __shellvault_wr_needs_profile -l server -d 'through a local credential server'
complete -c with-role -n __shellvault_wr_needs_profile -l region -x -d 'the region for the command'
complete -c with-role -n __shellvault_wr_needs_profile -s h -l help -d 'show usage'
complete -c with-role -n 'not __shellvault_wr_needs_profile' -xa '(__fish_complete_subcommand --fcs-skip=2)'
