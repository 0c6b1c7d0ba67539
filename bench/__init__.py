"""Benchmarks: `make bench` runs every bench_*.py module here and prints its figures.

Each module has ``async def main() -> None`` that prints lines of the form
``<benchmark>: <figure> <unit> (<context>)``. `python -m bench NAME ...` runs some.
"""
