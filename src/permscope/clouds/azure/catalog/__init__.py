"""The Azure operation catalogue (control and data actions), the built-in role definitions, and the bitset index."""
