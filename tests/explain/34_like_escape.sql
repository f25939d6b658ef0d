select path from file_events where path like '/tmp/a\_b%' escape '\' and path not like '%100!%%' escape '!'
