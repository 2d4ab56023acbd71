"""Azure effective permissions over the catalogue: role definitions compiled into bitsets, combined per identity
by scope, condition and deny assignment."""
