"""Low-level helpers with no formcheck dependencies beyond errors: atomic writes."""
