"""``python -m wsbench``: the same as the ``wsbench`` command."""

from wsbench.cli import main

if __name__ == "__main__":
    main()
