"""Math-formula region detector: page photo -> boxes of embedded (inline) and isolated (display) formulas."""
