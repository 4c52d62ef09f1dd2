"""The entry point, above every other package: the command line (``cli``) and the assembly of
the running system (``assembly``)."""
