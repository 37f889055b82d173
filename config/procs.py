"""`make run`'s processes (the Procfile) under honcho, with time for a warm shutdown.

Honcho kills whatever still runs 5 s after Ctrl-C; the worker may be finishing a task (an email
to a slow SMTP server) and the file-system broker polls, so it gets longer to stop on its own.
"""

import honcho.manager
from honcho.command import main

honcho.manager.KILL_WAIT = 20

if __name__ == "__main__":
    main()
