# bash completion for pgnspawnctl; instance names come from `pgnspawnctl list`.
_pgnspawnctl_instances() {
    pgnspawnctl list 2>/dev/null | while read -r name _; do printf '%s\n' "$name"; done
}

# Snapshot names of an instance come from `pgnspawnctl snapshots NAME` (header skipped).
_pgnspawnctl_snapshots() {
    pgnspawnctl snapshots "$1" 2>/dev/null | tail -n +2 | while read -r name _; do printf '%s\n' "$name"; done
}

_pgnspawnctl() {
    local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]}
    local commands="start stop wait status list address health uri env monitor logs snapshot restore reset snapshots drop-snapshot run create destroy up psql"
    local command="" i instance="" argc=0
    for ((i = 1; i < COMP_CWORD; i++)); do
        case ${COMP_WORDS[i]} in
            --timeout|--shell|-n|--lines|--from|--port|--database|--user|--version|--durability) ((i++)) ;;
            -*) ;;
            *)
                if [[ -z $command ]]; then command=${COMP_WORDS[i]}; else ((argc++)); instance=${instance:-${COMP_WORDS[i]}}; fi ;;
        esac
    done

    case $prev in
        --shell) mapfile -t COMPREPLY < <(compgen -W "sh bash zsh dash fish" -- "$cur"); return ;;
        --durability) mapfile -t COMPREPLY < <(compgen -W "fast durable" -- "$cur"); return ;;
        --timeout|-n|--lines|--from|--port|--database|--user|--version) return ;;
    esac

    if [[ -z $command ]]; then
        mapfile -t COMPREPLY < <(compgen -W "$commands --help --version" -- "$cur")
        return
    fi

    local options=""
    case $command in
        wait) options="--timeout" ;;
        status|list|address|health|uri|monitor|snapshots) options="--json" ;;
        env) options="--shell" ;;
        logs) options="-f --follow -n --lines" ;;
        run) options="--scratch --from" ;;
        create) options="--port --database --user --version --durability --ephemeral --createdb --no-createdb" ;;
        up) options="--port --database --user --version --durability --ephemeral --createdb --no-createdb --shell" ;;
        destroy) options="-y --yes" ;;
    esac
    if [[ $cur == -* ]]; then
        mapfile -t COMPREPLY < <(compgen -W "$options" -- "$cur")
        return
    fi
    case $command in
        list|monitor|create) ;;
        up) ;;  # a new name, or the project's
        psql) ((argc == 0)) && mapfile -t COMPREPLY < <(compgen -W "$(_pgnspawnctl_instances)" -- "$cur") ;;
        restore|drop-snapshot)
            if ((argc == 1)); then
                mapfile -t COMPREPLY < <(compgen -W "$(_pgnspawnctl_snapshots "$instance")" -- "$cur")
            elif ((argc == 0)); then
                mapfile -t COMPREPLY < <(compgen -W "$(_pgnspawnctl_instances)" -- "$cur")
            fi ;;
        snapshot) ((argc == 0)) && mapfile -t COMPREPLY < <(compgen -W "$(_pgnspawnctl_instances)" -- "$cur") ;;
        *) mapfile -t COMPREPLY < <(compgen -W "$(_pgnspawnctl_instances)" -- "$cur") ;;
    esac
}

complete -F _pgnspawnctl pgnspawnctl
