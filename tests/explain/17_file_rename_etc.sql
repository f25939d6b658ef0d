select pid, path, dest_path from file_events where action = 'rename' and path like '/etc/%'
