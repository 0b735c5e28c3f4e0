class OfficialCheckpointError(ValueError):
    """A file the official-checkpoint importer refuses; the message names the problem."""
