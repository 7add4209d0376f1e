# fish completion for pgnspawnctl; instance names come from `pgnspawnctl list`.
function __pgnspawnctl_instances
    pgnspawnctl list 2>/dev/null | string replace -r ' .*' ''
end

set -l commands start stop wait status list address health uri env monitor logs snapshot restore reset snapshots drop-snapshot run create destroy up psql
set -l takes_name start stop wait status address health uri env logs snapshot restore reset snapshots drop-snapshot run destroy psql

# The snapshots of the instance named after the command.
function __pgnspawnctl_snapshots
    set -l words (commandline -opc)
    pgnspawnctl snapshots $words[3] 2>/dev/null | tail -n +2 | string replace -r ' .*' ''
end

complete -c pgnspawnctl -f
complete -c pgnspawnctl -s h -l help -d 'Show help'
complete -c pgnspawnctl -l version -d 'Show the version'
complete -c pgnspawnctl -n "not __fish_seen_subcommand_from $commands" -a start -d 'Start an instance and wait until it accepts connections'
complete -c pgnspawnctl -n "not __fish_seen_subcommand_from $commands" -a stop -d 'Stop an instance'
complete -c pgnspawnctl -n "not __fish_seen_subcommand_from $commands" -a wait -d 'Wait until an instance is running'
complete -c pgnspawnctl -n "not __fish_seen_subcommand_from $commands" -a status -d 'Show all instances, or every detail of one'
complete -c pgnspawnctl -n "not __fish_seen_subcommand_from $commands" -a list -d 'Print each instance and its state'
complete -c pgnspawnctl -n "not __fish_seen_subcommand_from $commands" -a address -d 'Print the host and port of an instance'
complete -c pgnspawnctl -n "not __fish_seen_subcommand_from $commands" -a health -d 'Check that an instance answers queries'
complete -c pgnspawnctl -n "not __fish_seen_subcommand_from $commands" -a uri -d 'Print the connection URI of an instance'
complete -c pgnspawnctl -n "not __fish_seen_subcommand_from $commands" -a env -d 'Print DATABASE_URL and PG* variables'
complete -c pgnspawnctl -n "not __fish_seen_subcommand_from $commands" -a monitor -d 'Print every state change'
complete -c pgnspawnctl -n "not __fish_seen_subcommand_from $commands" -a logs -d 'Show the journal of an instance'
complete -c pgnspawnctl -n "not __fish_seen_subcommand_from $commands" -a snapshot -d 'Copy the database of an instance as a snapshot'
complete -c pgnspawnctl -n "not __fish_seen_subcommand_from $commands" -a restore -d 'Make the database a copy of a snapshot again'
complete -c pgnspawnctl -n "not __fish_seen_subcommand_from $commands" -a reset -d 'Make the database empty again'
complete -c pgnspawnctl -n "not __fish_seen_subcommand_from $commands" -a snapshots -d 'List the snapshots of an instance'
complete -c pgnspawnctl -n "not __fish_seen_subcommand_from $commands" -a drop-snapshot -d 'Delete a snapshot'
complete -c pgnspawnctl -n "not __fish_seen_subcommand_from $commands" -a run -d 'Run a command with DATABASE_URL and PG* set'
complete -c pgnspawnctl -n "not __fish_seen_subcommand_from $commands" -a create -d 'Create an instance of your own'
complete -c pgnspawnctl -n "not __fish_seen_subcommand_from $commands" -a destroy -d 'Stop a created instance and delete its data'
complete -c pgnspawnctl -n "not __fish_seen_subcommand_from $commands" -a up -d 'Create the project instance if missing, start it, print env lines'
complete -c pgnspawnctl -n "not __fish_seen_subcommand_from $commands" -a psql -d 'Run psql connected to an instance'

complete -c pgnspawnctl -n "__fish_seen_subcommand_from $takes_name; and test (count (commandline -opc)) -eq 2" -a '(__pgnspawnctl_instances)' -d instance
complete -c pgnspawnctl -n "__fish_seen_subcommand_from restore drop-snapshot; and test (count (commandline -opc)) -eq 3" -a '(__pgnspawnctl_snapshots)' -d snapshot
complete -c pgnspawnctl -n "__fish_seen_subcommand_from wait" -l timeout -x -d 'Give up after this long (e.g. 30s)'
complete -c pgnspawnctl -n "__fish_seen_subcommand_from status list address health uri monitor snapshots" -l json -d 'Print JSON'
complete -c pgnspawnctl -n "__fish_seen_subcommand_from env" -l shell -x -a 'sh bash zsh dash fish' -d 'Shell syntax'
complete -c pgnspawnctl -n "__fish_seen_subcommand_from logs" -s f -l follow -d 'Follow the journal'
complete -c pgnspawnctl -n "__fish_seen_subcommand_from logs" -s n -l lines -x -d 'Number of lines'
complete -c pgnspawnctl -n "__fish_seen_subcommand_from run" -l scratch -d 'A new scratch database, dropped when the command ends'
complete -c pgnspawnctl -n "__fish_seen_subcommand_from run" -l from -x -d 'Copy of this snapshot'
complete -c pgnspawnctl -n "__fish_seen_subcommand_from create up" -l port -x -d 'Port (0: the daemon picks one)'
complete -c pgnspawnctl -n "__fish_seen_subcommand_from create up" -l database -x -d 'Database name'
complete -c pgnspawnctl -n "__fish_seen_subcommand_from create up" -l user -x -d 'Role name'
complete -c pgnspawnctl -n "__fish_seen_subcommand_from create up" -l version -x -d 'PostgreSQL major version'
complete -c pgnspawnctl -n "__fish_seen_subcommand_from create up" -l durability -x -a 'fast durable' -d 'fast: no fsync'
complete -c pgnspawnctl -n "__fish_seen_subcommand_from create up" -l ephemeral -d 'Data on a tmpfs, gone at stop'
complete -c pgnspawnctl -n "__fish_seen_subcommand_from create up" -l createdb -d 'The role may create databases'
complete -c pgnspawnctl -n "__fish_seen_subcommand_from create up" -l no-createdb -d 'The role may not create databases'
complete -c pgnspawnctl -n "__fish_seen_subcommand_from up" -l shell -x -a 'sh bash zsh dash fish' -d 'Shell syntax'
complete -c pgnspawnctl -n "__fish_seen_subcommand_from destroy" -s y -l yes -d 'Do not ask'
