"""Pure routing rules for inbound texts: crisis language and compliance keywords."""
