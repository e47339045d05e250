"""The old bot's JSON files: read and import them once, export them while the old bot still runs.

`reader` reads the three files into records (`records` parses one each),
`importer` writes them through the actions in one transaction, `exporter`
writes the files back from the database, and `shapes` holds the old dict
shapes the manager and the exporter answer in.
"""
