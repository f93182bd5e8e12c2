"""One module per section, each with `run() -> bench.table.Table`; registered in `bench.__main__.SECTIONS`."""
