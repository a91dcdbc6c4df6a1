"""One module per command family; each declares its commands on the registry it is given."""
