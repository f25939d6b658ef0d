select pid, path, mode from process_file_events where action in ('create', 'chmod') and comm != 'systemd' and exit_code >= 0
