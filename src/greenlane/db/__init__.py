"""Hand-written SQL, one module per aggregate. Nothing here decides; it only reads and writes."""
