"""`python -m lightkeeper …`: the same command line as the `lightkeeper` script."""

from lightkeeper.cli.main import app

if __name__ == "__main__":
    app(prog_name="lightkeeper")
