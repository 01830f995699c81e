"""The ``streamcoloc`` command line."""
