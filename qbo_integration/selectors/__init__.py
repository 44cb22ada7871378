"""Read queries shared by pages, live parts and template tags; they change nothing."""
