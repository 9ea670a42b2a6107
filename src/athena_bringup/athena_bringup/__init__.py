"""athena_bringup: which nodes run together, with which parameter files."""
