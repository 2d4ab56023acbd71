"""One package per cloud; they never import each other and never write to the store."""
