# bash completion for corehomed(8). Installed as bash-completion/completions/corehomed.
# The options are those of `corehomed --help`; test/agent/test-conventions.sh fails when they drift apart.
# shellcheck shell=bash

_corehomed() {
        local cur=${COMP_WORDS[COMP_CWORD]}
        local opts="--root= --userdb-socket= --manager-socket= --allow-any-media --help --version"

        case $cur in
        --root=*)
                mapfile -t COMPREPLY < <(compgen -d -P --root= -- "${cur#--root=}")
                compopt -o nospace 2>/dev/null
                ;;
        --userdb-socket=* | --manager-socket=*)
                mapfile -t COMPREPLY < <(compgen -f -P "${cur%%=*}=" -- "${cur#*=}")
                compopt -o nospace 2>/dev/null
                ;;
        *)
                mapfile -t COMPREPLY < <(compgen -W "$opts" -- "$cur")
                [[ ${COMPREPLY[0]-} == *= ]] && compopt -o nospace 2>/dev/null
                ;;
        esac
        return 0
}

complete -F _corehomed corehomed
