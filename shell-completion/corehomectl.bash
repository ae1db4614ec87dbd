# bash completion for corehomectl(1). Installed as bash-completion/completions/corehomectl.
# The verbs and options are those of `corehomectl --help` and `corehomectl VERB --help`;
# test/agent/test-conventions.sh fails when they drift apart.
# shellcheck shell=bash

# The users corehomed manages (the first column of `corehomectl list`, up to the blank line before the names
# denied here), for verbs that take USER.
__corehomectl_users() {
        local -a root=()
        [ -n "$1" ] && root=(--root="$1")
        corehomectl "${root[@]}" list 2>/dev/null | sed -n '/^$/q; /^USER /d; /^No users\.$/d; s/ .*//p'
}

# The names denied here (the section after "Denied here" of `corehomectl list`), for allow.
__corehomectl_denied() {
        local -a root=()
        [ -n "$1" ] && root=(--root="$1")
        corehomectl "${root[@]}" list 2>/dev/null | sed -n '/^Denied here/,$ { /^Denied here/d; s/ .*//p }'
}

_corehomectl() {
        local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD - 1]}
        local verbs="decode verify import known create-user import-media list inspect remove expire deny allow
                sign export-key status monitor fleet"
        local global_opts="--root= --now= --json --help --version"
        local i verb="" root=""

        # The first word that is not an option is the verb; --root=DIR before it names the tree.
        for ((i = 1; i < COMP_CWORD; i++)); do
                case ${COMP_WORDS[i]} in
                --root=*) root=${COMP_WORDS[i]#--root=} ;;
                -*) ;;
                *)
                        verb=${COMP_WORDS[i]}
                        break
                        ;;
                esac
        done

        if [ -z "$verb" ]; then
                case $cur in
                --root=*)
                        mapfile -t COMPREPLY < <(compgen -d -P --root= -- "${cur#--root=}")
                        compopt -o nospace 2>/dev/null
                        ;;
                -*)
                        mapfile -t COMPREPLY < <(compgen -W "$global_opts" -- "$cur")
                        [[ ${COMPREPLY[0]-} == *= ]] && compopt -o nospace 2>/dev/null
                        ;;
                *) mapfile -t COMPREPLY < <(compgen -W "$verbs" -- "$cur") ;;
                esac
                return 0
        fi

        local opts="--help"
        case $verb in
        import) opts="--help --fleet --timeout=" ;;
        create-user) opts="--help --known" ;;
        sign) opts="--help --key= --gnupg-home=" ;;
        export-key) opts="--help --account= --gnupg-home=" ;;
        fleet) opts="--help --inventory= --out= --trusted=" ;;
        esac
        case $cur in
        --inventory=* | --trusted=*)
                mapfile -t COMPREPLY < <(compgen -f -P "${cur%%=*}=" -- "${cur#*=}")
                compopt -o nospace 2>/dev/null
                return 0
                ;;
        --out=*)
                mapfile -t COMPREPLY < <(compgen -d -P --out= -- "${cur#--out=}")
                compopt -o nospace 2>/dev/null
                return 0
                ;;
        --gnupg-home=*)
                mapfile -t COMPREPLY < <(compgen -d -P --gnupg-home= -- "${cur#--gnupg-home=}")
                compopt -o nospace 2>/dev/null
                return 0
                ;;
        -*)
                mapfile -t COMPREPLY < <(compgen -W "$opts" -- "$cur")
                [[ ${COMPREPLY[0]-} == *= ]] && compopt -o nospace 2>/dev/null
                return 0
                ;;
        esac

        case $verb in
        decode | verify | import | sign) mapfile -t COMPREPLY < <(compgen -f -- "$cur") ;;
        import-media) mapfile -t COMPREPLY < <(compgen -f -- "$cur") ;;
        fleet)
                if [ "$prev" = fleet ]; then
                        mapfile -t COMPREPLY < <(compgen -W "publish" -- "$cur")
                else
                        mapfile -t COMPREPLY < <(compgen -f -- "$cur")
                fi
                ;;
        known)
                [ "$prev" = known ] &&
                        mapfile -t COMPREPLY < <(compgen -W "account account-key model serial system-user" -- "$cur")
                ;;
        inspect | remove | deny) mapfile -t COMPREPLY < <(compgen -W "$(__corehomectl_users "$root")" -- "$cur") ;;
        allow) mapfile -t COMPREPLY < <(compgen -W "$(__corehomectl_denied "$root")" -- "$cur") ;;
        esac
        return 0
}

complete -F _corehomectl corehomectl
