from dfwatch.cli import run

run()
