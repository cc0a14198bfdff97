"""Instance lifecycle: the supervisor and where instances run (placement)."""
