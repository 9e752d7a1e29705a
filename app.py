"""Start the Workbench app: `python app.py [--host 127.0.0.1] [--port 7860] [--auth user:password]`."""

import sys

from workbench.cli import main

if __name__ == "__main__":
    sys.exit(main(["app", *sys.argv[1:]]))
