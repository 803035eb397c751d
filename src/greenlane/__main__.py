import sys

from greenlane.cli import main

sys.exit(main())
