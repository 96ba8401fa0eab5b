"""Strategy spiders: each discovers article URLs its own way and yields RawPage items."""
