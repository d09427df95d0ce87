"""Past one daemon: how a fleet of clusters is split between daemons."""
