"""Test-only harness: served apps, fault-injecting servers, fixtures' builders and workers (not part of the library)."""
