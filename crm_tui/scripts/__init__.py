"""Call scripts shipped with crm-tui (YAML), installed into a new desk once."""
