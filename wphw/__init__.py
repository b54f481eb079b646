"""wphw."""
