complete -c ebq -l list -d 'List the tables, or the columns of TABLE' -r -f -a "process_events\t''
bpf_process_events\t''
process_exit_events\t''
signal_events\t''
socket_events\t''
bpf_socket_events\t''
file_events\t''
process_file_events\t''
module_events\t''
syscall_events\t''
dns_events\t''
process_dns_events\t''
function_events\t''
bash_events\t''
ssl_events\t''
user_events\t''
pam_events\t''
usdt_events\t''
block_io_events\t''
block_events\t''
oom_events\t''
oomkill_events\t''
sched_events\t''
tcp_events\t''"
complete -c ebq -l symbols -d 'List the function symbols of BINARY (a path, or a bare program or library name: bash, libc.so.6) that function_events can probe' -r
complete -c ebq -s o -l output -d 'Output format [default: table on a terminal, json otherwise]' -r -f -a "table\t'Aligned columns that fit the terminal (default on a terminal)'
json\t'One JSON object per row (NDJSON; default when not a terminal)'
csv\t'Comma-separated values with a header row'"
complete -c ebq -s d -l duration -d 'Stop after DUR (10s, 500ms, 2m)' -r
complete -c ebq -l interval -d 'Aggregates: print the result set every DUR (each covers that interval alone), as well as at the end' -r
complete -c ebq -s c -l command -d 'Run CMD (with /bin/sh -c, in a process group of its own), trace only it and its descendants, and stop when it exits, with its exit status; when ebq stops first, CMD gets SIGTERM, then SIGKILL a second later. Its stdout goes to stderr, so that stdout holds only rows' -r
complete -c ebq -s p -l pid -d 'Trace only process PID (not a thread id; a pid of ebq\'s own pid namespace) and its descendants; stop when it exits' -r
complete -c ebq -l buffer-size -d 'Ring buffer size (headroom against lost events) [default: the table\'s: 4M for file and syscall events, 1M for process and socket events, 256K for the rest; 64K when the kernel aggregates]' -r
complete -c ebq -l dns-timeout -d 'dns_events: how long a query waits for its response before ebq adds a row saying it timed out (timed_out = 1)' -r
complete -c ebq -l max-probes -d 'function_events: the most functions one query may probe (a LIKE that expands to more is refused)' -r
complete -c ebq -l color -d 'When to use colors (NO_COLOR is honored in auto)' -r -f -a "auto\t'Color on a terminal, unless NO_COLOR is set'
always\t''
never\t''"
complete -c ebq -l generate -d 'Print the man page or a shell completion script' -r -f -a "man\t''
bash\t''
zsh\t''
fish\t''"
complete -c ebq -l explain -d 'Print the plan (programs, kernel filters, captured data, userspace filter) and exit; attaches nothing and needs no root'
complete -c ebq -l check -d 'Say what this kernel offers ebq (BPF features, with the release that brought each) and whether each table\'s programs load and attach here (that part needs root)'
complete -c ebq -l stats -d 'At the end, print on stderr how many events the kernel sent up, filtered out and lost, and how many rows the userspace filter kept'
complete -c ebq -s w -l wide -d 'Table output: never cut a cell, even when lines get longer than the terminal (for `less -S`)'
complete -c ebq -l no-clear -d 'With --interval on a terminal: append each result set rather than draw it over the last'
complete -c ebq -s h -l help -d 'Print help (see more with \'--help\')'
complete -c ebq -s V -l version -d 'Print version'
