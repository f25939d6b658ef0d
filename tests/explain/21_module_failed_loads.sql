select name, path, error from module_events where action = 'load' and exit_code < 0
