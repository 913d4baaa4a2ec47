"""The operators' command line, ``flask --app backend <command>``: the platform's commands (``commands``), the
ledger's (``ledger``), the console accounts' (``console``), what they share (``common``: clock, times, service
errors as exit codes) and the progress line of long commands (``progress``). ``commands.register_cli`` adds
them all to the app."""
