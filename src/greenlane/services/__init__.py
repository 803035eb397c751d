"""Use cases: each public function does one thing a client asked for, in one transaction."""
